"""Data specs, the source registry and the `mcl data` command."""
import json
import re

import numpy as np
import pytest

from mcl.cli import main
from mcl.data import DataError, SkipReport
from mcl.data.sources import DataSpec, SOURCES, list_sources, load, parse_spec


def test_parse_specs():
    assert parse_spec("deepmimic") == DataSpec("deepmimic")
    s = parse_spec("amass:/data/amass?babel=/data/babel_v1.0_release&split=val")
    assert (s.source, s.path, s.options) == ("amass", "/data/amass", {"babel": "/data/babel_v1.0_release",
                                                                     "split": "val"})
    s = parse_spec("bvh:/mocap/x+y?labels={action}+{style}_{_}&rig=cmu")  # "+" is kept, not read as a space
    assert s.path == "/mocap/x+y" and s.options == {"labels": "{action}+{style}_{_}", "rig": "cmu"}
    assert parse_spec(str(s)) == s
    assert parse_spec("Bandai").source == "bandai" and parse_spec("bandai:/x.tar.xz").path == "/x.tar.xz"
    assert parse_spec("deepmimic?clips=walk, run").list_option("clips") == ["walk", "run"]
    assert parse_spec("bvh:~/m").path.endswith("/m") and "~" not in parse_spec("bvh:~/m").path


@pytest.mark.parametrize("spec, message", [
    ("mocapdb:/x", "unknown source 'mocapdb'.*known sources: deepmimic, synthetic, bandai, amass, bvh, asf"),
    ("bvh", "bvh needs a folder.*bvh:FOLDER"),
    ("asf:?rig=cmu", "asf needs a folder"),
    ("deepmimic:/some/path", "deepmimic takes no path"),
    ("bvh:/x?label=a", "unknown option 'label' for bvh.*options: labels, rig"),
    ("synthetic?n=1&n=2", "option 'n' given twice"),
    ("synthetic?n=many", "n='many' is not a whole number"),
    ("amass", "no AMASS folder given.*amass:AMASS_ROOT"),
    ("deepmimic?clips=walk,moonwalk", "unknown clip name"),
])
def test_bad_specs_say_what_to_do(spec, message, monkeypatch):
    monkeypatch.delenv("MCL_AMASS_DIR", raising=False)
    with pytest.raises(DataError, match=message):
        load(spec)


def test_load_builtin_sources():
    ms = load("synthetic?n=3&frames=61&seed=5")
    assert len(ms) == 3 and all(m.num_frames == 61 and m.source["dataset"] == "synthetic" for m in ms)
    ms = load(["deepmimic?clips=walk,run", "synthetic?n=1"], progress=False)
    assert [m.labels["action"] for m in ms[:2]] == ["walk", "run"] and len(ms) == 3
    # the one-string form `mcl train --data` takes: specs joined by " + "; a bad part is named
    ms = load("deepmimic?clips=walk + synthetic?n=2&seed=3", progress=False)
    assert [m.source["dataset"] for m in ms] == ["deepmimic", "synthetic", "synthetic"]
    with pytest.raises(DataError, match="unknown source 'nope'"):
        load("deepmimic + nope")
    with pytest.raises(DataError, match="empty spec"):
        load("deepmimic + ")
    with pytest.raises(DataError, match="one spec at a time"):
        parse_spec("deepmimic + synthetic")


def test_amass_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("MCL_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "AMASS"
    (root / "CMU" / "01").mkdir(parents=True)
    poses = np.zeros((90, 156), np.float32)
    poses[:, 0] = np.pi / 2
    np.savez(root / "CMU" / "01" / "01_01_poses.npz", poses=poses, trans=np.zeros((90, 3)),
             mocap_framerate=np.array(30.0))
    babel = tmp_path / "babel"
    babel.mkdir()
    entry = {"feat_p": "CMU/CMU/01/01_01_poses.npz", "dur": 3.0, "frame_ann": None,
             "seq_ann": {"labels": [{"raw_label": "stand still", "proc_label": "stand", "act_cat": ["stand"]}]}}
    (babel / "val.json").write_text(json.dumps({"7": entry, "8": dict(entry, feat_p="CMU/CMU/01/nope.npz")}))
    report = SkipReport()
    ms = load(f"amass:{root}?babel={babel}&split=val", report=report, progress=False)
    assert len(ms) == 1 and ms[0].texts == ["stand still"] and len(report) == 1
    assert len(load(f"amass:{root}", progress=False)) == 1  # no BABEL: unlabelled files
    assert load(f"amass:{root}?fps=10&cache=0", progress=False)[0].num_frames == 30
    monkeypatch.setenv("MCL_AMASS_DIR", str(root))
    monkeypatch.setenv("MCL_BABEL_DIR", str(babel))
    assert load("amass?split=val", progress=False)[0].labels["actions"] == ["stand"]


def test_file_sources_pass_their_options(monkeypatch, tmp_path):
    """bvh/asf/bandai specs reach the colleague loaders with the right arguments."""
    import mcl.data.asf_amc as asf_amc
    import mcl.data.bandai as bandai
    import mcl.data.bvh as bvh

    calls = []
    monkeypatch.setattr(bvh, "load_bvh_folder", lambda folder, **kw: calls.append(("bvh", folder, kw)) or [])
    monkeypatch.setattr(asf_amc, "load_asf_amc_folder", lambda folder, **kw: calls.append(("asf", folder, kw)) or [])
    monkeypatch.setattr(bandai, "load_bandai", lambda path, **kw: calls.append(("bandai", path, kw)) or [])
    report = SkipReport()
    load(f"bvh:{tmp_path}?labels={{action}}_{{_}}&rig=bandai", report=report)
    load(f"asf:{tmp_path}?rig=cmu&fps=60")
    load("bandai?limit=7&contents=walk,run")
    assert calls[0] == ("bvh", str(tmp_path), {"rig": "bandai", "labels": "{action}_{_}", "report": report,
                                               "caption": None, "quiet": False, "cache": True})
    assert calls[1][0] == "asf" and calls[1][2]["fps"] == 60.0 and calls[1][2]["rig"] == "cmu"
    assert calls[2][0] == "bandai" and calls[2][1] is None
    assert calls[2][2]["limit"] == 7 and calls[2][2]["contents"] == ["walk", "run"] and calls[2][2]["styles"] is None


def test_list_sources(monkeypatch):
    monkeypatch.delenv("MCL_AMASS_DIR", raising=False)
    info = {s.name: s for s in list_sources()}
    assert list(info) == list(SOURCES) == ["deepmimic", "synthetic", "bandai", "amass", "bvh", "asf",
                                           "official-amass"]
    assert info["deepmimic"].available and "15 clips" in info["deepmimic"].why
    assert "tests only" in info["synthetic"].description
    assert not info["amass"].available and "amass:AMASS_ROOT" in info["amass"].why


def test_cli_list_and_info(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"deepmimic +available", out) and "amass" in out and "asf" in out

    assert main(["data", "info", "deepmimic", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "clips: 15" in out and "windows: 9 of 60 frames at 30 fps" in out
    assert "label 'action': 15 values" in out and "shorter than a window" in out

    from mcl.data.errors import DataError  # `mcl` (mcl.cli.entry) turns it into one `mcl: error:` line, exit 2
    with pytest.raises(DataError, match="unknown source 'nosuch'"):
        main(["data", "info", "nosuch"])


@pytest.mark.parametrize("argv", [["data", "--help"], ["data", "list", "--help"], ["data", "info", "--help"]])
def test_cli_help(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0 and "usage: mcl data" in capsys.readouterr().out


def test_console_script_turns_bad_input_into_one_error_line(capsys, monkeypatch):
    from mcl.cli import entry

    monkeypatch.delenv("MCL_DEBUG", raising=False)
    monkeypatch.setattr("sys.argv", ["mcl", "generate", "a person jumps", "--run", "/nonexistent-run", "-o", "x.npz"])
    assert entry() == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("mcl: error: ") and "nonexistent-run" in last and "Traceback" not in err
    monkeypatch.setenv("MCL_DEBUG", "1")
    with pytest.raises(FileNotFoundError):
        entry()
