"""The loop on a tiny synthetic set: it learns, stops early on a plateau, stops on request keeping the best,
resumes where it stopped, and writes a run folder the app can load."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from dogbreed_desktop.core.model.artifact import load_artifact
from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.control import Control
from training.callbacks import BestWeights, Callback, EarlyStopping, load_checkpoint
from training.config import TrainConfig, make_config, preprocessing_for
from training.features import FeatureCache
from training.loop import fit
from training.preflight import preflight
from training.run import resume_run, start_run
from training.runfolder import list_runs, read_metrics, read_run
from training.split import stratified_split
from training.synthetic import make_shapes

SIZE = 32  # tiny inputs: EfficientNet-Lite0 on 32x32 pictures is quick on a CPU


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return make_shapes(tmp_path_factory.mktemp("shapes") / "data", per_class=12, size=SIZE)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


def _settings(cache) -> dict:
    return dict(image_size=SIZE, epochs=12, lr=1e-2, patience=3, cache_dir=cache, decode_threads=2)


def config(shapes, cache, **kw) -> TrainConfig:
    return make_config(shapes, device="cpu", **{**_settings(cache), **kw})


class StopAt(Callback):
    """Presses the stop button at a given (fractional) point of training."""

    def __init__(self, control: Control, epoch: int):
        self.control, self.epoch = control, epoch

    def on_batch_end(self, state, batch):
        if batch["epoch"] > self.epoch - 1:
            self.control.stop()


def test_fast_mode_learns_the_shapes(shapes, cache, tmp_path):
    result = start_run(config(shapes, cache), tmp_path / "run")
    assert result.status in ("finished", "stopped_early")
    assert result.metrics["val_top1"] > 0.9
    assert result.metrics["start_val_top1"] < 0.5  # random head at the start: the loop did the learning
    history = read_metrics(tmp_path / "run" / "metrics.csv")
    assert history[0]["epoch"] == 0 and math.isnan(history[0]["train_loss"])
    assert history[-1]["train_loss"] < history[1]["train_loss"]
    # the folder is a model the app opens, with the preprocessing it was trained with
    clf = Classifier.load(tmp_path / "run")
    assert clf.preprocessing.crop == SIZE and clf.classes == sorted(["circle", "square", "triangle", "cross", "ring"])
    pred = clf.predict([shapes / "cross" / "cross_0003.png"])[0]
    assert pred.breed == "cross"
    meta = load_artifact(tmp_path / "run")
    assert meta.backbone_weights["source"] == "package" and meta.backbone_state is None
    assert 0.05 <= meta.temperature <= 20
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == result.status and status["best_epoch"] == result.best_epoch


def test_run_folder_contents(shapes, cache, tmp_path):
    start_run(config(shapes, cache, epochs=2), tmp_path / "run")
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "split.csv", "metrics.csv", "environment.json", "checkpoint.pt", "model.safetensors",
            "status.json", "preflight.json"} <= names
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert header == "epoch,train_loss,val_loss,val_top1,val_top5,lr,seconds"
    assert TrainConfig.load(tmp_path / "run" / "config.json") == config(shapes, cache, epochs=2)
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["device"] == "cpu" and env["torch"] == torch.__version__
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.pt")  # weights_only: plain data and tensors
    assert ckpt["epoch"] == 2 and ckpt["config"]["mode"] == "fast"
    assert set(ckpt["callbacks"]) == {"BestWeights", "EarlyStopping", "MetricsLogger", "Checkpointer"}
    info = read_run(tmp_path / "run")
    assert info.has_model and info.status == "finished" and [r["epoch"] for r in info.history] == [0, 1, 2]
    assert [r.path for r in list_runs(tmp_path)] == [tmp_path / "run"]


def test_features_are_cached(shapes, cache, tmp_path):
    cfg = config(shapes, cache, epochs=1)
    start_run(cfg, tmp_path / "a")
    cached = FeatureCache(cache, cfg.backbone, preprocessing_for(cfg), "onnxruntime")  # the CPU engine made them
    assert len(cached) == 60

    class Counting(Control):
        messages = []

        def progress(self, done, total, message=""):
            self.messages.append((message, done, total))

    control = Counting()
    start_run(cfg, tmp_path / "b", control=control)
    extraction = [m for m in control.messages if m[0] == "extracting features"]
    assert extraction[0][1] == extraction[0][2] == 60  # everything came from the cache


def test_early_stopping_on_a_plateau(shapes, cache, tmp_path):
    # a learning rate too small to move anything: validation loss stays flat
    result = start_run(config(shapes, cache, lr=1e-9, epochs=20, patience=3), tmp_path / "run")
    assert result.status == "stopped_early"
    assert "no better val_loss for 3 epochs" in result.reason
    assert [r["epoch"] for r in read_metrics(tmp_path / "run" / "metrics.csv")] == [0, 1, 2, 3]
    assert result.best_epoch == 0
    # asked for more epochs, it gets its patience back: three more epochs, not one
    more = resume_run(tmp_path / "run", epochs=30)
    assert more.status == "stopped_early" and more.best_epoch == 0
    assert [r["epoch"] for r in read_metrics(tmp_path / "run" / "metrics.csv")] == list(range(7))


class FakeState:
    def __init__(self, epochs=10):
        self.config = SimpleNamespace(epochs=epochs)
        self.model = torch.nn.Linear(2, 2)
        self.val_outputs = None
        self.stop_reason, self.best_epoch, self.best_outputs = "", None, None

    def request_stop(self, reason):
        self.stop_reason = reason


def test_early_stopping_callback_unit():
    es, state = EarlyStopping(patience=2, min_delta=0.01), FakeState()
    for epoch, loss in enumerate([1.0, 0.8, 0.795, 0.81]):
        es.on_epoch_end(state, {"epoch": epoch, "val_loss": loss})
    assert es.best_epoch == 1 and es.wait == 2 and state.stop_reason  # 0.795 is not better by min_delta
    restored = EarlyStopping()
    restored.load_state_dict(es.state_dict())
    assert (restored.best, restored.best_epoch, restored.wait) == (0.8, 1, 2)


def test_patience_running_out_on_the_last_epoch_is_no_early_stop():
    es, state = EarlyStopping(patience=2), FakeState(epochs=2)
    for epoch, loss in enumerate([1.0, 1.0, 1.0]):
        es.on_epoch_end(state, {"epoch": epoch, "val_loss": loss})
    assert es.wait == 2 and not state.stop_reason and es.stopped_epoch is None


def test_a_run_that_did_all_its_epochs_is_finished_not_stopped_early(shapes, cache, tmp_path):
    """Patience (3) runs out on the last of 3 epochs: every epoch ran, so the run finished."""
    result = start_run(config(shapes, cache, lr=1e-9, epochs=3, patience=3), tmp_path / "run")
    assert (result.status, result.reason) == ("finished", "all 3 epochs done")
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "finished"


def test_best_weights_tracks_and_restores_the_best_epoch():
    bw, state = BestWeights(monitor="val_top1", mode="max"), FakeState()
    for epoch, (top1, w) in enumerate([(0.2, 1.0), (0.9, 2.0), (0.5, 3.0)]):
        torch.nn.init.constant_(state.model.weight, w)
        state.val_outputs = {"logits": torch.full((1, 2), w)}
        bw.on_epoch_end(state, {"epoch": epoch, "val_top1": top1})
    assert state.best_epoch == 1 and state.best_outputs["logits"][0, 0] == 2.0 and not state.stop_reason
    bw.on_fit_end(state)
    assert torch.all(state.model.weight == 2.0)  # the best epoch's weights are back in the model


def test_stop_request_keeps_the_best_model(shapes, cache, tmp_path):
    control = Control()
    cfg = config(shapes, cache, epochs=20, patience=0)
    result = start_run(cfg, tmp_path / "run", control=control, callbacks=[StopAt(control, epoch=5)])
    assert result.status == "stopped"
    history = read_metrics(tmp_path / "run" / "metrics.csv")
    assert history[-1]["epoch"] == 4  # epoch 5 was abandoned at the next batch
    best = min(history, key=lambda r: r["val_loss"])
    assert result.best_epoch == best["epoch"]
    # the written model is the best epoch's: its validation accuracy is that epoch's
    assert result.metrics["val_top1"] == pytest.approx(best["val_top1"])
    assert Classifier.load(tmp_path / "run").classes


def test_resume_continues_the_epoch_count(shapes, cache, tmp_path):
    cfg = config(shapes, cache, epochs=6, patience=0)
    straight = start_run(cfg, tmp_path / "straight")
    control = Control()
    first = start_run(cfg, tmp_path / "run", control=control, callbacks=[StopAt(control, epoch=3)])
    assert first.status == "stopped"
    assert read_run(tmp_path / "run").can_resume
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["epoch"] == 2
    second = resume_run(tmp_path / "run")
    assert second.status == "finished"
    resumed = read_metrics(tmp_path / "run" / "metrics.csv")
    assert [r["epoch"] for r in resumed] == list(range(7))
    # same data order, optimizer and scheduler state: the resumed run matches one that never stopped
    reference = read_metrics(tmp_path / "straight" / "metrics.csv")
    for a, b in zip(resumed, reference):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
    assert second.metrics["val_top1"] == pytest.approx(straight.metrics["val_top1"])


def test_resume_a_finished_run_needs_more_epochs(shapes, cache, tmp_path):
    from training.run import RunError

    start_run(config(shapes, cache, epochs=2, patience=0), tmp_path / "run")
    with pytest.raises(RunError, match="nothing left to do"):
        resume_run(tmp_path / "run")
    more = resume_run(tmp_path / "run", epochs=4)
    assert [r["epoch"] for r in read_metrics(tmp_path / "run" / "metrics.csv")] == [0, 1, 2, 3, 4]
    assert more.status == "finished"


def test_unreadable_images_are_skipped_and_reported(shapes, tmp_path, cache):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(shapes, data)
    # passes the header check, fails when decoded: reported by the run, not fatal
    good = (data / "ring" / "ring_0000.png").read_bytes()
    (data / "ring" / "cut.png").write_bytes(good[: len(good) // 2])
    (data / "ring" / "junk.jpg").write_bytes(b"\xff\xd8 not really")
    result = start_run(config(data, cache, epochs=1), tmp_path / "run")
    pre = json.loads((tmp_path / "run" / "preflight.json").read_text())
    reported = {p.rsplit("/", 1)[-1] for p in [u["path"] for u in pre["unreadable"]] + list(result.skipped)}
    assert {"cut.png", "junk.jpg"} <= reported
    assert result.model_path is not None


def test_finetune_mode_runs_end_to_end_on_cpu(shapes, cache, tmp_path):
    pytest.importorskip("torchvision")
    cfg = config(shapes, cache, mode="finetune", epochs=1, batch_size=16, lr=1e-3, per_class=6)
    result = start_run(cfg, tmp_path / "run")
    assert result.model_path is not None
    art = load_artifact(tmp_path / "run")
    assert art.backbone_weights == {"source": "embedded"} and art.backbone_state
    assert Classifier.load(tmp_path / "run").predict([shapes / "circle" / "circle_0000.png"])[0].ok


def test_fit_without_a_run_folder(shapes, cache):
    cfg = config(shapes, cache, epochs=3, patience=0)
    split = stratified_split(preflight(shapes).samples, cfg.val_fraction, cfg.seed)
    # no callbacks at all: the result is the last epoch
    result = fit(cfg, split, control=Control())
    assert result.status == "finished" and len(result.history) == 4 and result.best_epoch == 3
    assert result.head.weight.shape == (5, 1280)
    assert result.best_outputs["logits"].shape == (len(split.val), 5)
    # with BestWeights: the epoch with the lowest validation loss (a rate this high makes things worse)
    too_fast = make_config(shapes, device="cpu", **{**_settings(cache), "epochs": 2, "lr": 20.0, "patience": 0})
    result = fit(too_fast, split, callbacks=[BestWeights()], control=Control())
    losses = [r["val_loss"] for r in result.history]
    assert result.best_epoch == 0 and min(losses) == losses[0] < losses[-1]
    outputs = result.best_outputs
    assert F.cross_entropy(outputs["logits"], outputs["targets"]).item() == pytest.approx(losses[0], rel=1e-5)


def test_finetune_starts_where_fast_mode_ends(shapes, cache):
    """LP-FT: fine-tuning first trains the head on frozen features exactly as fast mode does, so its epoch 0 (the
    untouched backbone) is the fast run's best epoch and the best epoch it keeps is never worse than fast mode."""
    pytest.importorskip("torchvision")
    settings = dict(image_size=SIZE, cache_dir=cache, decode_threads=2)
    split = stratified_split(preflight(shapes).samples, 0.25, 0)
    fast = fit(make_config(shapes, device="cpu", **settings), split,
               callbacks=[EarlyStopping(patience=3), BestWeights()], control=Control())
    fast_best = fast.history[fast.best_epoch]["val_loss"]
    tuned = fit(make_config(shapes, device="cpu", mode="finetune", epochs=1, batch_size=16, **settings), split,
                callbacks=[BestWeights()], control=Control())
    assert tuned.history[0]["val_loss"] == pytest.approx(fast_best, rel=1e-3)
    assert tuned.history[tuned.best_epoch]["val_loss"] <= fast_best * (1 + 1e-3)
    cold = fit(make_config(shapes, device="cpu", mode="finetune", epochs=1, batch_size=16, probe=False, **settings),
               split, callbacks=[BestWeights()], control=Control())
    assert cold.history[0]["val_loss"] > 1.2 * fast_best  # without the probe: an untrained head, near chance
