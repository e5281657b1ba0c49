"""The published Bandai-Namco ds-2 held-out split by take id (mcl/data/bandai_split.json) and `bandai?split=`.

Fast and without ../shared/data: a fake folder laid out like the dataset (empty .bvh files + label JSONs) with the BVH
parser swapped for a still pose; one test reads the real archive when it is there (`shared`)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcl.data import bandai
from mcl.data.errors import DataError
from mcl.data.motion import Motion
from mcl.data.sources import SOURCES, load, parse_spec

ARCHIVE = bandai.default_bandai_path()
ALL_IDS = [f"{i:03d}" for i in range(1, 105)]  # the archive's take ids


def test_published_split_is_the_rule_and_disjoint():
    d = json.loads(bandai.SPLIT_FILE.read_text())
    sp = bandai.published_split()
    assert not sp["test"] & sp["train"], "no take id on both sides"
    assert sorted(sp["test"] | sp["train"]) == ALL_IDS
    assert len(sp["test"]) == 20 and len(sp["train"]) == 84  # 20 % of the 104 ids, by the hash rule
    remade = bandai.make_split(ALL_IDS, d["test_fraction"])
    assert remade["test_ids"] == d["test_ids"] and remade["train_ids"] == d["train_ids"] and remade["how"] == d["how"]
    assert "sha256" in d["how"] and d["clips"] == {"test": 398, "train": 2504, "all": 2902,
                                                   "fewest_test_clips_per_pair": 2, "pairs_with_test_clips": 70}
    assert bandai.split_of("010") == "test" and bandai.split_of("001") == "train"
    assert bandai.split_of("999") == ("test" if bandai.split_rule("999") else "train")  # unknown ids: the same rule


def test_split_file_is_package_data():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"data/*.json"' in text and bandai.SPLIT_FILE.parent.name == "data"


def test_broken_split_file_names_the_file(tmp_path):
    bad = tmp_path / "split.json"
    bad.write_text('{"test_ids": ["001"], "train_ids": ["001", "002"]}')
    with pytest.raises(DataError, match=r"split.json.*both sides.*'001'"):
        bandai.published_split(bad)
    bad.write_text('{"test": []}')
    with pytest.raises(DataError, match=r"split.json.*unreadable split file.*test_ids"):
        bandai.published_split(bad)


@pytest.fixture
def fake_bandai(tmp_path, monkeypatch):
    """A folder like the extracted archive: 2 pairs × ids 001, 010, 015, 020 (010 and 015 are test ids)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "content_label.txt").write_text("\n".join(f"dataset-2_{c}" for c in bandai.CONTENTS))
    (tmp_path / "cfg" / "style_label.txt").write_text("\n".join(f"dataset-2_{s}" for s in bandai.STYLES))
    for content, style in (("walk", "normal"), ("run", "elderly")):
        for i in ("001", "010", "015", "020"):
            stem = tmp_path / "data" / f"dataset-2_{content}_{style}_{i}"
            stem.with_suffix(".bvh").write_text("")
            stem.with_suffix(".json").write_text(json.dumps({"content": bandai.CONTENTS.index(content),
                                                             "style": bandai.STYLES.index(style)}))

    def still(path, rig=None):
        return Motion(np.zeros((40, 24, 3)), np.zeros((40, 3)), fps=30.0, source={"file": str(path)})

    monkeypatch.setattr(bandai, "load_bvh", still)
    return tmp_path


def _ids(motions):
    return sorted({m.labels["id"] for m in motions})


def test_split_option_selects_one_side(fake_bandai):
    every = bandai.load_bandai(fake_bandai, cache=False)
    test = bandai.load_bandai(fake_bandai, split="test", cache=False)
    train = bandai.load_bandai(fake_bandai, split="train", cache=False)
    assert len(every) == 8 and _ids(every) == ["001", "010", "015", "020"]  # default: all, as before
    assert _ids(test) == ["010", "015"] and _ids(train) == ["001", "020"]
    assert {m.name for m in test}.isdisjoint({m.name for m in train}) and len(test) + len(train) == 8
    assert {(m.labels["content"], m.labels["style"]) for m in test} == {("walk", "normal"), ("run", "elderly")}
    with pytest.raises(DataError, match=r"split='val'.*unknown split.*all, train, test"):
        bandai.load_bandai(fake_bandai, split="val", cache=False)


def test_split_in_data_specs(fake_bandai, monkeypatch):
    calls = []
    monkeypatch.setattr(bandai, "load_bandai", lambda path, **kw: calls.append(kw) or [])  # what the spec passes on
    load("bandai")
    load("bandai?split=test&contents=walk")
    assert calls[0]["split"] == "all" and calls[1]["split"] == "test" and calls[1]["contents"] == ["walk"]
    assert parse_spec("bandai?split=train").options == {"split": "train"}
    assert "split=train|test|all" in SOURCES["bandai"].usage


@pytest.mark.shared
@pytest.mark.skipif(ARCHIVE is None or not ARCHIVE.exists(),
                    reason=f"Bandai-Namco ds-2 not found ({bandai.ARCHIVE_NAME} in ../shared/data or $MCL_BANDAI)")
def test_real_archive_has_the_published_ids():
    root = bandai._data_root(bandai.extract_bandai(ARCHIVE) if ARCHIVE.is_file() else ARCHIVE)
    stems = [f.stem.split("_") for f in (root / "data").glob("*.bvh")]
    assert sorted({s[3] for s in stems}) == ALL_IDS
    test = [s for s in stems if bandai.split_of(s[3]) == "test"]
    assert len(stems) == 2902 and len(test) == 398
