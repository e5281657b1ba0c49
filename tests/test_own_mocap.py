"""Issue 14, findings 3–7: users' own mocap as published (HDM05 layout, unknown rigs, label CSVs, CLI recipes, quiet,
cached folders, per-window results). Findings 1 and 2 (upside-down rigs, bodies under the floor) are in
`test_rigs_standing.py`. Small synthetic files written by the tests; no shared data."""
from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest
import torch
from fake_space import FakeSpace
from test_asf_amc import write_amc, write_asf
from test_bvh import skeleton, write_bvh
from test_rigs_standing import assert_standing

from mcl.data import sources
from mcl.data.errors import DataError, SkipReport
from mcl.data.retarget import load_rig


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MCL_CACHE", str(tmp_path / "cache"))


def still(T=40):
    return np.tile([0.0, 0.95, 0.0], (T, 1)) + np.arange(T)[:, None] * [0, 0, 0.02]


# --- finding 3: HDM05 layout, per-subject skeletons, skeleton=, hints reach the CLI -----------------------------
def test_hdm05_layout_asf_per_trial_several_subjects_in_one_folder(tmp_path):
    for name in ("HDM_mm_hopBothLegs1hops_031", "HDM_bd_walk4StepsRstart_002"):
        write_asf(tmp_path / f"{name}.asf")
        write_amc(tmp_path / f"{name}.amc", [{}, {}, {}])
    ms = sources.load(f"asf:{tmp_path}?labels=HDM_{{subject}}_{{motion}}_{{take}}")
    assert sorted((m.labels["subject"], m.labels["motion"]) for m in ms) == [("bd", "walk4StepsRstart"),
                                                                             ("mm", "hopBothLegs1hops")]
    assert all(m.texts for m in ms)  # captions from the labels, as no text was given


def test_per_subject_skeleton_and_skeleton_option(tmp_path):
    sub = tmp_path / "per-subject"
    sub.mkdir()
    write_asf(sub / "HDM_tr.asf")
    write_amc(sub / "HDM_tr_jump_003.amc", [{}, {}])
    assert len(sources.load(f"asf:{sub}")) == 1
    two = tmp_path / "two"
    two.mkdir()
    write_asf(two / "a.asf")
    write_asf(two / "b.asf")
    write_amc(two / "x_1.amc", [{}, {}])
    report = SkipReport()
    assert sources.load(f"asf:{two}", report=report) == []
    assert "skeleton=" in report.skipped[0][1]  # the hint that says what to do reaches the report
    from mcl.data.sources import load as load_motions
    with pytest.raises(DataError, match=r"(?s)gave no motions.*name the one to use with skeleton="):
        load_motions(f"asf:{two}", SkipReport(), required=True)
    assert len(sources.load(f"asf:{two}?skeleton=a.asf")) == 1


# --- finding 4: unknown rig prints a ready map, short -------------------------------------------------------------
CC = {"Hips": "CC_Base_Hip", "Spine": "CC_Base_Waist", "Spine1": "CC_Base_Spine02", "Neck": "CC_Base_NeckTwist01",
      "Head": "CC_Base_Head"}
for _side, _s in (("Left", "L"), ("Right", "R")):
    CC.update({f"{_side}UpLeg": f"CC_Base_{_s}_Thigh", f"{_side}Leg": f"CC_Base_{_s}_Calf",
               f"{_side}Foot": f"CC_Base_{_s}_Foot", f"{_side}ToeBase": f"CC_Base_{_s}_ToeBase",
               f"{_side}Shoulder": f"CC_Base_{_s}_Clavicle", f"{_side}Arm": f"CC_Base_{_s}_Upperarm",
               f"{_side}ForeArm": f"CC_Base_{_s}_Forearm", f"{_side}Hand": f"CC_Base_{_s}_Hand"})


def test_unknown_rig_writes_a_guessed_map_that_loads(tmp_path):
    data = tmp_path / "cc"
    data.mkdir()
    for k in range(3):
        write_bvh(data / f"take{k}.bvh", skeleton(), {}, still(), rename=CC)
    report = SkipReport()
    assert sources.load(f"bvh:{data}", report=report) == []
    summary = report.summary()
    assert summary.count("unknown rig") == 1  # one reason line for three files, files listed under it
    assert "rig=" in summary and "joint_map=" not in summary and len(summary) < 1500
    guessed = json.loads((data / "mcl-rig-map.json").read_text())
    assert guessed["joints"]["CC_Base_Hip"] == "pelvis" and guessed["joints"]["CC_Base_L_Thigh"] == "left_hip"
    assert guessed["joints"]["CC_Base_R_Upperarm"] == "right_shoulder" and not guessed["_missing_required"]
    ms = sources.load(f"bvh:{data}?rig=mcl-rig-map.json")  # the map file read from the data folder
    assert len(ms) == 3
    for m in ms:
        assert_standing(m, m.name)


def test_rig_map_keys_are_checked(tmp_path):
    with pytest.raises(DataError, match="unknown key"):
        load_rig({"joints": {"Hips": "pelvis"}, "upp": "y"})
    table = load_rig({"joints": {"Hips": "pelvis"}, "up": None, "_note": "ignored"})
    assert table.up is None and table.joints == {"Hips": "pelvis"}


# --- finding 5: label CSVs without captions, relative to the data folder; per-class prompts -----------------------
def test_csv_with_label_columns_only_relative_to_the_data_folder(tmp_path, monkeypatch):
    data = tmp_path / "mocap"
    data.mkdir()
    for name in ("a", "b"):
        write_bvh(data / f"{name}.bvh", skeleton(), {}, still())
    (data / "labels.csv").write_text("file,content,style\na.bvh,depositFloorR,old\nb,walk_fast,young\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ms = sorted(sources.load(f"bvh:{data}?labels=labels.csv"), key=lambda m: m.name)
    assert [m.labels["content"] for m in ms] == ["depositFloorR", "walk_fast"]
    assert ms[1].texts == ["walk fast young"]  # the labels joined when there is no text column
    ms = sources.load(f"bvh:{data}?labels=labels.csv&caption=a%20{{style}}%20person%20doing%20{{content}}")
    assert sorted(m.texts[0] for m in ms) == ["a old person doing depositFloorR", "a young person doing walk_fast"]


def test_prompt_ensembling_averages_unit_embeddings():
    from mcl.latent.ops import class_embeddings

    class Loaded:
        space = FakeSpace(8)
    e = class_embeddings(Loaded(), ["walk", ["a person runs", "running"]])
    a, b = torch.nn.functional.normalize(FakeSpace(8).encode_text(["a person runs", "running"]), dim=-1)
    torch.testing.assert_close(e[1], torch.nn.functional.normalize(a + b, dim=0))
    torch.testing.assert_close(e[0], FakeSpace(8).encode_text(["walk"])[0])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from mcl.training import checkpoint
    from mcl.training.config import ModelConfig, preset
    from mcl.model import MotionCLIP

    d = tmp_path_factory.mktemp("run")
    cfg = preset("cpu", data="synthetic", space="minilm", val_split="time",
                 model=ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=384))
    torch.manual_seed(0)
    checkpoint.save(d, MotionCLIP(cfg.model), None, {"step": 1, "epoch": 1, "config": cfg.to_dict(),
                                                     "space": "minilm", "data_spec": "synthetic"},
                    tags=("latest", "best"))
    return d


def eval_cli(*argv):
    from mcl.latent import cli as latent_cli
    p = argparse.ArgumentParser(prog="mcl")
    latent_cli.register(p.add_subparsers(dest="command"))
    args = p.parse_args([str(a) for a in argv])
    return args.func(args)


def test_eval_classes_file_per_item_csv_and_quiet(run_dir, tmp_path, monkeypatch, capsys):
    from latent_fakes import HashSpace
    from mcl.training import checkpoint

    real = checkpoint.load
    monkeypatch.setattr(checkpoint, "load", lambda run, which="latest", device="cpu": real(run, which, device,
                                                                                           space=HashSpace(384)))
    classes = tmp_path / "classes.csv"
    classes.write_text("class,prompt\nswing,a person swings,swinging the limbs\nsway,a person sways\nbob\n")
    items, out = tmp_path / "items.csv", tmp_path / "r.json"
    assert eval_cli("eval", "recognition", "--run", run_dir, "--data", "synthetic", "--split", "all", "--limit", 6,
                    "--classes-file", classes, "--per-item", items, "--json", out, "--quiet") == 0
    res = json.loads(out.read_text())
    assert res["classes"] == ["swing", "sway", "bob"]
    assert res["prompts"] == [["a person swings", "swinging the limbs"], "a person sways", "bob"]
    rows = list(csv.DictReader(items.open()))
    assert len(rows) == res["n"] and {"clip", "start", "true", "predicted", "rank", "top5", "split"} <= set(rows[0])
    assert all(1 <= int(r["rank"]) <= 3 for r in rows)
    top1 = 100 * np.mean([r["predicted"] == r["true"] for r in rows])
    assert top1 == pytest.approx(res["top1"])
    err = capsys.readouterr().err
    assert "%|" not in err  # no progress bar at all
    with pytest.raises(ValueError, match="--per-item"):
        eval_cli("eval", "retrieval", "--run", run_dir, "--data", "synthetic", "--per-item", items)


# --- finding 6: every preset field on the CLI, the run records the resolved space ---------------------------------
def parse_train(argv):
    from mcl.training import cli as train_cli
    p = argparse.ArgumentParser(prog="mcl")
    train_cli.register(p.add_subparsers(dest="command"))
    return p.parse_args(argv)


def test_fixed_and_random_windows_flags():
    from mcl.training.cli import _overrides
    assert _overrides(parse_train(["train", "--random-windows"]))["fixed_windows"] is False
    assert _overrides(parse_train(["train", "--fixed-windows"]))["fixed_windows"] is True
    assert "fixed_windows" not in _overrides(parse_train(["train"]))
    with pytest.raises(SystemExit):
        parse_train(["train", "--fixed-windows", "--random-windows"])


def test_run_records_the_resolved_space_and_resume_uses_it(tmp_path, monkeypatch, capsys):
    import mcl.training.loop as train_mod

    asked = []

    class Resolved(FakeSpace):
        registry_name = "what-auto-chose"

    def fake_resolve(space, cache_dir=None):
        asked.append(space)
        return Resolved(16) if isinstance(space, str) else space
    monkeypatch.setattr(train_mod, "resolve_space", fake_resolve)
    out = tmp_path / "run"
    common = ["--layers", "1", "--d-model", "16", "--heads", "2", "--ff", "32", "--threads", "1", "--quiet",
              "--preset", "cpu", "--batch-size", "4", "--w-image", "0", "--out", str(out)]
    args = parse_train(["train", "--data", "synthetic?n=4&frames=120", "--space", "auto", "--epochs", "1"] + common)
    assert args.func(args) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["config"]["space"] == "what-auto-chose" and saved["space"] == "what-auto-chose"
    args = parse_train(["train", "--data", "synthetic?n=4&frames=120", "--resume", "--epochs", "2"] + common)
    assert args.func(args) == 0
    assert asked == ["auto", "what-auto-chose"]  # the resume did not resolve "auto" again
    assert "%|" not in capsys.readouterr().err


# --- finding 7: quiet, long lists to the log, cached folders ------------------------------------------------------
def test_long_notes_go_to_the_log_file(tmp_path):
    from mcl.quiet import short_note
    note = "extended 900 clip(s) shorter than a window: " + "; ".join(f"clip_{i:04d} (40 frames)" for i in range(900))
    shown = short_note(note, tmp_path / "log.txt")
    assert len(shown) < 500 and str(tmp_path / "log.txt") in shown
    assert note in (tmp_path / "log.txt").read_text()
    assert short_note("short", tmp_path / "log.txt") == "short"


def test_bvh_folder_is_parsed_once(tmp_path, monkeypatch):
    import mcl.data.bvh as bvh
    for k in range(2):
        write_bvh(tmp_path / f"c{k}.bvh", skeleton(), {}, still())
    first = sources.load(f"bvh:{tmp_path}")
    calls = []
    real = bvh.load_bvh
    monkeypatch.setattr(bvh, "load_bvh", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = sources.load(f"bvh:{tmp_path}")
    assert calls == [] and len(again) == 2
    np.testing.assert_allclose(first[0].poses, again[0].poses)
    assert again[0].source["up_axis"] == "+y"
    (tmp_path / "c1.bvh").write_text((tmp_path / "c1.bvh").read_text() + "\n")  # a changed file is re-read
    sources.load(f"bvh:{tmp_path}")
    assert len(calls) == 2
    sources.load(f"bvh:{tmp_path}?cache=0")
    assert len(calls) == 4


# --- mcl data check: a PNG of frame 0 and the heights -------------------------------------------------------------
def test_data_check_writes_a_png_and_says_who_stands(tmp_path, capsys):
    from mcl.cli import main
    for k in range(2):
        write_bvh(tmp_path / f"c{k}.bvh", skeleton(), {}, still())
    out = tmp_path / "check.png"
    assert main(["data", "check", f"bvh:{tmp_path}", "--out", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "2 of 2 clips stand on the floor" in printed and "file up axis +y" in printed
    from PIL import Image
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[0] > 200 and img.shape[1] > 300
    blue = (img[..., 2] > 150) & (img[..., 0] < 120)  # the standing bodies are drawn blue
    assert blue.mean() > 0.01
