"""Writing a report folder: one self-contained HTML page (figures embedded as base64 PNG), CSVs and PNGs.

Everything goes inside the folder given, each file written atomically; nothing else is touched.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from pathlib import Path

from ...files import write_bytes, write_text
from .. import metrics
from . import analysis, figures
from .records import Evaluation

HTML_NAME = "report.html"
TOP_LOSSES = 50


def _fmt(v, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.1%}" if pct else (f"{v:.4f}" if isinstance(v, float) else str(v))


def per_breed_rows(ev: Evaluation, rows: list[analysis.ClassMetrics]) -> list[list]:
    out = [["class", "breed", "photos", "predicted", "correct", "precision", "recall", "f1"]]
    out += [[r.cls, r.name, r.photos, r.predicted, r.correct, _fmt(r.precision), _fmt(r.recall), _fmt(r.f1)]
            for r in analysis.weakest_first(rows)]
    return out


def confusion_rows(ev: Evaluation, counts) -> list[list]:
    """Long form: one row per non-empty cell (a 120x120 grid is mostly zeros)."""
    out = [["true_class", "true_breed", "predicted_class", "predicted_breed", "count"]]
    for t, p in zip(*counts.nonzero()):
        out.append([ev.classes[t], ev.class_names[t], ev.classes[p], ev.class_names[p], int(counts[t, p])])
    return out


def prediction_rows(ev: Evaluation) -> list[list]:
    out = [["path", "label", "true_class", "predicted_class", "predicted_breed", "confidence", "p_true", "correct",
            "top5", "verdict", "dog_probability"]]
    for r in ev.records:
        out.append([r.path, r.label, ev.classes[r.true], ev.classes[r.predicted], ev.class_names[r.predicted],
                    f"{r.confidence:.6f}", f"{r.p_true:.6f}", int(r.correct),
                    " ".join(ev.classes[i] for i in r.top), r.verdict or "",
                    "" if r.dog_probability is None else f"{r.dog_probability:.6f}"])
    return out


def _csv_text(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _table(rows: list[list], cls: str = "") -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def render_html(ev: Evaluation, pngs: dict[str, bytes], counts, rows) -> str:
    s = analysis.summary(ev)
    e = html.escape
    facts = [["model", ev.model], ["model file", ev.model_path], ["data", ev.data], ["photos scored", s["n"]],
             ["top-1", _fmt(s["top1"], True)], ["top-5", _fmt(s["top5"], True)], ["log loss", _fmt(s["log_loss"])],
             ["ECE", _fmt(s["ece"])], ["temperature", f"{ev.temperature:.4g}"], ["unreadable photos", s["unreadable"]]]
    if s["rejected_as_not_dog"] is not None:
        facts.append(["dog photos rejected as not a dog", _fmt(s["rejected_as_not_dog"], True)])
    if ev.unknown_labels:
        facts.append(["labels the model does not know (skipped)", ", ".join(ev.unknown_labels)])
    if not ev.complete:
        facts.append(["note", "stopped before the last photo: partial results"])
    pairs = [["true breed", "predicted breed", "photos"]] + [
        [ev.class_names[p.true], ev.class_names[p.predicted], p.count] for p in metrics.most_confused(counts, 25)]
    losses = [["photo", "true breed", "predicted breed", "confidence"]] + [
        [r.path, ev.class_names[r.true], ev.class_names[r.predicted], _fmt(r.confidence, True)]
        for r in analysis.top_losses(ev, TOP_LOSSES)]
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px;text-align:left}"
             "th{background:#eee}img{max-width:100%}.facts td:first-child{font-weight:600}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation: {e(ev.model)}</title>"
        f"<style>{style}</style></head><body><h1>Evaluation of {e(ev.model)}</h1>"
        f"{_table([['', '']] + facts, 'facts')}"
        f"<h2>Confusion matrix</h2>{_img(pngs['confusion.png'], 'confusion matrix')}"
        f"<h2>Most confused pairs</h2>{_table(pairs, 'pairs')}"
        f"<h2>Reliability</h2>{_img(pngs['reliability.png'], 'reliability diagram')}"
        f"<h2>Weakest breeds</h2>{_img(pngs['weakest.png'], 'weakest breeds')}"
        f"<h2>Per-breed metrics (weakest first)</h2>{_table(per_breed_rows(ev, rows), 'per-breed')}"
        f"<h2>Most confidently wrong photos</h2>{_table(losses, 'losses')}"
        "</body></html>\n"
    )


def write_report(ev: Evaluation, folder: str | Path) -> dict[str, Path]:
    """report.html, per_breed.csv, confusion.csv, predictions.csv and the PNGs, in `folder`."""
    folder = Path(folder)  # made by the first write (which says so in words when the disk is full)
    counts = analysis.confusion(ev)
    rows = analysis.per_class(ev, counts)
    pngs = {"confusion.png": figures.confusion_png(ev, counts), "reliability.png": figures.reliability_png(ev),
            "weakest.png": figures.weakest_png(rows)}
    written = {}
    for name, data in pngs.items():
        write_bytes(folder / name, data)
        written[name] = folder / name
    for name, table in (("per_breed.csv", per_breed_rows(ev, rows)), ("confusion.csv", confusion_rows(ev, counts)),
                        ("predictions.csv", prediction_rows(ev))):
        write_text(folder / name, _csv_text(table))
        written[name] = folder / name
    write_text(folder / HTML_NAME, render_html(ev, pngs, counts, rows))
    written[HTML_NAME] = folder / HTML_NAME
    return written
