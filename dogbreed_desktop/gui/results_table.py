"""The photo list's results as a table: File ▸ Export Results as CSV… and the clipboard's tab-separated copy.
Plain Python. (Model and report exports are `exporter.py`.)"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Sequence

from ..core.files import write_text
from .verdict import ranked


def header(k: int) -> list[str]:
    cols = ["path", "error"]
    for i in range(1, k + 1):
        cols += [f"breed_{i}", f"name_{i}", f"probability_{i}"]
    return cols


def rows(results: Iterable[tuple[str, Sequence[float] | None, str]], classes: Sequence[str],
         names: Sequence[str], k: int) -> list[list[str]]:
    """(path, probabilities or None, error) -> one row each: path, error, then the top-k breeds."""
    k = max(1, min(k, len(classes)))
    table = [header(k)]
    for path, probabilities, error in results:
        row = [path, error]
        if probabilities is not None:
            for i in ranked(probabilities, k):
                row += [classes[i], names[i], f"{probabilities[i]:.6f}"]
        table.append(row + [""] * (len(table[0]) - len(row)))
    return table


def table(rows_: Iterable, classes: Sequence[str], names: Sequence[str], k: int) -> list[list[str]]:
    """The list's rows (objects with .path, .probabilities, .error) as a table; just the header without a model."""
    if not classes:
        return [header(0)]
    return rows(((r.path, r.probabilities, r.error) for r in rows_), classes, names, k)


def write_csv(path: Path, table: list[list[str]]) -> None:
    """Atomically: a full disk raises core.files.DiskFull and leaves an earlier export as it was."""
    out = io.StringIO(newline="")
    csv.writer(out).writerows(table)
    write_text(Path(path), out.getvalue())


def to_tsv(table: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(table)
    return out.getvalue()
