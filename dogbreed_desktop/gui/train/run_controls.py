"""Start, Early stop, the progress bar with its ETA, the outcome line and "Use this model"."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

IDLE_TEXT = "No run yet"


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


class RunControls(QWidget):
    start_clicked = Signal()
    stop_clicked = Signal()
    use_clicked = Signal()
    resume_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.start_button = QPushButton("Start training", self)
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Early stop", self)
        self.stop_button.setToolTip("Finish at the next batch and keep the best model so far")
        self.use_button = QPushButton("Use this model", self)
        self.use_button.setToolTip("Switch the Classify tab to this run's model")
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.setToolTip("Continue the run from its last checkpoint")
        self.resume_button.setVisible(False)
        self.resume_button.clicked.connect(self.resume_clicked)
        self.start_button.clicked.connect(self.start_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.use_button.clicked.connect(self.use_clicked)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(True)
        self.phase = QLabel("", self)
        self.outcome = QLabel("", self)
        self.outcome.setWordWrap(True)
        # Both lines take room only when they say something: before a run it goes to the data chart.
        self.phase.hide()
        self.outcome.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.bar)
        layout.addWidget(self.phase)
        layout.addWidget(self.outcome)
        self._phase_start: tuple[str, float, int] | None = None
        self.set_running(False)
        self.show_ended(IDLE_TEXT, done=False)
        self.set_can_start(False)
        self.use_button.setEnabled(False)

    def set_can_start(self, ok: bool) -> None:
        self.start_button.setEnabled(ok and not self.stop_button.isEnabled())

    def set_running(self, running: bool) -> None:
        self.stop_button.setEnabled(running)
        self.start_button.setEnabled(not running)
        if running:
            self.use_button.setEnabled(False)
            _say(self.outcome, "")
            self.bar.setFormat("%p%")
            self.bar.setRange(0, 0)  # busy until the first progress report
            self._phase_start = None
        elif self.bar.format() == "%p%":  # the run ended without a word on how (show_ended says it otherwise)
            self.show_ended("Ended")

    def show_ended(self, text: str, done: bool = True) -> None:
        """The bar, when no run is going: a word on the run shown (a full bar), or IDLE_TEXT (an empty one);
        never a percentage that no run is making."""
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if done else 0)
        self.bar.setFormat(text)

    def show_progress(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if self._phase_start is None or self._phase_start[0] != message:
            self._phase_start = (message, now, done)
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(min(done, total))
        _, t0, d0 = self._phase_start
        text = message[:1].upper() + message[1:]
        if done > d0 and now - t0 > 1.0 and total > done:
            rate = (done - d0) / (now - t0)
            text += f" · about {format_eta((total - done) / rate)} left"
            if message == "training":
                text += " (at most; early stopping may end sooner)"
        _say(self.phase, text)

    def show_stopping(self) -> None:
        self.stop_button.setEnabled(False)
        _say(self.phase, "Stopping at the next batch; the best model so far is kept…")

    def offer_resume(self, offer: bool) -> None:
        self.resume_button.setVisible(offer)
        self.resume_button.setEnabled(offer)

    def show_outcome(self, html: str, model_ready: bool, ended: str) -> None:
        """How the run ended: `html` under the bar, `ended` (a few words) in it."""
        self.show_ended(ended)
        _say(self.outcome, html)
        self.use_button.setEnabled(model_ready)
        _say(self.phase, "")


def _say(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def outcome_html(result: dict) -> str:
    """How a run ended, for the line under the progress bar."""
    from training.runfolder import RunStatus  # torch-free

    m = result["metrics"]
    text = f"<b>{RunStatus.describe(result['status']).capitalize()}</b>: {result['reason']}"
    if result["model_path"]:
        start = m.get("start_val_top1")
        gain = f" (started at {start:.1%})" if start is not None else ""
        text += (f"<br>Best epoch {result['best_epoch']}: validation top-1 <b>{m['val_top1']:.1%}</b>{gain}, "
                 f"top-5 {m['val_top5']:.1%}")
    else:
        text += "<br>No model was written: it stopped before the first validation."
    if result["skipped"]:
        text += f"<br>{len(result['skipped'])} unreadable image(s) skipped (skipped.json in the run folder)."
    return text


def died_html(message: str, resumable: bool, color: str) -> str:
    """The outcome line when the training process died; the window itself is unaffected."""
    then = ("Everything up to its last checkpoint is kept: <b>Resume</b> continues from there."
            if resumable else "It had not saved a checkpoint yet: start it again.")
    return f"<span style='color:{color}'><b>Training stopped unexpectedly.</b></span> {message}<br>{then}"
