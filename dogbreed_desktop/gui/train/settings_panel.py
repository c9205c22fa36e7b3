"""The run's settings, made from `training.config.TrainConfig`: each field with a `form` entry in its metadata
gets a widget here, with the field's label, choices, default and help text (as tooltip). Only the layout is
decided here. The GPUs box is not part of the config: more than 1 starts torchrun (`train --gpus N`).

A spin box at its lowest value reads "auto" (the mode's default) or what the field's `special` hint says."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QSpinBox, QWidget

from training.config import asked_default, settings  # torch-free, so building the tab does not import torch

# Rows of the form, each one or two settings ("gpus" is the GPUs box, not a config field).
LAYOUT = [("backbone",), ("mode",), ("device", "val_fraction"), ("epochs", "seed"), ("batch_size", "patience"),
          ("lr", "gpus")]


def _widget(f, parent: QWidget) -> QWidget:
    meta, hints, start = f.metadata, f.metadata["form"], asked_default(f)
    if meta["choices"]:
        w = QComboBox(parent)
        for value, label in meta["choices"].items():
            w.addItem(label, value)
            w.setItemData(w.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
        # A long choice ("top: adapt the last stages...") would set the window's least width: show what fits
        # closed (10 characters), the whole text in the open list and the tooltip.
        w.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        w.setMinimumContentsLength(10)
        w.setCurrentIndex(w.findData(start))
    elif "float" in f.type and not hints.get("percent"):
        w = QDoubleSpinBox(parent)
        w.setDecimals(hints.get("decimals", 3))
        w.setSingleStep(hints.get("step", 0.1))
    else:
        w = QSpinBox(parent)
        w.setSuffix(" %" if hints.get("percent") else "")
    if "range" in hints:
        w.setRange(*hints["range"])
    if not meta["choices"]:
        if start is None:
            w.setSpecialValueText("auto")
        elif hints.get("special"):
            w.setSpecialValueText(hints["special"])
        _set(f, w, start)
    w.setToolTip(meta["help"][:1].upper() + meta["help"][1:])
    return w


def _set(f, w: QWidget, value) -> None:
    if isinstance(w, QComboBox):
        w.setCurrentIndex(max(0, w.findData(value)))
    elif f.metadata["form"].get("percent"):
        w.setValue(round(float(value) * 100))
    else:
        w.setValue(value or 0)  # None: the lowest value, which reads "auto"


def _get(f, w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentData()
    if f.metadata["form"].get("percent"):
        return w.value() / 100.0
    if asked_default(f) is None:
        return w.value() or None
    return w.value()


class SettingsPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Settings", parent)
        self.fields = {name: f for name, f in settings().items() if f.metadata["form"] is not None}
        self.widgets = {name: _widget(f, self) for name, f in self.fields.items()}
        self.gpus = QSpinBox(self)
        self.gpus.setRange(1, 64)
        self.gpus.setToolTip("More than 1: one training process per CUDA GPU (torchrun, DistributedDataParallel)")
        boxes = {**self.widgets, "gpus": self.gpus}
        labels = {**{name: f.metadata["label"] for name, f in self.fields.items()}, "gpus": "GPUs"}
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(8)
        for r, row in enumerate(LAYOUT):
            for c, name in enumerate(row):
                grid.addWidget(QLabel(labels[name], self), r, 2 * c)
                grid.addWidget(boxes[name], r, 2 * c + 1, 1, 3 if len(row) == 1 else 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        fields = [boxes[name] for row in LAYOUT for name in row]  # Tab moves row by row, as they read
        for first, second in zip(fields, fields[1:]):
            QWidget.setTabOrder(first, second)
        # Settings the form does not show (tests and benchmarks: image_size, cache_dir, per_class...).
        self.overrides: dict = {}

    def values(self) -> dict:
        """Keyword arguments for training.config.make_config (None = the mode's default); the GPUs box is read
        on its own (`gpus`)."""
        return {**{name: _get(f, self.widgets[name]) for name, f in self.fields.items()}, **self.overrides}

    def set_values(self, **values) -> None:
        """For tests and restoring a run's settings."""
        for key, value in values.items():
            if key in self.widgets:
                _set(self.fields[key], self.widgets[key], value)
            elif key == "gpus":
                self.gpus.setValue(int(value))
            else:
                self.overrides[key] = value
