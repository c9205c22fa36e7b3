"""The photo list's results as a table: File ▸ Export Results as CSV… and the clipboard's tab-separated copy.
Plain Python. (Model and report exports are `exporter.py`.)"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Sequence

from ..core.files import write_text
from ..core.predict import answers


def rows(results: Iterable, classes: Sequence[str], names: Sequence[str], k: int) -> list[list[str]]:
    """The list's rows (objects with .path, .probabilities, .error, .verdict, .dog_probability, .looks_like) as
    the header and one row each, written by the core's serialiser: the columns of `predict --format csv`, a
    verdict column included, and no breed named where the verdict names none."""
    from ..core.predict.classifier import Prediction  # loaded by the inference worker already

    k = max(1, min(k, len(classes)))
    table = [answers.csv_header(k)]
    for r in results:
        if r.probabilities is None:  # unreadable, or not classified yet
            table.append(answers.csv_row(r.path, {"error": r.error}, k))
            continue
        p = Prediction(r.path, tuple(r.probabilities), answers.top_scores(r.probabilities, classes, names, k),
                       r.dog_probability, r.verdict, r.looks_like)
        table.append(answers.csv_row(r.path, answers.answer(p), k))
    return table


def table(rows_: Iterable, classes: Sequence[str], names: Sequence[str], k: int) -> list[list[str]]:
    """The list's rows as a table; just the header without a model."""
    if not classes:
        return [answers.csv_header(0)]
    return rows(rows_, classes, names, k)


def write_csv(path: Path, table: list[list[str]]) -> None:
    """Atomically: a full disk raises core.files.DiskFull and leaves an earlier export as it was."""
    out = io.StringIO(newline="")
    csv.writer(out).writerows(table)
    write_text(Path(path), out.getvalue())


def to_tsv(table: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(table)
    return out.getvalue()
