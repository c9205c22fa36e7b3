"""Hostile data sets and run folders for `train`: labels that look like paths, --out pointing at the user's
files, a run killed before its model was written, resumes from elsewhere or with data gone, damaged
checkpoints and caches. Each gives a message and the documented exit code, and touches nothing outside the
run folder."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dogbreed_desktop.cli import main
from dogbreed_desktop.core.datasets import load_labelled_set
from dogbreed_desktop.core.files import sha256_of
from training.synthetic import make_shapes


def _snapshot(root: Path, *skip: Path) -> dict[str, str]:
    """relative path -> content hash of every file under `root` outside the `skip` folders."""
    out = {}
    for p in sorted(root.rglob("*")):
        if any(p == s or s in p.parents for s in skip):
            continue
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = sha256_of(p)
    return out


def _args(data, out, cache, *extra) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--image-size", "32", "--device", "cpu",
            "--cache-dir", str(cache), "--lr", "0.01", "--mode", "fast", "--quiet", *extra]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A finished 2-epoch run made with relative --data/--out from its own working folder."""
    home = tmp_path_factory.mktemp("hostile-train")
    make_shapes(home / "data", per_class=6, classes=["circle", "square", "cross"], size=32, layout="kaggle")
    mp = pytest.MonkeyPatch()
    mp.chdir(home)
    try:
        assert main(_args("data", "run", "cache", "--epochs", "2", "--patience", "0")) == 0
    finally:
        mp.undo()
    return home


def _copy_run(base: Path, dest: Path) -> Path:
    return Path(shutil.copytree(base / "run", dest / "run"))


def test_labels_that_look_like_paths_stay_inside_the_run_folder(tmp_path, capsys):
    data = make_shapes(tmp_path / "data", per_class=4, classes=["circle", "square"], size=32, layout="kaggle")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "circle0000.png").write_bytes(b"precious")  # what a traversal would overwrite
    rows = list(csv.reader(open(data / "labels.csv")))
    evil = {"circle": str(victim), "square": "../../../../escape"}
    with open(data / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([rows[0]] + [[i, evil[b]] for i, b in rows[1:]])
    out, cache = tmp_path / "run", tmp_path / "cache"
    before = _snapshot(tmp_path)
    assert main(_args(data, out, cache, "--epochs", "1", "--organise", "copy")) == 0
    assert _snapshot(tmp_path, out, cache) == before
    assert (victim / "circle0000.png").read_bytes() == b"precious"
    folders = sorted(p.name for p in (out / "organised" / "train").iterdir())
    assert len(folders) == 2 and all("/" not in f and f not in (".", "..") for f in folders)
    mapping = dict(csv.reader(open(out / "organised" / "classes.csv")))
    assert set(mapping.values()) >= set(evil.values())


@pytest.mark.parametrize("kind", ["user folder", "file", "run"])
def test_out_is_refused_before_preflight_unless_new_empty_or_ours(tmp_path, capsys, base, kind):
    out = tmp_path / "out"
    if kind == "user folder":
        out.mkdir()
        (out / "metrics.csv").write_text("my own numbers\n")
    elif kind == "file":
        out.write_text("a file")
    else:
        out = _copy_run(base, tmp_path)
    before = _snapshot(tmp_path)
    assert main(_args(base / "data", out, tmp_path / "cache", "--epochs", "1")) == 2
    captured = capsys.readouterr()
    assert "images in" not in captured.out  # refused before the data was even read
    assert {"user folder": "not a run folder", "file": "is a file", "run": "--resume"}[kind] in captured.err
    assert _snapshot(tmp_path) == before


def test_a_run_killed_before_writing_its_model_resumes_and_writes_it(tmp_path, capsys, base):
    run = _copy_run(base, tmp_path)
    (run / "model.safetensors").unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    status = json.loads((run / "status.json").read_text())
    status.update(status="running", pid=int(dead.stdout))  # as the killed process left it
    (run / "status.json").write_text(json.dumps(status))
    assert main(["train", "--resume", str(run)]) == 0
    assert "finished" in capsys.readouterr().out
    assert main(["predict", "--model", str(run), "--json", str(base / "data" / "train" / "cross0001.png")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["breed"] in {"circle", "square", "cross"}
    assert json.loads((run / "status.json").read_text())["status"] == "finished"


def test_resume_from_another_working_folder_finds_its_images(tmp_path, capsys, base, monkeypatch):
    run = _copy_run(base, tmp_path)
    monkeypatch.chdir(tmp_path)  # not where the run was started
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "epoch   3/3" in out
    assert json.loads((run / "status.json").read_text())["metrics"]["val_images"] > 0


def test_resume_with_the_images_gone_says_so(tmp_path, capsys, base):
    run = _copy_run(base, tmp_path)
    moved = base / "data-moved"
    (base / "data").rename(moved)
    try:
        assert main(["train", "--resume", str(run), "--epochs", "4"]) == 1
    finally:
        moved.rename(base / "data")
    err = capsys.readouterr().err
    assert "are missing" in err and "finished" not in err


class _NotPlainData:
    pass


@pytest.mark.parametrize("damage", ["truncated", "pickled"])
def test_a_damaged_checkpoint_gives_a_message(tmp_path, capsys, base, damage):
    run = _copy_run(base, tmp_path)
    ckpt = run / "checkpoint.pt"
    if damage == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    else:
        torch.save({"kind": "dogbreed-training-checkpoint", "epoch": 1, "x": _NotPlainData()}, ckpt)
    assert main(["train", "--resume", str(run), "--epochs", "4"]) == 1
    err = capsys.readouterr().err
    assert ("damaged or truncated" if damage == "truncated" else "could run code") in err
    assert "weights_only" not in err and "Traceback" not in err


def test_an_all_unreadable_data_set_is_refused_at_preflight(tmp_path, capsys):
    data = make_shapes(tmp_path / "data", per_class=3, classes=["circle", "square"], size=32, layout="kaggle")
    for p in (data / "train").iterdir():
        p.write_bytes(p.read_bytes()[:60])  # a valid PNG header, the pixel data cut off
    out = tmp_path / "run"
    assert main(_args(data, out, tmp_path / "cache", "--epochs", "1")) == 1
    assert "none of the images could be read" in capsys.readouterr().err
    assert not out.exists()


def test_bad_cache_and_unwritable_places(tmp_path, capsys, base):
    from training.config import make_config, preprocessing_for
    from training.features import FeatureCache

    cache = tmp_path / "cache"
    config = make_config(base / "data", device="cpu", device_type="cpu", mode="fast", image_size=32)
    path = FeatureCache.path_for(cache, config.backbone, preprocessing_for(config), "onnxruntime")
    path.parent.mkdir(parents=True)
    from safetensors.torch import save_file

    save_file({"keys": torch.zeros(2, 16, dtype=torch.uint8), "features": torch.zeros(2, 7)}, str(path))
    assert main(_args(base / "data", tmp_path / "run", cache, "--epochs", "1")) == 0
    assert "7-value features" in capsys.readouterr().out
    (tmp_path / "blocker").write_text("a file where the cache folder should go")
    assert main(_args(base / "data", tmp_path / "run2", tmp_path / "blocker" / "cache", "--epochs", "1")) == 2
    captured = capsys.readouterr()
    assert "images in" not in captured.out and "blocker" in captured.err


def test_swapped_columns_and_files_that_are_not_files(tmp_path):
    import os

    from training.preflight import preflight

    data = make_shapes(tmp_path / "data", per_class=3, classes=["circle", "square"], size=32, layout="kaggle")
    rows = list(csv.reader(open(data / "labels.csv")))
    with open(data / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([["breed", "id"]] + [[b, i] for i, b in rows[1:]])
    assert load_labelled_set(data).counts() == {"circle": 3, "square": 3}
    with open(data / "labels.csv", "w", newline="") as f:  # no header names to go by: the files decide
        csv.writer(f).writerows([["a", "b"]] + [[b, i] for i, b in rows[1:]])
    loaded = load_labelled_set(data)
    assert loaded.counts() == {"circle": 3, "square": 3} and "second column" in loaded.notes[0]
    if hasattr(os, "mkfifo"):
        os.mkfifo(data / "train" / "circle0009.png")
        with open(data / "labels.csv", "a", newline="") as f:
            csv.writer(f).writerow(["circle", "circle0009"])
        rep = preflight(data)  # would hang forever reading the FIFO
        assert [e for _, e in rep.unreadable] == ["a named pipe (FIFO), not an image file"]
