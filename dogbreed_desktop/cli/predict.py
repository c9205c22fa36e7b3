"""`dogbreed-desktop predict`: classify photos and folders, as a table or JSON lines."""

from __future__ import annotations

import sys

from ..core.devices import DEVICES
from ..core.jsonsafe import dumps
from .common import EXIT_OK, EXIT_SOME_FAILED, MODEL_HELP, classifier_for, fail, positive_int, printable, progress

HELP = "classify photos and folders"


def add_arguments(pr) -> None:
    pr.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    pr.add_argument("--model", help=MODEL_HELP)
    pr.add_argument("--top-k", type=positive_int, default=3, help="breeds to list per photo (120 = all)")
    pr.add_argument("--json", action="store_true", help="one JSON object per input, line by line")
    pr.add_argument("--batch-size", type=positive_int, default=32)
    pr.add_argument("--device", default="cpu", choices=list(DEVICES))
    pr.add_argument("--heatmap", metavar="DIR", help="also write, per photo, a grayscale PNG of where the model "
                    "looked for its top breed (photo size; 255 = most attention) into DIR")


def run(args) -> int:
    from ..core.predict.classifier import PredictionError, collect_images

    paths = collect_images(args.paths)
    if not paths:
        return fail("no image files found in the given folders", EXIT_SOME_FAILED)
    clf = classifier_for(args)
    heatmaps = HeatmapWriter(clf, args.heatmap) if args.heatmap else None
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
                out = {"path": r.source, "breed": r.breed, "name": r.name, "probability": round(r.probability, 6),
                       "top_k": top, "verdict": r.verdict,
                       "dog_probability": None if r.dog_probability is None else round(r.dog_probability, 6)}
                if r.looks_like is not None:
                    out["looks_like"] = r.looks_like
                if heatmaps:
                    out.update(heatmaps.write(r))
                line = dumps(out)
            else:
                line = table_line(r, width)
                if heatmaps:
                    heat = heatmaps.write(r)
                    line += f"   [heatmap: {heat['heatmap']}]" if "heatmap" in heat else f"   [{printable(heat['heatmap_error'])}]"
            control.bar.clear()
            print(line, flush=True)
    finally:
        control.bar.close()
    return EXIT_SOME_FAILED if failed else EXIT_OK


def table_line(r, width: int) -> str:
    if r.verdict == "not_a_dog":
        return f"{printable(r.source):<{width}}  not a dog (looks like: {r.looks_like})"
    if r.verdict == "unknown_breed":
        return f"{printable(r.source):<{width}}  a dog, not a breed I know (looks like: {r.looks_like})"
    rest = ", ".join(f"{printable(s.name)} {s.probability:.1%}" for s in r.top_k[1:])
    return (f"{printable(r.source):<{width}}  {printable(r.name):<30} {r.probability:6.1%}"
            + (f"   ({rest})" if rest else ""))


class HeatmapWriter:
    """One PNG per photo in `folder`, named after the photo (numbered when two photos share a name)."""

    def __init__(self, clf, folder: str):
        from pathlib import Path

        self.clf, self.folder, self.used = clf, Path(folder), set()

    def write(self, r) -> dict:
        from pathlib import Path

        from ..core.predict.heatmap import HeatmapUnavailable, heatmap, save_heatmap
        from ..core.predict.preprocess import ImageError

        stem = Path(r.source).stem or "photo"
        name, n = f"{stem}.png", 1
        while name in self.used:
            n += 1
            name = f"{stem}-{n}.png"
        self.used.add(name)
        try:
            target = save_heatmap(heatmap(self.clf, r.source, self.clf.classes.index(r.breed)), self.folder / name)
        except (HeatmapUnavailable, ImageError, OSError) as e:
            return {"heatmap_error": f"no heatmap: {e}"}
        return {"heatmap": str(target)}
