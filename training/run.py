"""A training run folder, start to finish: what the GUI and the CLI both call. The folder's files are listed
in `runfolder.py` (which reads them without torch).

`predict --model RUN` and the app's File > Open model accept the folder (paths.MODEL_FILENAME).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from dogbreed_desktop.core.model.artifact import ModelArtifact, save_artifact
from dogbreed_desktop.core.files import saving
from dogbreed_desktop.core.torch.backbones import backbone_spec, backbone_state
from dogbreed_desktop.core.control import Control, Stopped
from dogbreed_desktop.core.devices import describe_device, resolve_device
from dogbreed_desktop.core.errors import describe
from dogbreed_desktop.core.torch.heads import head_start
from dogbreed_desktop.core.evaluate.metrics import report
from dogbreed_desktop.core.torch.temperature import fit_temperature
from dogbreed_desktop.paths import MODEL_FILENAME

from .callbacks import BestWeights, Callback, Checkpointer, EarlyStopping, MetricsLogger
from .config import TrainConfig, with_lr
from .distributed import Dist
from .loop import fit
from .preflight import PreflightReport, preflight
from .recover import check_images, read_checkpoint, result_from_checkpoint
from .run_records import environment, mark_interrupted, now, write_json, write_status
from .runfolder import RunError, RunStatus, out_dir_problem, read_status
from .split import SPLIT_FILENAME, Split, organise, read_split, stratified_split, write_split
from .state import FitResult

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_dir: Path
    status: str
    reason: str
    best_epoch: int | None
    metrics: dict  # the final model's validation metrics (empty when no model was written)
    model_path: Path | None
    skipped: dict[str, str]


def start_run(
    config: TrainConfig,
    run_dir: Path,
    *,
    control: Control | None = None,
    callbacks: Sequence[Callback] = (),
    report: PreflightReport | None = None,
    device: torch.device | None = None,
    dist: Dist | None = None,
) -> RunResult:
    """Check the data, split it, write the run folder and train. `device` is resolved from the config when
    not given. Raises RunError (bad folder or data), core DatasetError, BackboneUnavailable.

    Under torchrun (`dist`) rank 0 writes the folder and hands the config and split to the other ranks."""
    run_dir = Path(run_dir).absolute()
    d = dist or Dist()
    control = control or Control()
    device = device or resolve_device(config.device)
    prepared = d.on_main(lambda: _prepare(config, run_dir, control, report, device, d))
    if isinstance(prepared, RunResult):  # stopped while checking the data
        return prepared
    config, split = prepared
    return _execute(run_dir, config, split, control=control, callbacks=callbacks, device=device, dist=d)


def _prepare(config: TrainConfig, run_dir: Path, control: Control, report, device, d: Dist):
    """Write the run folder: (config with its learning rate decided, split), or a stopped RunResult."""
    problem = out_dir_problem(run_dir)  # missing, empty or ours: never a folder of the user's files
    if problem:
        raise RunError(problem)
    if report is not None and report.ok:  # a head that cannot start fails here, before a run folder exists
        head_start(report.classes, config.head_init)
    with saving(run_dir / "status.json"):
        run_dir.mkdir(parents=True, exist_ok=True)
    write_status(run_dir, RunStatus.RUNNING, "checking the data", started=now())
    try:
        if report is None:
            report = preflight(config.data, control=control, per_class=config.per_class)
        write_json(run_dir / "preflight.json", report.to_dict())
        if not report.ok:
            raise RunError("; ".join(report.problems()) or "not enough data to train")
        split = stratified_split(report.samples, config.val_fraction, config.seed)
        if not split.val:
            raise RunError("the validation split is empty: each class needs at least two images")
        config = with_lr(config, head_start(split.classes, config.head_init))
        write_split(split, run_dir / SPLIT_FILENAME)
        if config.organise != "none":
            organise(split, run_dir / "organised", config.organise)
        config.save(run_dir / "config.json")
        write_json(run_dir / "environment.json", environment(device, d))
    except Stopped as e:
        write_status(run_dir, RunStatus.STOPPED, str(e))
        return RunResult(run_dir, RunStatus.STOPPED, str(e), None, {}, None, {})
    except BaseException as e:
        mark_interrupted(run_dir, e)
        raise
    return config, split


def resume_run(run_dir: Path, *, control: Control | None = None, callbacks: Sequence[Callback] = (),
               epochs: int | None = None, device: torch.device | None = None, dist: Dist | None = None) -> RunResult:
    """Continue a run from its last checkpoint (after a crash, a stop, or to add epochs). Under torchrun rank 0
    reads the folder and hands config, split and checkpoint to the others (no shared disk needed)."""
    run_dir = Path(run_dir)
    d = dist or Dist()
    control = control or Control()
    prepared = d.on_main(lambda: _prepare_resume(run_dir, epochs, device, d))
    if isinstance(prepared, RunResult):  # its epochs were all done: only its model was missing
        return prepared
    config, split, ckpt, previous = prepared
    device = device or resolve_device(config.device)
    # A run that had stopped early gets its patience back: more epochs were asked for.
    return _execute(run_dir, config, split, control=control, callbacks=callbacks, device=device, resume=ckpt,
                    fresh_patience=previous == RunStatus.STOPPED_EARLY, dist=d)


def _prepare_resume(run_dir: Path, epochs: int | None, device, d: Dist):
    if not (run_dir / "config.json").exists():
        raise RunError(f"{run_dir} is not a training run folder (no config.json)")
    if read_status(run_dir).get("status") == RunStatus.RUNNING:
        raise RunError(f"{run_dir.name} is still training in another process")
    config = TrainConfig.load(run_dir / "config.json")
    if epochs is not None and epochs != config.epochs:
        config = config.replace(epochs=epochs)
        config.save(run_dir / "config.json")
    split = read_split(run_dir / SPLIT_FILENAME)
    ckpt_path = run_dir / Checkpointer.FILENAME
    ckpt = read_checkpoint(ckpt_path) if ckpt_path.exists() else None
    device = device or resolve_device(config.device)
    previous = read_status(run_dir).get("status")
    if ckpt is not None:
        done = int(ckpt["epoch"])
        if done >= config.epochs or (previous == RunStatus.STOPPED_EARLY and epochs is None):
            if not (run_dir / MODEL_FILENAME).exists():
                # Killed after its last checkpoint but before the model was written: write it now.
                return finish_from_checkpoint(run_dir, config, ckpt, device)
            raise RunError(f"{run_dir.name} has nothing left to do ({done} of {config.epochs} epochs, "
                           f"{RunStatus.describe(previous)}); ask for more epochs to continue it")
    check_images(split, run_dir)
    write_json(run_dir / "environment.json", environment(device, d))
    return config, split, ckpt, previous


def finish_from_checkpoint(run_dir: Path, config: TrainConfig, ckpt: dict, device: torch.device) -> RunResult:
    """The model of a run whose epochs are all done, written from its last checkpoint's best weights."""
    result = result_from_checkpoint(run_dir, config, ckpt, device)
    try:
        model_path, metrics = write_model(run_dir, config, result)
        write_status(run_dir, result.status, result.reason, best_epoch=result.best_epoch, metrics=metrics,
                     finished=now())
    except BaseException as e:
        mark_interrupted(run_dir, e)
        raise
    return RunResult(run_dir, result.status, result.reason, result.best_epoch, metrics, model_path, {})


def _execute(run_dir, config, split: Split, *, control, callbacks, device, resume=None,
             fresh_patience=False, dist=None) -> RunResult:
    d = dist or Dist()
    main = d.main  # only rank 0 writes the folder; every rank tracks the best epoch and early stopping alike
    if main:
        write_status(run_dir, RunStatus.RUNNING, "training", started=now(), device=describe_device(device),
                     world_size=d.world_size)
    own = [
        BestWeights("val_loss", "min", min_delta=config.min_delta),
        MetricsLogger(run_dir / "metrics.csv"),
        EarlyStopping("val_loss", "min", patience=config.patience, min_delta=config.min_delta,
                      fresh_patience=fresh_patience),
        Checkpointer(run_dir / Checkpointer.FILENAME),
    ]
    own = own if main else [c for c in own if isinstance(c, (BestWeights, EarlyStopping))]
    try:
        result = fit(config, split, callbacks=own + list(callbacks), control=control, device=device, resume=resume,
                     dist=d)
        if not main:
            return RunResult(run_dir, result.status, result.reason, result.best_epoch, {}, None, result.skipped)
        if result.skipped:
            write_json(run_dir / "skipped.json", result.skipped)
        model_path, metrics = None, {}
        if result.best_outputs is not None:
            model_path, metrics = write_model(run_dir, config, result, control)
        write_status(run_dir, result.status, result.reason, best_epoch=result.best_epoch, metrics=metrics,
                     finished=now())
    except BaseException as e:
        if main:
            mark_interrupted(run_dir, e)
        raise
    return RunResult(run_dir, result.status, result.reason, result.best_epoch, metrics, model_path, result.skipped)


def write_model(run_dir: Path, config: TrainConfig, result: FitResult,
                control: Control | None = None) -> tuple[Path, dict]:
    """The inference artifact: best weights, temperature fitted on the best epoch's validation logits."""
    logits, targets = result.best_outputs["logits"], result.best_outputs["targets"]
    temperature = fit_temperature(logits, targets)
    rep = report(torch.softmax(logits / temperature, dim=1).cpu(), targets.cpu(), result.classes)
    base = result.history[0] if result.history and result.history[0]["epoch"] == 0 else {}
    metrics = {
        "val_top1": rep["top1"], "val_top5": rep["top5"], "val_log_loss": rep["log_loss"], "val_ece": rep["ece"],
        "val_images": rep["n"], "best_epoch": result.best_epoch, "start_val_top1": base.get("val_top1"),
        "epochs_run": max((r["epoch"] for r in result.history), default=0),
    }
    spec = backbone_spec(config.backbone)
    if result.backbone_trained:
        weights, state = {"source": "embedded"}, backbone_state(result.backbone.cpu())
    else:
        weights, state = spec.weights_reference(), None
    from dogbreed_desktop import __version__

    artifact = ModelArtifact(
        backbone=config.backbone,
        classes=list(result.classes),
        preprocessing=result.preprocessing,
        head_weight=result.head.weight.detach().cpu(),
        head_bias=result.head.bias.detach().cpu(),
        backbone_weights=weights,
        backbone_state=state,
        temperature=temperature,
        name=f"{spec.title} {config.mode} ({Path(run_dir).name})",
        metrics=metrics,
        provenance={
            "data": str(config.data),
            "run": str(run_dir),
            "mode": config.mode,
            "head_init": result.head_init,
            "config": config.to_dict(),
            "created": now(),
            "app_version": __version__,
            "torch": torch.__version__,
            "device": describe_device(result.device),
        },
    )
    path = save_artifact(artifact, Path(run_dir) / MODEL_FILENAME)
    if result.backbone_trained:
        from dogbreed_desktop.core.model.artifact import load_artifact
        from dogbreed_desktop.core.engine.graph_making import write_graph_beside

        control = control or Control()
        control.progress(0, 1, "writing the ONNX graph")
        try:  # `<stem>.backbone.onnx`: it classifies without torch (seconds, from the backbone's template graph)
            write_graph_beside(load_artifact(path))
            control.progress(1, 1, "writing the ONNX graph")
        except Exception as e:  # the model is saved: the app makes the graph in its cache when it first loads it
            log.warning("no ONNX graph written beside %s: %s", path, describe(e))
    return path, metrics
