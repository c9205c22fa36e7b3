"""`dogbreed-desktop predict`: classify photos and folders, as a table or JSON lines."""

from __future__ import annotations

import sys

from ..core.devices import DEVICES
from .common import EXIT_OK, EXIT_SOME_FAILED, dumps, fail, load_classifier, positive_int, printable, progress

HELP = "classify photos and folders"


def add_arguments(pr) -> None:
    pr.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    pr.add_argument("--model", help="model artifact (.safetensors) or training run folder (default: built-in)")
    pr.add_argument("--top-k", type=positive_int, default=3, help="breeds to list per photo (120 = all)")
    pr.add_argument("--json", action="store_true", help="one JSON object per input, line by line")
    pr.add_argument("--batch-size", type=positive_int, default=32)
    pr.add_argument("--device", default="cpu", choices=list(DEVICES))


def run(args) -> int:
    from ..core.classifier import PredictionError, collect_images

    paths = collect_images(args.paths)
    if not paths:
        return fail("no image files found in the given folders", EXIT_SOME_FAILED)
    clf = load_classifier(args.model, args.device)
    control = progress(len(paths), sys.stderr.isatty() and not args.json)
    failed = 0
    width = min(60, max(len(printable(str(p))) for p in paths))
    try:
        for r in clf.iter_predict(paths, top_k=args.top_k, batch_size=args.batch_size, control=control):
            if isinstance(r, PredictionError):
                failed += 1
                line = (dumps({"path": r.source, "error": r.error}) if args.json
                        else f"{printable(r.source):<{width}}  ERROR: {printable(r.error)}")
            elif args.json:
                top = [{"breed": s.breed, "name": s.name, "probability": round(s.probability, 6)} for s in r.top_k]
                line = dumps({"path": r.source, "breed": r.breed, "name": r.name,
                                   "probability": round(r.probability, 6), "top_k": top})
            else:
                rest = ", ".join(f"{printable(s.name)} {s.probability:.1%}" for s in r.top_k[1:])
                line = (f"{printable(r.source):<{width}}  {printable(r.name):<30} {r.probability:6.1%}"
                        + (f"   ({rest})" if rest else ""))
            control.bar.clear()
            print(line, flush=True)
    finally:
        control.bar.close()
    return EXIT_SOME_FAILED if failed else EXIT_OK
