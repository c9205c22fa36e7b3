"""Preflight and split: what a labelled folder holds, what is skipped, and a stratified, reproducible split."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

from dogbreed_desktop.core.datasets import DatasetError
from training.preflight import preflight
from training.split import organise, read_split, stratified_split, write_split
from training.synthetic import make_shapes


@pytest.fixture
def shapes(tmp_path) -> Path:
    return make_shapes(tmp_path / "shapes", per_class=8, classes=["circle", "square", "triangle"])


def test_preflight_counts_a_clean_folder(shapes):
    rep = preflight(shapes)
    assert rep.layout == "folders"
    assert rep.counts() == {"circle": 8, "square": 8, "triangle": 8}
    assert rep.ok and rep.problems() == []
    assert all(len(s.digest) == 32 for s in rep.samples)


def test_preflight_skips_and_reports_broken_files(shapes):
    (shapes / "circle" / "empty.jpg").write_bytes(b"")
    (shapes / "circle" / "garbage.png").write_bytes(b"this is not a png at all")
    good = (shapes / "square" / "square_0000.png").read_bytes()
    (shapes / "square" / "truncated.png").write_bytes(good[:20])
    (shapes / "triangle" / "notes.txt").write_text("not an image")
    rep = preflight(shapes)
    bad = {p.name for p, _ in rep.unreadable}
    assert bad == {"empty.jpg", "garbage.png", "truncated.png"}
    assert [p.name for p in rep.non_images] == ["notes.txt"]
    assert rep.counts() == {"circle": 8, "square": 8, "triangle": 8}  # broken files are not used
    text = rep.summary()
    assert "3 unreadable image(s) skipped" in text and "1 file(s) that are not images" in text


def test_preflight_drops_exact_duplicates_and_conflicts(shapes):
    shutil.copy(shapes / "circle" / "circle_0000.png", shapes / "circle" / "copy.png")
    shutil.copy(shapes / "circle" / "circle_0001.png", shapes / "square" / "mislabelled.png")
    rep = preflight(shapes)
    assert [sorted(p.name for p in g) for g in rep.duplicates] == [["circle_0000.png", "copy.png"]]
    assert [sorted(p.name for p in g) for g in rep.conflicting_duplicates] == [["circle_0001.png", "mislabelled.png"]]
    # one copy of the duplicate kept; both conflicting copies dropped
    assert rep.counts() == {"circle": 7, "square": 8, "triangle": 8}


def test_preflight_kaggle_layout_reports_missing_and_unlabelled(tmp_path):
    root = make_shapes(tmp_path / "k", per_class=4, classes=["circle", "ring"], layout="kaggle")
    with open(root / "labels.csv", "a", newline="") as f:
        csv.writer(f).writerow(["ghost", "circle"])
    shutil.copy(root / "train" / "circle0000.png", root / "train" / "stray.png")
    (root / "train" / "lonely.png").write_bytes((root / "train" / "ring0000.png").read_bytes()[:-5] + b"xxxxx")
    rep = preflight(root)
    assert rep.layout == "kaggle"
    assert rep.labels_without_images == ["ghost"]
    assert {p.name for p in rep.images_without_labels} == {"stray.png", "lonely.png"}
    assert rep.counts() == {"circle": 4, "ring": 4}


def test_classes_too_small_to_split_are_left_out(shapes):
    (shapes / "lonely").mkdir()
    shutil.copy(shapes / "circle" / "circle_0000.png", shapes / "lonely" / "one.png")
    (shapes / "circle" / "circle_0000.png").unlink()
    rep = preflight(shapes)
    assert rep.too_small == {"lonely": 1}
    assert "lonely" not in rep.classes
    assert any("fewer than 2 images" in line for line in rep.problems())


def test_not_a_labelled_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError):
        preflight(tmp_path / "empty")


def test_split_is_stratified_75_25_and_reproducible(tmp_path):
    root = make_shapes(tmp_path / "s", per_class=20, classes=["circle", "square", "cross"])
    samples = preflight(root).samples
    a = stratified_split(samples, 0.25, seed=1)
    b = stratified_split(list(reversed(samples)), 0.25, seed=1)
    assert a == b  # same seed, same split, whatever the input order
    assert a.counts() == {c: (15, 5) for c in ("circle", "square", "cross")}  # 75% train, not 25%
    assert not {s.path for s in a.train} & {s.path for s in a.val}
    c = stratified_split(samples, 0.25, seed=2)
    assert {s.path for s in c.val} != {s.path for s in a.val}
    # a class's split does not depend on which other classes are present
    only_circles = stratified_split([s for s in samples if s.label == "circle"], 0.25, seed=1)
    assert {s.path for s in only_circles.val} == {s.path for s in a.val if s.label == "circle"}


def test_split_keeps_at_least_one_image_each_side(shapes):
    samples = [s for s in preflight(shapes).samples if s.label == "circle"][:2]
    split = stratified_split(samples, 0.9, seed=0)
    assert split.counts() == {"circle": (1, 1)}


def test_split_manifest_round_trip_and_organised_folders(shapes, tmp_path):
    split = stratified_split(preflight(shapes).samples, 0.25, seed=0)
    write_split(split, tmp_path / "run" / "split.csv")
    with open(tmp_path / "run" / "split.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["path", "label", "subset", "digest"]
    assert Counter(r["subset"] for r in rows) == {"train": 18, "val": 6}
    assert read_split(tmp_path / "run" / "split.csv") == split
    out = organise(split, tmp_path / "organised", "link")
    assert len(list((out / "train" / "circle").iterdir())) == 6
    assert len(list((out / "test" / "circle").iterdir())) == 2
    linked = next((out / "test" / "square").iterdir())
    assert linked.read_bytes() == Path(split.val[2].path).read_bytes() or linked.is_symlink()


def test_an_already_split_folder_keeps_its_split(tmp_path):
    root = tmp_path / "split"
    make_shapes(root / "train", per_class=6, classes=["circle", "square"])
    make_shapes(root / "test", per_class=2, classes=["circle", "square"], seed=9)
    rep = preflight(root)
    assert rep.layout == "split"
    split = stratified_split(rep.samples, 0.5, seed=0)
    assert split.counts() == {"circle": (6, 2), "square": (6, 2)}
    assert all("test" in s.path.parts for s in split.val)


def test_a_second_preflight_reads_only_the_files_that_changed(shapes, tmp_path, monkeypatch):
    """What the Train tab's training process does with the window's checks (`train --checks`)."""
    import os

    import training.preflight as pf

    (shapes / "circle" / "garbage.png").write_bytes(b"not a png")
    shutil.copyfile(shapes / "square" / "square_0001.png", shapes / "square" / "again.png")
    first = preflight(shapes)
    pf.write_checks(first, tmp_path / "checks.json")
    read = []
    real_check = pf._check
    monkeypatch.setattr(pf, "_check", lambda item: read.append(item.path.name) or real_check(item))

    second = preflight(shapes, known=pf.read_checks(tmp_path / "checks.json"))
    assert read == [] and second.reused == 26  # 24 photos, the broken one and the duplicate: none read again
    assert second.samples == first.samples and second.unreadable == first.unreadable
    assert second.duplicates == first.duplicates
    assert second.to_dict()["reused_checks"] == 26

    changed = shapes / "circle" / "circle_0003.png"
    shutil.copyfile(shapes / "triangle" / "triangle_0000.png", changed)  # new content, new size and time
    os.utime(changed, ns=(1, 1))
    third = preflight(shapes, known=pf.read_checks(tmp_path / "checks.json"))
    assert read == ["circle_0003.png"] and third.reused == 25
    assert third.conflicting_duplicates == [[shapes / "circle" / "circle_0003.png",
                                             shapes / "triangle" / "triangle_0000.png"]]

    (tmp_path / "checks.json").write_text('{"schema": 1, "checks": {"x": {"stamp": "no"}}}')
    assert pf.read_checks(tmp_path / "checks.json") == {}  # a damaged file: everything is read
    assert pf.read_checks(tmp_path / "missing.json") == {}
