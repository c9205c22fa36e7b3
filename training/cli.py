"""`dogbreed-desktop train`: headless retraining for workstations over ssh.

    dogbreed-desktop train --data DIR [--out RUN] [--backbone NAME] [--mode auto|fast|top|finetune] ...
    dogbreed-desktop train --resume RUN [--epochs N]
    dogbreed-desktop train --gpus N ...                       (starts torchrun: one process per GPU)
    torchrun --nproc-per-node N -m dogbreed_desktop train ... (the same, or across nodes)
    dogbreed-desktop train --progress json ...                (JSON lines for programs: training/jsonlines.py)

Ctrl-C or SIGTERM stops at the next batch and keeps the best model so far; a second Ctrl-C aborts.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
from pathlib import Path

from dogbreed_desktop.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, TqdmControl, fail

from .config import asked_default, settings
from .options import config_values


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
    """(control, say, callback, fail) for the chosen --progress: tqdm bars and epoch lines, or JSON lines
    (human-readable lines then go to stderr). Ranks other than 0 of a distributed run stay quiet."""
    if not main_rank:
        from dogbreed_desktop.core.control import Control

        class Quiet(Control):
            def close(self) -> None:
                pass

        return Quiet(), lambda line: None, None, fail
    if args.progress == "json":
        from .jsonlines import JsonControl, json_events, watch_stdin

        control = JsonControl()
        watch_stdin(control)

        def fail_json(message: str, code: int = EXIT_USAGE) -> int:
            control.out.emit("error", message=message, exit_code=code)
            return fail(message, code)

        return control, control.write, json_events(control), fail_json
    control = TqdmControl(enabled=not args.quiet and sys.stderr.isatty())
    return control, lambda line: print(line, flush=True), None, fail


def _cache_note(folder: Path, config, device_type: str) -> str | None:
    """Why the existing feature cache for this config will be recomputed, if it will."""
    from .config import preprocessing_for
    from .features import FeatureCache, cache_problem, extraction_engine

    engine = extraction_engine(config.backbone, device_type)
    path = FeatureCache.path_for(folder, config.backbone, preprocessing_for(config), engine)
    return cache_problem(path, config.backbone) if path.exists() else None


def run_train(args) -> int:
    from dogbreed_desktop.cli.common import printable
    from dogbreed_desktop.core.control import Stopped
    from dogbreed_desktop.core.devices import describe_device, resolve_device
    from dogbreed_desktop.core.errors import UserError
    from dogbreed_desktop.paths import cache_dir, runs_dir

    from .config import TrainConfig, make_config
    from .distributed import from_env, init_distributed, shutdown_distributed, watch_parent
    from .launch import gpus_problem, launch, train_argv
    from .preflight import preflight, read_checks
    from .run import resume_run, start_run
    from .runfolder import new_run_dir, out_dir_problem, writable_folder_problem

    under_torchrun = from_env().enabled
    control, say, events, fail = _reporting(args, main_rank=from_env().main)
    if not args.resume and not args.data:
        return fail("give --data DIR to start a run, or --resume RUN to continue one")
    if args.gpus > 1 and not under_torchrun:
        problem = gpus_problem(args.gpus, args.device or "auto")
        return fail(problem) if problem else launch(args.gpus, train_argv())
    # Absolute from here on: the run folder stores these and must mean the same from any working folder.
    values = config_values(args)
    for key in ("data", "cache_dir"):
        if values.get(key):
            values[key] = str(Path(values[key]).expanduser().absolute())
    out = str(Path(args.out).expanduser().absolute()) if args.out else None
    try:
        if args.resume:
            config = TrainConfig.load(Path(args.resume) / "config.json")
            device = resolve_device(config.device)
        else:
            device = resolve_device(values.get("device", asked_default(settings()["device"])))  # "auto"
            config = make_config(device_type=device.type, **values)
    except FileNotFoundError:
        return fail(f"{args.resume} is not a training run folder (no config.json)")
    except (UserError, OSError, ValueError, TypeError) as e:
        return fail(str(e) if not args.resume else f"{args.resume}/config.json cannot be used ({e})")
    d = init_distributed(device) if under_torchrun else from_env()
    device = d.device(device)
    if d.enabled:
        watch_parent(control)
    run_dir = Path(d.broadcast(args.resume or out or str(new_run_dir(runs_dir(), config.backbone))))
    # Checked before anything is read or computed: a bad --out or an unwritable cache found after an hour of
    # feature extraction loses that hour.
    problem = None if args.resume or not d.main else out_dir_problem(run_dir)
    features = Path(config.cache_dir) if config.cache_dir else cache_dir() / "features"
    caches = {}  # what this run writes: features in fast mode and for the others' probe; activations in top
    if config.mode == "fast" or (config.probe and not args.resume):  # a resumed run has its head already
        caches["feature"] = features
    if config.mode == "top":
        caches["activation"] = features / "activations" if config.cache_dir else cache_dir() / "activations"
    if not problem:
        problem = next(filter(None, map(writable_folder_problem, caches.values())), None)
        note = None if problem or "feature" not in caches else _cache_note(features, config, device.type)
        if note:
            say(f"note: {note}")
    if problem:
        return fail(problem)
    _install_stop_handlers(control, say)
    if events is not None:
        control.out.emit("start", schema=1, run_dir=str(run_dir), resume=bool(args.resume), pid=os.getpid(),
                         world_size=d.world_size)
        control.out.emit("config", mode=config.mode, backbone=config.backbone, device=describe_device(device))
    say(f"{'resuming' if args.resume else 'run'}: {run_dir}")
    say(f"mode: {config.mode}   backbone: {config.backbone}   device: {describe_device(device)}")
    for kind, folder in caches.items():
        say(f"{kind} cache: {folder}")
    callbacks = [events or _epoch_printer(control, args.epochs or config.epochs)] if d.main else []
    try:
        if args.resume:
            result = resume_run(run_dir, control=control, callbacks=callbacks, epochs=args.epochs, device=device,
                                dist=d)
        else:
            # rank 0 reads every file once; the others get its report (or its stop)
            report = None
            if d.main:
                try:
                    known = read_checks(args.checks) if args.checks else None
                    report = preflight(config.data, control=control, per_class=config.per_class, known=known)
                except Stopped as e:
                    report = e
            report = d.broadcast(report)
            if isinstance(report, Stopped):
                return fail(str(report), EXIT_FAILED)
            control.close()
            for line in report.summary().splitlines():
                say(printable(line))  # file names may hold escape codes
            if report.reused:
                say(f"{report.reused} of {len(report.checks)} files unchanged since the --checks file: not read again")
            if events is not None:
                control.out.emit("preflight", summary=report.summary(), images=len(report.samples),
                                 classes=len(report.classes), reused=report.reused)
            if not report.ok:
                return fail("; ".join(report.problems()), EXIT_FAILED)
            result = start_run(config, run_dir, control=control, callbacks=callbacks, report=report, device=device,
                               dist=d)
    except (UserError, Stopped, OSError) as e:
        return fail(str(e), EXIT_FAILED)
    finally:
        control.close()
        shutdown_distributed()
    if not d.main:
        return EXIT_OK
    return _report_result(result, run_dir, control, say, events is not None, _peak_memory_mib(device))


def _peak_memory_mib(device) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def _report_result(result, run_dir: Path, control, say, json_mode: bool, peak_mib: float | None = None) -> int:
    from .runfolder import RunStatus

    if json_mode:
        control.out.emit("result", run_dir=str(run_dir), status=str(result.status), reason=result.reason,
                         best_epoch=result.best_epoch, metrics=result.metrics,
                         model_path=str(result.model_path) if result.model_path else None, skipped=result.skipped,
                         peak_device_memory_mib=peak_mib)
    say(f"{RunStatus.describe(result.status)}: {result.reason}")
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
    say(f"use it: dogbreed-desktop predict --model {_shell_quoted(str(run_dir))} PHOTO...")
    return EXIT_OK


def _shell_quoted(text: str) -> str:
    """`text` as one word of a command to paste into this platform's shell (unchanged when it needs no quotes)."""
    if os.name == "nt":
        import subprocess

        return subprocess.list2cmdline([text])
    import shlex

    return shlex.quote(text)
