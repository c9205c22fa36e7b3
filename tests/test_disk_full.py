"""A full disk, tried the same way on every writer: on a small tmpfs filled nearly to the brim, the real writer
raises DiskFull whose sentence names the folder and the space needed, the file written before stays byte for
byte, no tmp file is left, and once space is back the same call succeeds. Training marks its run with that
sentence and resumes from the checkpoint before; the CLI says it in one line; the window shows it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from dogbreed_desktop.core.files import DiskFull, human_size
from training.callbacks import Callback

ANY_NEED = re.compile(r": (about [\d.]+ (bytes|KB|MB) needed, [\d.]+ (bytes|KB|MB) free|"
                      r"it needs more than the [\d.]+ (bytes|KB|MB) free)\. Free some space and try again\.$")


@pytest.fixture
def small_disk(tmp_path):
    """make(size) -> a folder with a tmpfs of that size mounted on it (unmounted at teardown)."""
    mounted: list[Path] = []

    def make(size: str = "1m") -> Path:
        if not sys.platform.startswith("linux") or not shutil.which("mount"):
            pytest.skip("needs Linux and mount")
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                           capture_output=True, text=True, timeout=30)
        if r.returncode:
            pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def fill(disk: Path, leave: int) -> Path:
    """A file taking all the free space of `disk` but `leave` bytes (tmpfs counts in 4 KB pages)."""
    filler = disk / "filler"
    filler.write_bytes(bytes(max(0, shutil.disk_usage(disk).free - leave)))
    return filler


def snapshot(disk: Path) -> dict[str, bytes]:
    return {str(p.relative_to(disk)): p.read_bytes() for p in sorted(disk.rglob("*"))
            if p.is_file() and p.name != "filler"}


def check_writer(disk: Path, target: Path, write, *, leave: int = 4096, exact: bool = False) -> DiskFull:
    """write(1) with room; write(2) on a full disk fails in words and leaves every file as it was; write(2)
    again with room succeeds. `exact`: the message gives the very size of the file write(2) makes."""
    write(1)
    before = snapshot(disk)
    filler = fill(disk, leave)
    with pytest.raises(DiskFull) as info:
        write(2)
    message = str(info.value)
    assert message.startswith(f"Not enough disk space in {target.parent} to save "), message
    assert ANY_NEED.search(message), message
    assert snapshot(disk) == before  # the previous version whole, and no tmp file left beside it
    filler.unlink()
    write(2)
    assert target.read_bytes() != before[str(target.relative_to(disk))]
    if exact:
        assert f"about {human_size(target.stat().st_size)} needed, " in message
    return info.value


# -- the app's writers ------------------------------------------------------------------------------------------
def test_model_artifact(small_disk):
    from dogbreed_desktop.core.model.artifact import ModelArtifact, load_artifact, save_artifact
    from dogbreed_desktop.core.torch.backbones import backbone_spec

    disk, spec = small_disk("1m"), backbone_spec("efficientnet_lite0")
    target = disk / "run" / "model.safetensors"

    def write(version):
        save_artifact(ModelArtifact(
            backbone="efficientnet_lite0", classes=["a", "b", "c"], preprocessing=spec.preprocessing,
            head_weight=torch.full((3, 1280), float(version)), head_bias=torch.zeros(3),
            backbone_weights={"source": "package", "package": spec.package, "sha256": spec.sha256},
            temperature=1.0, name=f"v{version}"), target)

    check_writer(disk, target, write)
    assert load_artifact(target).name == "v2"


def test_csv_export(small_disk):
    from dogbreed_desktop.gui.results_table import write_csv

    disk = small_disk("1m")
    target = disk / "results.csv"
    rows = [[f"p{i}.jpg", "beagle"] for i in range(900)]
    check_writer(disk, target, lambda v: write_csv(target, [["path", f"breed v{v}"]] + rows), exact=True)


def test_onnx_export(small_disk, tmp_path):
    pytest.importorskip("onnx")
    from dogbreed_desktop.core.export.export_onnx import export_onnx

    disk = small_disk("40m")
    target = disk / "dogs.onnx"
    model = _tiny_model(tmp_path)

    def write(version):
        if version == 1:  # an earlier export, as far as this test cares (the exporter takes seconds)
            target.write_bytes(b"earlier export")
            (disk / "labels.txt").write_text("earlier\n")
        else:
            export_onnx(model, target)

    check_writer(disk, target, write, leave=1 << 20, exact=True)
    assert (disk / "labels.txt").read_text().splitlines() == ["a", "b", "c"]


def test_evaluation_report(small_disk):
    from dogbreed_desktop.core.evaluate.report import write_report
    from dogbreed_desktop.core.evaluate.report.records import Evaluation, PhotoRecord

    disk = small_disk("2m")
    folder = disk / "report"

    def write(version):
        records = [PhotoRecord(f"{i}.jpg", "abc"[i % 3], i % 3, ((i + version) % 3, 0, 1, 2, 3),
                               (0.7, 0.1, 0.1, 0.05, 0.05), 0.5) for i in range(30)]
        write_report(Evaluation("m", "m.safetensors", f"photos v{version}", ["a", "b", "c", "d", "e"],
                                list("ABCDE"), 1.0, records), folder)

    error = check_writer(disk, folder / "report.html", write)
    assert error.folder == folder


def test_feature_cache(small_disk):
    from dogbreed_desktop.core.torch.backbones import backbone_spec
    from training.features import FeatureCache

    disk = small_disk("1m")
    prep = backbone_spec("efficientnet_lite0").preprocessing

    def write(version):
        cache = FeatureCache(disk / "features", "efficientnet_lite0", prep)
        for i in range(2 if version == 1 else 12):
            cache.put(f"{i:032x}", torch.full((1280,), float(i)))
        cache.save()

    error = check_writer(disk, FeatureCache.path_for(disk / "features", "efficientnet_lite0", prep), write)
    assert error.needed >= 12 * 1280 * 4  # the size of the tensors, known before writing


def test_heatmap_png(small_disk):
    from dogbreed_desktop.core.predict.heatmap import save_heatmap

    disk = small_disk("1m")
    target = disk / "heat" / "dog.png"
    check_writer(disk, target, lambda v: save_heatmap(
        Image.frombytes("L", (160, 160), os.urandom(160 * 160)), target))


def test_pasted_image(small_disk, qtbot, monkeypatch):
    from PySide6.QtGui import QImage

    from dogbreed_desktop.gui.images import save_pasted

    disk = small_disk("1m")
    monkeypatch.setenv("DOGBREED_HOME", str(disk))
    image = QImage.fromData(_png(160))
    saved = save_pasted(image)
    filler = fill(disk, 4096)
    with pytest.raises(DiskFull, match=re.escape(f"Not enough disk space in {saved.parent} to save pasted-")):
        save_pasted(image)
    assert sorted(saved.parent.iterdir()) == [saved]
    filler.unlink()
    assert save_pasted(image).read_bytes() == saved.read_bytes()


def test_settings(small_disk, qtbot, monkeypatch):
    from dogbreed_desktop.gui import settings

    disk = small_disk("256k")
    monkeypatch.setenv("DOGBREED_HOME", str(disk))
    target = disk / "settings.ini"

    def write(version):
        settings.put("test/value", "x" * (3000 * version))
        assert settings.sync()

    error = check_writer(disk, target, write, leave=0)
    assert error.needed >= 6000 and settings.get("test/value", "") == "x" * 6000


# -- run records and training ----------------------------------------------------------------------------------
def _config_json(run: Path, version: int) -> None:
    _config("/photos").replace(epochs=version).save(run / "config.json")


def _metrics_csv(run: Path, version: int) -> None:
    from training.callbacks import write_metrics

    write_metrics(run / "metrics.csv", [{"epoch": e, "val_loss": 1.0} for e in range(version * 3)])


def _split_csv(run: Path, version: int) -> None:
    from training.preflight import Sample
    from training.split import Split, write_split

    train = [Sample(Path(f"/photos/{i}.jpg"), "a", "train", f"{i:032x}") for i in range(40 * version)]
    write_split(Split(["a"], train, []), run / "split.csv")


def _environment_json(run: Path, version: int) -> None:
    from training.run_records import write_json

    write_json(run / "environment.json", {"version": version})


RECORDS = {"config.json": _config_json, "metrics.csv": _metrics_csv, "split.csv": _split_csv,
           "environment.json": _environment_json}


@pytest.mark.parametrize("name", RECORDS)
def test_run_records(small_disk, name):
    disk = small_disk("256k")
    check_writer(disk, disk / "run" / name, lambda v: RECORDS[name](disk / "run", v), leave=0, exact=True)


def test_status_is_written_even_when_no_tmp_file_fits(small_disk):
    from training.run_records import write_status
    from training.runfolder import read_status

    disk = small_disk("256k")
    write_status(disk, "running", "training")
    fill(disk, 0)
    write_status(disk, "interrupted", "Not enough disk space ...")  # in place, in the blocks it has
    assert read_status(disk)["reason"] == "Not enough disk space ..."
    assert [p.name for p in disk.iterdir() if p.name.endswith(".tmp")] == []


class FillAt(Callback):
    """Fills the disk before the checkpoint of epoch `epoch` is written, keeping the checkpoint before it."""

    order = 50  # after the metrics (20), before the checkpoint (100)

    def __init__(self, disk: Path, epoch: int):
        self.disk, self.epoch, self.kept = disk, epoch, None

    def on_epoch_end(self, state, metrics):
        if metrics["epoch"] == self.epoch:
            self.kept = (self.disk / "run" / "checkpoint.pt").read_bytes()
            fill(self.disk, 16 << 10)  # room for the status and metrics, not for a checkpoint


def test_training_run_marks_the_reason_and_resumes(small_disk, shapes, tmp_path):
    from training.callbacks import load_checkpoint
    from training.run import resume_run, start_run
    from training.runfolder import read_run

    disk = small_disk("2m")
    run = disk / "run"
    fill_at = FillAt(disk, 2)
    with pytest.raises(DiskFull) as info:
        start_run(_config(shapes, tmp_path), run, callbacks=[fill_at])
    message = str(info.value)
    assert message.startswith(f"Not enough disk space in {run} to save checkpoint.pt: about ") and ANY_NEED.search(
        message)
    info_run = read_run(run)
    assert info_run.status == "interrupted" and info_run.reason == message and info_run.can_resume
    assert (run / "checkpoint.pt").read_bytes() == fill_at.kept
    assert int(load_checkpoint(run / "checkpoint.pt")["epoch"]) == 1
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []
    needed = info.value.needed
    (disk / "filler").unlink()
    result = resume_run(run)
    assert result.status == "finished" and result.model_path.is_file()
    assert abs(needed - (run / "checkpoint.pt").stat().st_size) < 0.2 * needed  # the estimate was close


@pytest.mark.parametrize("progress", ["bar", "json"])
def test_train_cli_says_it_in_one_line(small_disk, shapes, tmp_path, capsys, progress):
    from dogbreed_desktop.cli import main

    disk = small_disk("64k")  # the run's small files fit, its first checkpoint does not
    run = disk / "run"
    code = main(["train", "--data", str(shapes), "--out", str(run), "--image-size", "32", "--device", "cpu",
                 "--cache-dir", str(tmp_path / "cache"), "--epochs", "2", "--progress", progress])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("dogbreed-desktop: error:")]
    assert lines == [f"dogbreed-desktop: error: {json.loads((run / 'status.json').read_text())['reason']}"]
    assert lines[0].startswith(f"dogbreed-desktop: error: Not enough disk space in {run} to save checkpoint.pt")
    if progress == "json":  # what the Train tab shows
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert events[-1] == {"event": "error", "message": lines[0].split("error: ", 1)[1], "exit_code": 1}


def test_export_cli_says_it_in_one_line_and_exits_1(small_disk, capsys):
    """A full disk is not a usage error: exit 1, as for train and evaluate --report (docs/safety.md)."""
    pytest.importorskip("onnx")
    from dogbreed_desktop.cli import main

    disk = small_disk("2m")  # the fast model's graph is 13 MB
    code = main(["export", "--out", str(disk / "dogs.onnx")])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"dogbreed-desktop: error: Not enough disk space in {disk} to save dogs.onnx")
    assert code == 1


# -- the window -------------------------------------------------------------------------------------------------
def test_window_shows_the_sentence(small_disk, qtbot, monkeypatch):
    from dogbreed_desktop.gui import main_window, settings
    from dogbreed_desktop.gui.main_window import MainWindow

    disk = small_disk("256k")
    (disk / "home").mkdir()
    monkeypatch.setenv("DOGBREED_HOME", str(disk / "home"))
    window = MainWindow(device="cpu")  # no model needed: the export writes the header row
    qtbot.addWidget(window)
    target = disk / "results.csv"
    monkeypatch.setattr(main_window.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    target.write_text("earlier\n")
    settings.put("window/tab", 0)  # a settings file from an earlier session
    assert settings.sync()
    saved = (disk / "home" / "settings.ini").read_bytes()
    filler = fill(disk, 0)
    window.export_csv()
    assert window.dialog.informativeText().startswith(f"Not enough disk space in {disk} to save results.csv")
    assert target.read_text() == "earlier\n"
    warnings = []
    monkeypatch.setattr(main_window.QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    window.close()  # the settings are saved at quit
    assert len(warnings) == 1 and f"Not enough disk space in {disk / 'home'} to save settings.ini" in warnings[0]
    assert (disk / "home" / "settings.ini").read_bytes() == saved
    filler.unlink()
    window.export_csv()
    assert target.read_text().startswith("path,error")


# -- helpers ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    from training.synthetic import make_shapes

    return make_shapes(tmp_path_factory.mktemp("shapes") / "data", per_class=6, size=32,
                       classes=["circle", "square", "cross"])


def _config(data, tmp_path=None):
    from training.config import make_config

    cache = str(tmp_path / "cache") if tmp_path else None
    return make_config(data, device="cpu", mode="fast", image_size=32, epochs=3, batch_size=8, lr=1e-2,
                       patience=0, cache_dir=cache, decode_threads=2)


def _tiny_model(tmp_path):
    from dogbreed_desktop.core.model.artifact import ModelArtifact
    from dogbreed_desktop.core.torch.backbones import backbone_spec

    spec = backbone_spec("efficientnet_lite0")
    return ModelArtifact(backbone="efficientnet_lite0", classes=["a", "b", "c"], preprocessing=spec.preprocessing,
                         head_weight=torch.randn(3, 1280), head_bias=torch.zeros(3), temperature=1.0, name="tiny",
                         backbone_weights={"source": "package", "package": spec.package, "sha256": spec.sha256})


def _png(size: int) -> bytes:
    import io

    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(out, format="PNG")
    return out.getvalue()
