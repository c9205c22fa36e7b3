"""`dogbreed-desktop predict`: classify photos and folders, as a table, JSON lines, CSV or a Kaggle submission.

Every format but the table writes each photo's answer through `core.predict.answers`, the contract `serve`
and the window's CSV export share."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from ..core.devices import DEVICES
from ..core.errors import UserError
from ..core.jsonsafe import dumps
from .common import EXIT_OK, EXIT_SOME_FAILED, MODEL_HELP, classifier_for, fail, positive_int, printable, progress

HELP = "classify photos and folders"
FORMATS = {
    "table": "one line per photo for people (the default)",
    "json": "one JSON object per photo, line by line (also --json)",
    "csv": "a header, then one row per photo: the JSON fields, then breed_i, name_i, probability_i of the top k",
    "kaggle": "the Dog Breed Identification competition's submission: id (the file stem) and the 120 breeds' "
              "probabilities, each row summing to 1 (unreadable photos are reported on stderr, not written)",
}


def add_arguments(pr) -> None:
    pr.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    pr.add_argument("--model", help=MODEL_HELP)
    pr.add_argument("--top-k", type=positive_int, default=3, help="breeds to list per photo (120 = all)")
    out = pr.add_mutually_exclusive_group()
    out.add_argument("--format", choices=list(FORMATS), default="table",
                     help="; ".join(f"{name}: {text}" for name, text in FORMATS.items()))
    out.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    pr.add_argument("--batch-size", type=positive_int, default=32)
    pr.add_argument("--device", default="cpu", choices=list(DEVICES))
    pr.add_argument("--heatmap", metavar="DIR", help="also write, per photo, a grayscale PNG of where the model "
                    "looked for its top breed (photo size; 255 = most attention) into DIR")


def heatmap_folder_problem(args) -> str:
    """Why --heatmap cannot be used as given ("" when it can); the folder is made here, before any work."""
    if args.format == "kaggle":
        return "--heatmap cannot go with --format kaggle: a submission holds only the breeds' columns"
    folder = Path(args.heatmap).expanduser()
    if folder.exists() and not folder.is_dir():
        return f"--heatmap needs a folder, and {args.heatmap} is a file"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot make the heatmap folder {args.heatmap}: {e.strerror or e}"
    return ""


def run(args) -> int:
    from ..core.predict.classifier import collect_images

    problem = heatmap_folder_problem(args) if args.heatmap else ""
    if problem:
        return fail(problem)
    paths = collect_images(args.paths)
    if not paths:
        return fail("no image files found in the given folders", EXIT_SOME_FAILED)
    clf = classifier_for(args)
    try:
        out = Output(args, clf, max(len(printable(str(p))) for p in paths))
    except UserError as e:
        return fail(str(e))
    control = progress(len(paths), sys.stderr.isatty() and args.format != "json")
    failed = 0
    try:
        for r in clf.iter_predict(paths, top_k=args.top_k, batch_size=args.batch_size, control=control):
            failed += not r.ok
            control.bar.clear()
            out.write(r)
            sys.stdout.flush()
    finally:
        control.bar.close()
    return EXIT_SOME_FAILED if failed else EXIT_OK


class Output:
    """Writes each result in the chosen format (and its heatmap, when asked) to stdout."""

    def __init__(self, args, clf, width: int):
        from ..core.predict import answers

        self.answers, self.format, self.width = answers, args.format, min(60, width)
        self.k = min(args.top_k, len(clf.classes))
        self.heatmaps = HeatmapWriter(clf, args.heatmap) if args.heatmap else None
        self.csv = csv.writer(sys.stdout, lineterminator="\n")
        if self.format == "kaggle":
            self.order = answers.kaggle_order(clf.classes)  # UserError for a model of other classes
            self.csv.writerow(answers.kaggle_header())
            self.ids: dict[str, str] = {}  # id -> the photo it was written for: Kaggle refuses a repeated id
        elif self.format == "csv":
            self.csv.writerow(answers.csv_header(self.k) + (["heatmap"] if self.heatmaps else []))

    def write(self, r) -> None:
        heat = self.heatmaps.write(r) if self.heatmaps and r.ok else {}
        if self.format == "json":
            print(dumps({"path": r.source, **self.answers.answer(r), **heat}))
        elif self.format == "csv":
            extra = [heat.get("heatmap") or heat.get("heatmap_error", "")] if self.heatmaps else []
            self.csv.writerow(self.answers.csv_row(r.source, self.answers.answer(r), self.k) + extra)
        elif self.format == "kaggle":
            key = Path(r.source).stem
            if r.ok and key in self.ids:  # the same name in two folders, or a photo given twice
                print(f"{printable(r.source)}: skipped: its id {printable(key)} was written already, for "
                      f"{printable(self.ids[key])}", file=sys.stderr)
            elif r.ok:
                self.ids[key] = r.source
                self.csv.writerow(self.answers.kaggle_row(key, r, self.order))
            else:
                print(f"{printable(r.source)}: ERROR: {printable(r.error)}", file=sys.stderr)
        else:
            line = table_line(r, self.width)
            if heat:
                line += (f"   [heatmap: {heat['heatmap']}]" if "heatmap" in heat
                         else f"   [{printable(heat['heatmap_error'])}]")
            print(line)


def table_line(r, width: int) -> str:
    if not r.ok:
        return f"{printable(r.source):<{width}}  ERROR: {printable(r.error)}"
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
        self.clf, self.folder, self.used = clf, Path(folder).expanduser(), set()

    def write(self, r) -> dict:
        from ..core.predict.heatmap import HeatmapUnavailable, heatmap, save_heatmap
        from ..core.predict.preprocess import ImageError

        stem = Path(r.source).stem or "photo"
        name, n = f"{stem}.png", 1
        while name in self.used:
            n += 1
            name = f"{stem}-{n}.png"
        self.used.add(name)
        try:
            target = save_heatmap(heatmap(self.clf, r.source, self.clf.classes.index(r.top_k[0].breed)),
                                  self.folder / name)
        except (HeatmapUnavailable, ImageError, OSError) as e:
            return {"heatmap_error": f"no heatmap: {e}"}
        return {"heatmap": str(target)}
