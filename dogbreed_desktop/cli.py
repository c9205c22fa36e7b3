"""Command line: `predict`, `evaluate` and `train` subcommands; no subcommand (or image paths only) opens the window.

Heavy imports (torch, Qt) happen inside the command that needs them, so `--help` is instant and the window
can appear before torch loads.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__

SUBCOMMANDS = ("predict", "evaluate", "train")
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dogbreed-desktop",
        description="Dog Breed Studio. With no subcommand, opens the window (with any image paths given). "
        f"Subcommands: {', '.join(SUBCOMMANDS)} (see `dogbreed-desktop SUBCOMMAND --help`).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--model", help="model artifact (.safetensors) or training run folder")
    p.add_argument("images", nargs="*", help="photos or folders to classify on start")
    return p


def _sub_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dogbreed-desktop")
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser("predict", help="classify photos and folders")
    pr.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    pr.add_argument("--model", help="model artifact (.safetensors) or training run folder (default: built-in)")
    pr.add_argument("--top-k", type=_positive_int, default=3, help="breeds to list per photo (120 = all)")
    pr.add_argument("--json", action="store_true", help="one JSON object per input, line by line")
    pr.add_argument("--batch-size", type=_positive_int, default=32)
    pr.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"))

    ev = sub.add_parser("evaluate", help="measure a model on a labelled set")
    ev.add_argument("--data", required=True, help="labels.csv + train/, one folder per class, or train/ + test/")
    ev.add_argument("--model", help="model artifact or training run folder (default: built-in)")
    ev.add_argument("--json", action="store_true", help="print the whole report as JSON")
    ev.add_argument("--per-class", type=_positive_int, help="use only the first N images of each class")
    ev.add_argument("--subset", help="for an already split set: only this subset (train or val)")
    ev.add_argument("--batch-size", type=_positive_int, default=32)
    ev.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"))

    tr = sub.add_parser("train", help="retrain by transfer learning (headless)")
    from training.cli import add_arguments

    add_arguments(tr)
    return p


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"dogbreed-desktop: error: {message}", file=sys.stderr)
    return code


def _load_classifier(model: str | None, device: str):
    from .core.artifact import ArtifactError
    from .core.backbones import BackboneUnavailable
    from .core.classifier import Classifier

    try:
        return Classifier.load(model, device=device)
    except (ArtifactError, BackboneUnavailable, RuntimeError) as e:
        raise SystemExit(_fail(f"cannot load model: {e}"))


def _progress(total: int, enabled: bool):
    """A Control that draws a tqdm bar on stderr (only on a terminal)."""
    from tqdm import tqdm

    from .core.control import Control

    class TqdmControl(Control):
        def __init__(self):
            super().__init__()
            self.bar = tqdm(total=total, unit="img", disable=not enabled, file=sys.stderr, leave=False)

        def progress(self, done, total, message=""):
            self.bar.update(done - self.bar.n)

    return TqdmControl()


def cmd_predict(args) -> int:
    from .core.classifier import PredictionError, collect_images

    paths = collect_images(args.paths)
    if not paths:
        return _fail("no image files found in the given folders", EXIT_SOME_FAILED)
    clf = _load_classifier(args.model, args.device)
    control = _progress(len(paths), sys.stderr.isatty() and not args.json)
    failed = 0
    width = min(60, max(len(str(p)) for p in paths))
    try:
        for r in clf.iter_predict(paths, top_k=args.top_k, batch_size=args.batch_size, control=control):
            if isinstance(r, PredictionError):
                failed += 1
                line = json.dumps({"path": r.source, "error": r.error}) if args.json else f"{r.source:<{width}}  ERROR: {r.error}"
            elif args.json:
                top = [{"breed": s.breed, "name": s.name, "probability": round(s.probability, 6)} for s in r.top_k]
                line = json.dumps({"path": r.source, "breed": r.breed, "name": r.name,
                                   "probability": round(r.probability, 6), "top_k": top})
            else:
                rest = ", ".join(f"{s.name} {s.probability:.1%}" for s in r.top_k[1:])
                line = f"{r.source:<{width}}  {r.name:<30} {r.probability:6.1%}" + (f"   ({rest})" if rest else "")
            control.bar.clear()
            print(line, flush=True)
    finally:
        control.bar.close()
    return EXIT_SOME_FAILED if failed else EXIT_OK


def cmd_evaluate(args) -> int:
    from .core.datasets import DatasetError, load_labelled_set, take_per_class
    from .core.evaluation import evaluate

    try:
        data = load_labelled_set(args.data)
    except DatasetError as e:
        return _fail(str(e))
    items = data.items
    if args.subset:
        items = [i for i in items if i.subset == args.subset]
    if args.per_class:
        items = take_per_class(items, args.per_class)
    if not items:
        return _fail("no images selected")
    clf = _load_classifier(args.model, args.device)
    control = _progress(len(items), sys.stderr.isatty())
    try:
        rep = evaluate(clf, items, batch_size=args.batch_size, control=control)
    finally:
        control.bar.close()
    rep["data"] = str(data.root)
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(format_report(rep))
    return EXIT_SOME_FAILED if rep["errors"] else EXIT_OK


def format_report(rep: dict) -> str:
    lines = [
        f"model:    {rep['model']}",
        f"data:     {rep['data']}  ({rep['n']} images scored, {len(rep['errors'])} unreadable)",
        f"top-1:    {rep['top1']:.2%}",
        f"top-5:    {rep['top5']:.2%}",
        f"log loss: {rep['log_loss']:.4f}",
        f"ECE:      {rep['ece']:.4f}",
    ]
    if rep["unknown_labels"]:
        lines.append(f"skipped labels the model does not know: {', '.join(rep['unknown_labels'][:10])}")
    per = sorted(rep["per_class_accuracy"].items(), key=lambda kv: kv[1])
    if per:
        lines.append("weakest classes:  " + ", ".join(f"{c} {a:.0%}" for c, a in per[:8]))
    if rep["most_confused"]:
        lines.append("most confused (true -> predicted):")
        lines += [f"  {p['true']} -> {p['predicted']}: {p['count']}" for p in rep["most_confused"]]
    for e in rep["errors"]:
        lines.append(f"unreadable: {e['path']}: {e['error']}")
    return "\n".join(lines)


def cmd_gui(args) -> int:
    from .gui.app import run

    return run([str(p) for p in args.images], model=args.model)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            args = _sub_parser().parse_args(argv)
            if args.command == "train":
                from training.cli import run_train

                return run_train(args)
            return {"predict": cmd_predict, "evaluate": cmd_evaluate}[args.command](args)
        return cmd_gui(_gui_parser().parse_args(argv))
    except SystemExit as e:  # argparse and _load_classifier exit this way
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
