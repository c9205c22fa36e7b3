"""`dogbreed-desktop train`: headless retraining for workstations over ssh.

    dogbreed-desktop train --data DIR [--out RUN] [--backbone NAME] [--mode auto|fast|finetune] ...
    dogbreed-desktop train --resume RUN [--epochs N]
    dogbreed-desktop train --gpus N ...                       (starts torchrun: one process per GPU)
    torchrun --nproc-per-node N -m dogbreed_desktop train ... (the same, or across nodes)

Ctrl-C or SIGTERM stops at the next batch and keeps the best model so far; a second Ctrl-C aborts.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from pathlib import Path

from .config import DEVICES, MODES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1, e.g. 0.25")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    from dogbreed_desktop.core.backbones import BACKBONES

    p.description = ("Retrain by transfer learning. fast: frozen backbone, features cached on disk, head trained "
                     "in seconds per epoch. finetune: end to end with augmentation (for GPUs). Ctrl-C stops at "
                     "the next batch and keeps the best model.")
    p.add_argument("--data", help="labels.csv + train/, one folder per class, or train/ + test/")
    p.add_argument("--out", help="run folder to create (default: a new folder in the app's runs folder)")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint")
    p.add_argument("--backbone", default="efficientnet_lite0", choices=list(BACKBONES),
                   help="feature extractor (efficientnet_lite0/1/2 work offline)")
    p.add_argument("--mode", default="auto", choices=MODES, help="auto: finetune on a GPU, fast on a CPU")
    p.add_argument("--epochs", type=_positive_int, help="most epochs to run (fast 50, finetune 10)")
    p.add_argument("--batch-size", type=_positive_int, help="fast 128, finetune 32")
    p.add_argument("--lr", type=float, help="head learning rate (default: fast 1e-4 from the ImageNet dog rows, "
                   "1e-3 from scratch; finetune 3e-4 / 1e-3)")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--backbone-lr-scale", type=float, help="finetune: backbone lr = lr x this (0.1)")
    p.add_argument("--val-fraction", type=_fraction, default=0.25, help="share of each class kept for validation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patience", type=int, default=3, help="epochs without a better validation loss (0 = never stop)")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--per-class", type=_positive_int, help="use only the first N images of each class")
    p.add_argument("--image-size", type=int, help="input size override (default: the backbone's own)")
    p.add_argument("--head-init", default="auto", choices=("auto", "imagenet", "random"),
                   help="auto: the backbone's ImageNet rows when the classes are the 120 ImageNet dog breeds")
    p.add_argument("--cache-dir", help="feature cache folder (default: the app's cache)")
    p.add_argument("--organise", default="none", choices=("none", "link", "copy"),
                   help="also write RUN/organised/train/<class>/ and test/<class>/ (links or copies)")
    p.add_argument("--gpus", type=_positive_int, default=1,
                   help="train on N GPUs of this machine with DistributedDataParallel (starts torchrun; with "
                        "--device cpu, N CPU processes)")
    p.add_argument("--decode-threads", type=_positive_int, help="threads decoding images (4)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only epoch lines")
    p.add_argument("--progress", default="bar", choices=("bar", "json"),
                   help="bar: tqdm bars and epoch lines (default); json: one JSON object per line on stdout for "
                        "other programs (schema in training/jsonlines.py and the README), `stop` on stdin stops")


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"dogbreed-desktop train: error: {message}", file=sys.stderr)
    return code


def _control(show_bars: bool):
    from tqdm import tqdm

    from dogbreed_desktop.core.control import Control

    class TqdmControl(Control):
        """One bar per phase (checking images, extracting features, training), with rate and ETA."""

        def __init__(self):
            super().__init__()
            self.bar = None
            self.phase = None

        def progress(self, done, total, message=""):
            if not show_bars:
                return
            if message != self.phase or self.bar is None or self.bar.total != total:
                self.close()
                unit = "batch" if message == "training" else "img"
                self.bar = tqdm(total=total, desc=message, unit=unit, file=sys.stderr, leave=False,
                                dynamic_ncols=True, mininterval=0.2)
                self.phase = message
            self.bar.update(done - self.bar.n)

        def write(self, line: str) -> None:
            if self.bar is not None:
                self.bar.clear()
            print(line, flush=True)
            if self.bar is not None:
                self.bar.refresh()

        def close(self):
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return TqdmControl()


def _epoch_printer(control, epochs: int):
    from .callbacks import Callback

    def pct(v):
        return "  -  " if v is None or math.isnan(v) else f"{v:6.2%}"

    class PrintEpochs(Callback):
        order = 50  # after the best epoch is known

        def on_epoch_end(self, state, m):
            star = " *" if state.best_epoch == m["epoch"] else ""
            train = "   -   " if math.isnan(m["train_loss"]) else f"{m['train_loss']:.4f}"
            what = "start" if m["epoch"] == 0 else f"{m['epoch']:>3}/{epochs}"
            control.write(f"epoch {what}  train loss {train}  val loss {m['val_loss']:.4f}  "
                          f"top-1 {pct(m['val_top1'])}  top-5 {pct(m['val_top5'])}  lr {m['lr']:.2e}  "
                          f"{m['seconds']:.1f}s{star}")

    return PrintEpochs()


def _install_stop_handlers(control, say) -> None:
    """SIGINT/SIGTERM ask the loop to stop at the next batch; a second Ctrl-C aborts at once (a repeated
    SIGTERM, as torchrun sends when it shuts its workers down, does not)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, frame):
        if control.should_stop():
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        control.stop()
        say("\nstopping after this batch and keeping the best model (Ctrl-C again to abort)")

    signal.signal(signal.SIGINT, handler)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, handler)


def _reporting(args, main_rank: bool = True):
    """(control, say, callback, fail) for the chosen --progress: tqdm bars and epoch lines, or JSON lines.
    Ranks other than 0 of a distributed run stay quiet (errors still go to stderr)."""
    if not main_rank:
        from dogbreed_desktop.core.control import Control

        class Quiet(Control):
            def close(self) -> None:
                pass

        return Quiet(), lambda line: None, None, _fail
    if args.progress == "json":
        from .jsonlines import JsonControl, json_events, watch_stdin

        control = JsonControl()
        watch_stdin(control)

        def fail(message: str, code: int = EXIT_USAGE) -> int:
            control.out.emit("error", message=message, exit_code=code)
            return _fail(message, code)

        return control, control.write, json_events(control), fail
    control = _control(show_bars=not args.quiet and sys.stderr.isatty())
    return control, lambda line: print(line, flush=True), None, _fail


def run_train(args) -> int:
    from dogbreed_desktop.core.backbones import BackboneUnavailable
    from dogbreed_desktop.core.control import Stopped
    from dogbreed_desktop.core.datasets import DatasetError
    from dogbreed_desktop.core.devices import describe_device, resolve_device
    from dogbreed_desktop.paths import cache_dir, runs_dir

    from .augment import FinetuneUnavailable
    from .config import ConfigError, TrainConfig, make_config
    from .distributed import from_env, init_distributed, shutdown_distributed, watch_parent
    from .launch import gpus_problem, launch, train_argv
    from .run import RunError, resume_run, start_run
    from .runfolder import new_run_dir

    under_torchrun = from_env().enabled
    control, say, events, fail = _reporting(args, main_rank=from_env().main)
    if not args.resume and not args.data:
        return fail("give --data DIR to start a run, or --resume RUN to continue one")
    if args.gpus > 1 and not under_torchrun:
        problem = gpus_problem(args.gpus, args.device)
        return fail(problem) if problem else launch(args.gpus, train_argv())
    try:
        if args.resume:
            config = TrainConfig.load(Path(args.resume) / "config.json")
            device = resolve_device(config.device)
        else:
            device = resolve_device(args.device)
            config = make_config(
                args.data, mode=args.mode, device=args.device, device_type=device.type, backbone=args.backbone,
                epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                label_smoothing=args.label_smoothing, backbone_lr_scale=args.backbone_lr_scale,
                val_fraction=args.val_fraction, seed=args.seed, patience=args.patience, head_init=args.head_init,
                image_size=args.image_size, per_class=args.per_class, cache_dir=args.cache_dir,
                organise=args.organise, decode_threads=args.decode_threads,
            )
    except (ConfigError, RuntimeError, OSError, ValueError) as e:
        return fail(str(e))
    d = init_distributed(device) if under_torchrun else from_env()
    device = d.device(device)
    if d.enabled:
        watch_parent(control)
    run_dir = Path(d.broadcast(args.resume or args.out or str(new_run_dir(runs_dir(), config.backbone))))
    _install_stop_handlers(control, say)
    epochs = args.epochs if args.resume else config.epochs
    if events is not None:
        control.out.emit("start", schema=1, run_dir=str(run_dir), resume=bool(args.resume), pid=os.getpid(),
                         world_size=d.world_size)
        control.out.emit("config", mode=config.mode, backbone=config.backbone, device=describe_device(device))
    say(f"{'resuming' if args.resume else 'run'}: {run_dir}")
    say(f"mode: {config.mode}   backbone: {config.backbone}   device: {describe_device(device)}")
    if config.mode == "fast":
        say(f"feature cache: {config.cache_dir or cache_dir() / 'features'}")
    callbacks = [events or _epoch_printer(control, epochs or config.epochs)] if d.main else []
    try:
        if args.resume:
            result = resume_run(run_dir, control=control, callbacks=callbacks, epochs=args.epochs, device=device,
                                dist=d)
        else:
            from .preflight import preflight

            # rank 0 reads every file once; the others get its report (or its stop)
            report = None
            if d.main:
                try:
                    report = preflight(config.data, control=control, per_class=config.per_class)
                except Stopped as e:
                    report = e
            report = d.broadcast(report)
            if isinstance(report, Stopped):
                return fail(str(report), EXIT_FAILED)
            control.close()
            say(report.summary())
            if events is not None:
                control.out.emit("preflight", summary=report.summary(), images=len(report.samples),
                                 classes=len(report.classes))
            result = start_run(config, run_dir, control=control, callbacks=callbacks, report=report, device=device,
                               dist=d)
    except (RunError, DatasetError, BackboneUnavailable, FinetuneUnavailable, ConfigError) as e:
        control.close()
        return fail(str(e), EXIT_FAILED)
    finally:
        control.close()
        shutdown_distributed()
    if not d.main:
        return EXIT_OK
    peak = _peak_memory_mib(device)
    return _report_result(result, run_dir, control, say, events is not None, peak)


def _peak_memory_mib(device) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def _report_result(result, run_dir: Path, control, say, json_mode: bool, peak_mib: float | None = None) -> int:
    from .runfolder import STATUS_TEXT

    if json_mode:
        control.out.emit("result", run_dir=str(run_dir), status=result.status, reason=result.reason,
                         best_epoch=result.best_epoch, metrics=result.metrics,
                         model_path=str(result.model_path) if result.model_path else None, skipped=result.skipped,
                         peak_device_memory_mib=peak_mib)
    say(f"{STATUS_TEXT[result.status]}: {result.reason}")
    if result.skipped:
        say(f"skipped {len(result.skipped)} unreadable image(s), listed in {run_dir / 'skipped.json'}")
    if result.model_path is None:
        say("no model was written (stopped before the first validation)")
        return EXIT_FAILED
    m = result.metrics
    start = m.get("start_val_top1")
    gain = f" (start {start:.2%})" if start is not None else ""
    say(f"best epoch {result.best_epoch}: validation top-1 {m['val_top1']:.2%}{gain}, top-5 {m['val_top5']:.2%}, "
        f"ECE {m['val_ece']:.3f} on {m['val_images']} images")
    say(f"model: {result.model_path}")
    say(f"use it: dogbreed-desktop predict --model {run_dir} PHOTO...")
    return EXIT_OK
