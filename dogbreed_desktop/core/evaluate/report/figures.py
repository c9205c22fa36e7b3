"""The report's figures as PNG bytes, drawn with matplotlib's Agg backend (no window system, no Qt).

matplotlib is imported inside each function: the CLI's other commands and the app's start stay fast.
"""

from __future__ import annotations

import io
import math

import numpy as np

from . import analysis
from .records import Evaluation


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # never pick a GUI backend, even inside the Qt app
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def confusion_png(ev: Evaluation, counts: np.ndarray | None = None) -> bytes:
    """All classes, true rows and predicted columns; colour on a log scale so single mistakes show."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    counts = analysis.confusion(ev) if counts is None else counts
    n = len(ev.classes)
    side = min(16.0, max(5.0, 0.12 * n + 3))
    fig, ax = plt.subplots(figsize=(side, side), dpi=110)
    shown = np.ma.masked_equal(counts, 0)
    im = ax.imshow(shown, cmap="viridis", norm=LogNorm(vmin=1, vmax=max(1, int(counts.max()))),
                   interpolation="nearest")
    font = 8 if n <= 30 else max(3.0, 8 - n / 25)
    ax.set_xticks(range(n), ev.class_names, rotation=90, fontsize=font)
    ax.set_yticks(range(n), ev.class_names, fontsize=font)
    ax.set_xlabel("predicted breed")
    ax.set_ylabel("true breed")
    ax.set_title(f"Confusion matrix ({len(ev.records)} photos)")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="photos", format="%g")
    return _png(fig)


def reliability_png(ev: Evaluation) -> bytes:
    """Accuracy against confidence per bin, the photo count over each bar, and the temperature in the title."""
    plt = _pyplot()
    bins = analysis.reliability(ev)
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    centres = [(b.lo + b.hi) / 2 for b in bins]
    acc = [0.0 if math.isnan(b.accuracy) else b.accuracy for b in bins]
    width = bins[0].hi - bins[0].lo
    ax.bar(centres, acc, width=width * 0.9, color="#4c78a8", edgecolor="white", label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="#888888", label="perfect calibration")
    for c, a, b in zip(centres, acc, bins):
        if b.count:
            ax.text(c, a + 0.015, str(b.count), ha="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (temperature {ev.temperature:.3g}, ECE {analysis.expected_calibration_error(ev):.3f})")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def weakest_png(rows: list[analysis.ClassMetrics], n: int = 20) -> bytes:
    """F1 of the weakest breeds as horizontal bars."""
    plt = _pyplot()
    rows = [r for r in analysis.weakest_first(rows) if r.photos][:n]
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(rows) + 1.2), dpi=110)
    ax.barh([r.name for r in rows][::-1], [r.f1 for r in rows][::-1], color="#e45756")
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.set_title(f"The {len(rows)} weakest breeds")
    ax.tick_params(axis="y", labelsize=7)
    return _png(fig)
