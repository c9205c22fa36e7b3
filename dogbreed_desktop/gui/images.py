"""Pictures for the window, made off the GUI thread: decoded by the core (EXIF-upright), handed over as QImage.

QImage is safe to create and pass between threads; QPixmap is made from it on the GUI thread only.
These functions import the core's Pillow/torch module, so call them from worker threads.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage

from ..core.files import write_bytes

THUMBNAIL_BOX = 52  # logical pixels in the list
THUMBNAIL_SIZE = 2 * THUMBNAIL_BOX  # decoded for up to 2x (HiDPI) screens
PREVIEW_SIZE = 1600  # longest side kept for the large view


def pil_to_qimage(img) -> QImage:
    """An RGB PIL image -> a QImage that owns its pixels."""
    img = img.convert("RGB")
    w, h = img.size
    data = img.tobytes("raw", "RGB")
    # RGB32 is what a QPixmap holds on every platform, so QPixmap.fromImage on the GUI thread needs no conversion.
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(QImage.Format.Format_RGB32)


def load_qimage(path: str | Path, max_side: int) -> QImage:
    """The photo, upright, no larger than max_side; raises the core's ImageError for a broken file."""
    from PIL import Image

    from ..core.predict.preprocess import load_image

    img = load_image(path, draft=max_side)  # JPEGs decode straight at a reduced scale
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return pil_to_qimage(img)


def fit(image: QImage, box: QSize) -> QImage:
    """Smoothly scaled to fit `box` (device pixels), off the GUI thread; the view then draws it 1:1."""
    if image.isNull() or box.isEmpty():
        return QImage()
    return image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def preview(path: str, box: QSize, *, control=None) -> tuple[QImage, QImage]:
    """The large view's picture: upright, at most PREVIEW_SIZE, and the same fitted to `box` (device pixels)
    so the view need not scale it. A task for the Classify tab's photo runner; raises ImageError."""
    image = load_qimage(path, PREVIEW_SIZE)
    return image, fit(image, box)


def classifier_input(classifier, path: str | Path) -> tuple[tuple, QImage]:
    """One decode of a photo for the Classify tab: the classifier's input (`Classifier.prepare`'s arrays) and
    the list's thumbnail, both made from the same decoded picture. Raises ImageError."""
    from PIL import Image

    img = classifier.decode(path)
    arrays = classifier.prepare_decoded(img)
    img.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)  # in place: the arrays are made
    return arrays, pil_to_qimage(img)


def thumbnail(path: str | Path) -> QImage | None:
    """A small square-ish thumbnail, or None when the file cannot be decoded."""
    try:
        return load_qimage(path, THUMBNAIL_SIZE)
    except Exception:  # the row shows the classifier's error message instead
        return None


def save_pasted(image: QImage) -> Path:
    """A pasted picture becomes a PNG in the user's data folder, so it has a path like any other photo."""
    from ..paths import user_data_dir

    path = user_data_dir() / "pasted" / f"pasted-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.png"
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"could not encode the pasted image as PNG for {path}")
    write_bytes(path, bytes(data))  # a full disk: core.files.DiskFull, in words
    return path
