"""Hostile labelled sets: Hypothesis writes labels.csv files, and whatever they say, reading, checking,
splitting and organising them ends in a clean refusal or a result, never a traceback and never a file
outside the run folder. A huge file in the data set is hashed in bounded memory."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from hostile_support import peak_mb, run_limited
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dogbreed_desktop.core.datasets import DatasetError
from training.safenames import RESERVED, safe_folder_name, safe_folder_names
from training.preflight import preflight
from training.split import organise, stratified_split
from training.synthetic import make_shapes

_NASTY = st.sampled_from(["..", ".", "/", "\\", "/etc/passwd", "../../x", "C:\\x", "CON", "nul.txt", "a/b",
                          "\x1b[31m", "\x00", " ", "", "\u202e", "ä", "A", "a", "." * 300, "x" * 300])
_LABEL = st.one_of(_NASTY, st.text(max_size=12), st.lists(_NASTY, min_size=1, max_size=3).map("".join))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    root = make_shapes(tmp_path_factory.mktemp("fuzz") / "src", per_class=3, classes=["circle", "square"],
                       size=24, layout="kaggle")
    return sorted((root / "train").iterdir())


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(header=st.sampled_from([["id", "breed"]] * 3 + [["breed", "id"], ["x", "y"], ["id"], []]),
       pool=st.lists(_LABEL, min_size=2, max_size=3, unique=True),
       assign=st.lists(st.integers(0, 2), min_size=6, max_size=6),
       extra=st.lists(st.tuples(st.integers(0, 6), _LABEL), max_size=3),
       junk=st.lists(st.text(max_size=20), max_size=2))
def test_fuzzed_labels_csv_is_refused_cleanly_or_organised_safely(tmp_path_factory, images, header, pool, assign,
                                                                  extra, junk):
    rows = [(i, pool[a % len(pool)]) for i, a in enumerate(assign)] + extra
    root = tmp_path_factory.mktemp("case")
    data = root / "data"
    (data / "train").mkdir(parents=True)
    for p in images:
        os.link(p, data / "train" / p.name)
    ids = [p.stem for p in images] + ["missing"]
    with open(data / "labels.csv", "w", newline="", encoding="utf-8", errors="surrogatepass") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        swap = header[:1] == ["breed"]
        for i, label in rows:
            w.writerow([label, ids[i]] if swap else [ids[i], label])
        for line in junk:
            f.write(line + "\n")
    run = root / "run"
    try:
        report = preflight(data)
    except DatasetError as e:
        assert str(e)
        return
    assert all(isinstance(line, str) for line in report.problems())
    if not report.ok:
        return
    split = stratified_split(report.samples, 0.5, 0)
    organise(split, run / "organised", "copy")
    event("organised")
    outside = [p for p in root.rglob("*") if not (run in p.parents or p == run or data in p.parents or p == data)]
    assert outside == []
    for folder in (run / "organised" / "train").iterdir():
        assert folder.name not in (".", "..") and folder.name.split(".")[0].upper() not in RESERVED


@settings(max_examples=200, derandomize=True)
@given(st.lists(_LABEL, max_size=8))
def test_safe_folder_names_are_single_distinct_components(labels):
    names = safe_folder_names(labels)
    assert set(names) == set(labels)
    assert len({n.casefold() for n in names.values()}) == len(names)
    for n in names.values():
        assert n and n not in (".", "..") and not any(c in n for c in '/\\:*?"<>|\0')
        assert Path(n).name == n and not Path(n).is_absolute() and len(n) <= 100
        assert all(c.isprintable() for c in n) and n == n.strip(" .")


def test_safe_folder_name_examples():
    assert safe_folder_name("golden_retriever") == "golden_retriever"
    assert safe_folder_name("../../etc") == "_.._etc"
    assert safe_folder_name("CON") == "_CON" and safe_folder_name("nul.txt") == "_nul.txt"
    assert safe_folder_names(["a/b", "a_b", "A_B"]) == {"A_B": "A_B", "a/b": "a_b-2", "a_b": "a_b-3"}


def test_a_huge_file_is_hashed_in_bounded_memory(tmp_path):
    """Preflight used to read each file whole: a 3 GB file named .jpg cost 3.7 GB."""
    data = make_shapes(tmp_path / "data", per_class=2, classes=["circle", "square"], size=24)
    big = data / "circle" / "huge.jpg"
    with open(big, "wb") as f:  # sparse: 1 GB that costs no disk
        f.truncate(1 << 30)
    proc = run_limited(f"""
        from training.preflight import preflight
        rep = preflight({str(data)!r})
        assert [p.name for p, _ in rep.unreadable] == ["huge.jpg"], rep.unreadable
        assert rep.counts() == {{"circle": 2, "square": 2}}
    """, limit_mb=600)
    assert proc.returncode == 0, proc.stderr
    assert peak_mb(proc) < 300


def test_an_unlistable_subfolder_is_reported_not_skipped(tmp_path, monkeypatch):
    """As root every folder is readable, so the refusal is simulated where the OS would give it."""
    data = make_shapes(tmp_path / "data", per_class=3, classes=["circle", "square", "cross"], size=24)
    real_scandir = os.scandir

    def scandir(path=".", *a):
        if Path(path).name == "cross":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *a)

    monkeypatch.setattr(os, "scandir", scandir)
    rep = preflight(data)
    assert rep.counts() == {"circle": 3, "square": 3}
    assert any("could not be read" in line and "cross" in line for line in rep.problems())
    from dogbreed_desktop.core.predict.classifier import collect_images

    assert data / "cross" in collect_images([data])  # predict lists it, so it gets its own error line
