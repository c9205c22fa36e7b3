"""The run's settings: split, seed, backbone, mode, device, GPUs, epochs, batch size, learning rate, patience.

A spin box at its lowest value reads "auto" and leaves the value to the mode's default (training.config)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QSpinBox, QWidget

from ...core.specs import BACKBONES  # torch-free, so building the tab does not import torch


def _spin(parent, lo, hi, value, auto=False, suffix="") -> QSpinBox:
    s = QSpinBox(parent)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setSuffix(suffix)
    if auto:
        s.setSpecialValueText("auto")
    return s


class SettingsPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Settings", parent)
        self.val_percent = _spin(self, 5, 50, 25, suffix=" %")
        self.val_percent.setToolTip("Share of each class kept aside to validate on (stratified)")
        self.seed = _spin(self, 0, 999_999, 0)
        self.backbone = QComboBox(self)
        for spec in BACKBONES.values():
            self.backbone.addItem(spec.title + ("" if spec.offline else "  (needs download)"), spec.name)
        self.mode = QComboBox(self)
        self.mode.addItem("Auto (fine-tune on a GPU, fast on a CPU)", "auto")
        self.mode.addItem("Fast: frozen backbone, cached features", "fast")
        self.mode.addItem("Fine-tune: end to end with augmentation", "finetune")
        self.device = QComboBox(self)
        for label, value in (("Auto", "auto"), ("CPU", "cpu"), ("CUDA GPU", "cuda"), ("Apple GPU (MPS)", "mps")):
            self.device.addItem(label, value)
        self.epochs = _spin(self, 0, 1000, 0, auto=True)
        self.batch_size = _spin(self, 0, 4096, 0, auto=True)
        self.lr = QDoubleSpinBox(self)
        self.lr.setDecimals(5)
        self.lr.setRange(0.0, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setSpecialValueText("auto")
        self.patience = _spin(self, 0, 100, 3)
        self.patience.setSpecialValueText("never")
        self.patience.setToolTip("Epochs without a better validation loss before stopping (the best epoch is kept)")
        self.gpus = _spin(self, 1, 64, 1)
        self.gpus.setToolTip("More than 1: one training process per CUDA GPU (torchrun, DistributedDataParallel)")
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(8)
        rows = [
            [("Backbone", self.backbone)],
            [("Mode", self.mode)],
            [("Device", self.device), ("Validation", self.val_percent)],
            [("Epochs", self.epochs), ("Seed", self.seed)],
            [("Batch size", self.batch_size), ("Patience", self.patience)],
            [("Learning rate", self.lr), ("GPUs", self.gpus)],
        ]
        for r, row in enumerate(rows):
            for c, (label, widget) in enumerate(row):
                grid.addWidget(QLabel(label, self), r, 2 * c)
                grid.addWidget(widget, r, 2 * c + 1, 1, 3 if len(row) == 1 else 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        # Settings the form does not show (tests and benchmarks: image_size, cache_dir, per_class...).
        self.overrides: dict = {}

    def values(self) -> dict:
        """`train` options as make_config keywords (None = the mode's default), plus `gpus`."""
        return {
            "val_fraction": self.val_percent.value() / 100.0,
            "seed": self.seed.value(),
            "backbone": self.backbone.currentData(),
            "mode": self.mode.currentData(),
            "device": self.device.currentData(),
            "epochs": self.epochs.value() or None,
            "batch_size": self.batch_size.value() or None,
            "lr": self.lr.value() or None,
            "patience": self.patience.value(),
            "gpus": self.gpus.value(),
            **self.overrides,
        }

    def set_values(self, **values) -> None:
        """For tests and restoring a run's settings."""
        widgets = {"seed": self.seed, "epochs": self.epochs, "batch_size": self.batch_size,
                   "patience": self.patience, "gpus": self.gpus}
        for key, value in values.items():
            if key in widgets:
                widgets[key].setValue(int(value or 0))
            elif key == "lr":
                self.lr.setValue(float(value or 0))
            elif key == "val_fraction":
                self.val_percent.setValue(round(float(value) * 100))
            elif key in ("backbone", "mode", "device"):
                combo = getattr(self, key)
                combo.setCurrentIndex(max(0, combo.findData(value)))
            else:
                self.overrides[key] = value
