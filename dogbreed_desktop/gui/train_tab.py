"""The Train tab (placeholder until the training issue fills it)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class TrainTab(QWidget):
    # Emitted with the path of a finished run's model when the user clicks "Use this model".
    use_model = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Training arrives with the training issue."))

    def shutdown(self) -> None:
        """Stop any running training and wait for it (called when the window closes)."""
