"""The headline numbers: top-1, top-5, log loss, ECE, photo count, the model and the photos it ran on, and
(when the model gives verdicts) how many dog photos it wrongly called "not a dog"."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QWidget

from ...core.evaluate.report import analysis
from ..theme import colors


def _pct(v) -> str:
    return "–" if v is None or v != v else f"{v:.1%}"


class Summary(QLabel):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(self.textFormat().RichText)
        self.values: dict = {}
        self.clear_summary()

    def clear_summary(self, message: str = "Choose a model and labelled photos, then Evaluate.") -> None:
        self.values = {}
        self.setText(f"<i>{html.escape(message)}</i>")

    def set_evaluation(self, ev) -> None:
        s = self.values = analysis.summary(ev)
        e = html.escape
        parts = [f"<b>Top-1 {_pct(s['top1'])}</b>", f"top-5 {_pct(s['top5'])}",
                 f"log loss {s['log_loss']:.3f}", f"ECE {s['ece']:.3f}", f"{s['n']} photos"]
        if s["rejected_as_not_dog"] is not None:
            parts.append(f"dog photos rejected as “not a dog”: {_pct(s['rejected_as_not_dog'])}")
        if s["unreadable"]:
            parts.append(f"{s['unreadable']} unreadable")
        lines = ["  ·  ".join(parts), f"Model: {e(ev.model)}  ·  Photos: {e(ev.data)}"]
        if ev.unknown_labels:
            lines.append(f"Skipped labels the model does not know: {e(', '.join(ev.unknown_labels[:8]))}")
        if not ev.complete:
            red = colors(self.palette()).css("error_text")
            lines.append(f"<span style='color:{red}'>Cancelled: these are the photos done so far.</span>")
        self.setText("<br>".join(lines))
