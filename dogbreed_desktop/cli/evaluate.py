"""`dogbreed-desktop evaluate`: measure a model on a labelled set."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.datasets import SUBSETS
from ..core.devices import DEVICES
from ..core.jsonsafe import dumps
from .common import (EXIT_FAILED, EXIT_OK, EXIT_SOME_FAILED, MODEL_HELP, classifier_for, fail, positive_int, printable,
                     progress)

HELP = "measure a model on a labelled set"


def add_arguments(ev) -> None:
    ev.add_argument("--data", required=True, help="labels.csv + train/, one folder per class, or train/ + test/")
    ev.add_argument("--model", help=MODEL_HELP)
    ev.add_argument("--not-dogs", metavar="DIR", help="also classify this folder of photos without dogs and "
                    "report the share the model accepts as a dog")
    ev.add_argument("--json", action="store_true", help="print the whole report as JSON")
    ev.add_argument("--per-class", type=positive_int, help="use only the first N images of each class")
    ev.add_argument("--subset", choices=SUBSETS,
                    help="for a set split into train/ and test/ (or val/): which photos to score. By default "
                    "the held-out test/ ones only ('test' or 'val'), since the model may have trained on "
                    "train/; 'train' for train/ only, 'all' for both")
    ev.add_argument("--batch-size", type=positive_int, default=32)
    ev.add_argument("--device", default="cpu", choices=list(DEVICES))
    ev.add_argument("--report", metavar="DIR",
                    help="also write report.html (figures embedded), per_breed.csv, confusion.csv, "
                    "predictions.csv and PNG figures into DIR")


def run(args) -> int:
    from ..core.datasets import DatasetError, described, load_labelled_set, photos_to_score, take_per_class
    from ..core.evaluate.evaluation import evaluate_not_dogs, evaluate_photos, legacy_report

    try:
        data = load_labelled_set(args.data)
    except DatasetError as e:
        return fail(str(e))
    try:
        items, which = photos_to_score(data, args.subset)
    except DatasetError as e:
        return fail(str(e))
    if args.per_class:
        items = take_per_class(items, args.per_class)
    if not items:
        return fail(f"no images selected ({which})" if which else "no images selected")
    if args.report and Path(args.report).expanduser().exists() and not Path(args.report).expanduser().is_dir():
        return fail(f"--report needs a folder, and {args.report} is a file")
    clf = classifier_for(args)
    control = progress(len(items), sys.stderr.isatty())
    try:
        ev = evaluate_photos(clf, items, data=described(data.root, which), batch_size=args.batch_size,
                             control=control)
    finally:
        control.bar.close()
    rep = legacy_report(ev)
    rep["data"] = str(data.root)
    rep["photos"] = which or "all"
    rep["notes"] = dataset_notes(data)
    if not rep["n"]:
        # Nothing was scored: "top-1 nan%" with exit 0 would read as a result.
        if rep["unknown_labels"] and len(rep["unknown_labels"]) == len({i.label for i in items}):
            shown = ", ".join(printable(x) for x in rep["unknown_labels"][:5])
            return fail(f"the model knows none of the labels in {printable(str(data.root))} (e.g. {shown}); "
                        f"it knows {len(clf.classes)} classes such as {printable(clf.classes[0])}")
        return fail(f"none of the {len(items)} images could be scored ({len(rep['errors'])} unreadable)",
                    EXIT_SOME_FAILED)
    if args.not_dogs:
        if not Path(args.not_dogs).is_dir():
            return fail(f"--not-dogs: {args.not_dogs} is not a folder")
        rep["not_dogs"] = nd = evaluate_not_dogs(clf, Path(args.not_dogs), batch_size=args.batch_size)
        if not nd["n"]:  # else no share to print, and the text and JSON would pass over --not-dogs silently
            nd["note"] = (f"none of its {len(nd['errors'])} photos could be read" if nd["errors"]
                          else "it holds no photos")
    if args.report:
        code = _write_report(ev, args.report)
        if code:
            return code
    if args.json:
        print(dumps(rep, indent=2))
    else:
        print(format_report(rep))
    failed = rep["errors"] or (rep.get("not_dogs") or {}).get("errors")
    return EXIT_SOME_FAILED if failed else EXIT_OK


def dataset_notes(data) -> list[str]:
    """What in the folder was left out, and how it was read when that was a guess (as train's preflight says
    it): labelled photos that are not there, folders that could not be listed, labels that cannot name a class."""
    notes = list(data.notes)
    if data.labels_without_images:
        notes.append(f"{len(data.labels_without_images)} label(s) in labels.csv without an image in train/, "
                     f"e.g. {data.labels_without_images[0]}")
    if data.unreadable_folders:
        folder, why = data.unreadable_folders[0]
        notes.append(f"{len(data.unreadable_folders)} folder(s) could not be read and were skipped, e.g. "
                     f"{folder} ({why})")
    return notes


def _write_report(ev, folder: str) -> int:
    from ..core.files import DiskFull
    from ..core.evaluate.report import HTML_NAME, write_report

    target = Path(folder).expanduser()
    try:
        write_report(ev, target)
    except DiskFull as e:
        return fail(str(e), EXIT_FAILED)
    except OSError as e:
        return fail(f"cannot write the report to {target}: {e}")
    print(f"report: {target / HTML_NAME}", file=sys.stderr)
    return 0


def format_report(rep: dict) -> str:
    lines = [
        f"model:    {rep['model']}",
        f"data:     {rep['data']}  ({rep['n']} images scored, {len(rep['errors'])} unreadable)",
        *([f"photos:   {rep['photos']}"] if rep.get("photos", "all") != "all" else []),
        *(f"note:     {note}" for note in rep.get("notes", [])),
        f"top-1:    {rep['top1']:.2%}",
        f"top-5:    {rep['top5']:.2%}",
        f"log loss: {rep['log_loss']:.4f}",
        f"ECE:      {rep['ece']:.4f}",
    ]
    if rep.get("wrongly_rejected") is not None:
        lines.append(f"dog photos wrongly called 'not a dog': {rep['wrongly_rejected']:.2%}")
    elif not rep.get("has_gate", True):
        lines.append("this model has no 'not a dog' gate (its classes are not ImageNet dog breeds)")
    nd = rep.get("not_dogs") or {}
    if nd.get("accepted") is not None:
        per = ", ".join(f"{c} {v['accepted']:.1%} of {v['n']}" for c, v in nd["per_category_accepted"].items())
        lines.append(f"non-dog photos accepted as dogs: {nd['accepted']:.2%} of {nd['n']}  ({per})")
    elif nd:
        lines.append(f"non-dog photos: none scored, {nd['not_dogs_dir']}: {nd['note']}")
    lines += [f"unreadable: {e['path']}: {e['error']}" for e in nd.get("errors", [])]
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
    return "\n".join(printable(line) for line in lines)  # class and file names may hold escape codes
