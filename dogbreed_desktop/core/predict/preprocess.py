"""Decoding any image a person might drop, and the eval transform, with Pillow and numpy only (no torch: the
classify path never imports it; training wraps these arrays with `torch.from_numpy`).

`Preprocessing` is stored in every model artifact, so training-time validation and the app build the same
transform from the same numbers.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar, Union

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from ..errors import UserError
from ..imagetypes import is_image_path  # noqa: F401 (re-exported for the classifier)
from ..model.specs import Preprocessing  # noqa: F401 (re-exported)

# The pixel budget. Every decode and every resize is bounded by these, so no input file can make the app
# allocate more than about 1 GB (Pillow holds 4 bytes per pixel):
# - a file is refused rather than decoded past MAX_PIXELS (Pillow's own bomb guard trips only at 2x its
#   limit, and only warns below that); 16k x 16k covers any camera;
# - decodes running at once in different threads share DECODE_BUDGET pixels (one larger file runs alone);
# - a resize is computed for the crop only when the whole resized picture would pass MAX_RESIZED_PIXELS
#   (a 1x100000 strip would otherwise become 256 x 25,600,000).
MAX_PIXELS = 16384 * 16384
DECODE_BUDGET = 64 * 1024 * 1024
MAX_RESIZED_PIXELS = 16 * 1024 * 1024
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error for that file, not a grey half-picture


def _register_heif() -> bool:
    """Phone photos (HEIC/HEIF) read through the pillow-heif plugin, registered here once, so the window, the
    CLI, the server and training all read them. AVIF is Pillow's own. The classify-only app leaves pillow-heif
    out (its HEVC library alone is 26 MB of a 300 MB budget): there HEIC files get their own one-line message."""
    try:
        from pillow_heif import register_heif_opener

        register_heif_opener(thumbnails=False)  # its compiled part loads only here: a broken one fails here
    except Exception:  # missing or broken (a bundle without its compiled module): no HEIC, everything else reads
        return False
    return True


HEIF = _register_heif()
HEIF_MISSING = "a HEIC/HEIF photo: this build cannot read them (the full build and the Python install can)"

T = TypeVar("T")
R = TypeVar("R")
# What kind of problem an ImageError is, for callers that answer differently (the server's HTTP statuses).
NOT_AN_IMAGE, TOO_LARGE, CORRUPT = "not_an_image", "too_large", "corrupt"


class ImageError(UserError):
    """A file that cannot be turned into a picture, with a message fit to show the user; `kind` is one of
    NOT_AN_IMAGE, TOO_LARGE, CORRUPT."""

    def __init__(self, message: str, kind: str = CORRUPT):
        super().__init__(message)
        self.kind = kind

    def __reduce__(self):  # crosses process and thread-pool boundaries with its kind
        return type(self), (str(self), self.kind)


@dataclass(frozen=True)
class OpenedImage:
    """A file `open_image` opened (its header read, its pixels not decoded yet): decoding carries on from
    there, so a caller that looked at the header first (the server's size check) does not open it twice."""

    image: Image.Image


ImageSource = Union[str, Path, Image.Image, bytes, OpenedImage]  # bytes: an uploaded file held in memory


_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


class _PixelBudget:
    """A count of decoded pixels held at once across threads; a request larger than the whole runs alone."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.used = 0
        self._cond = threading.Condition()

    @contextmanager
    def reserve(self, pixels: int):
        pixels = min(pixels, self.capacity)
        with self._cond:
            self._cond.wait_for(lambda: self.used + pixels <= self.capacity)
            self.used += pixels
        try:
            yield
        finally:
            with self._cond:
                self.used -= pixels
                self._cond.notify_all()


_BUDGET = _PixelBudget(DECODE_BUDGET)


def reserve_pixels(pixels: int):
    """Context manager holding `pixels` of the process-wide decode budget (for decodes outside `load_image`)."""
    return _BUDGET.reserve(pixels)


def not_a_regular_file(path: Path) -> str | None:
    """Why `path` is not a plain file to read (a folder, FIFO, device, link loop...), or None when it is one."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "file not found" if not path.is_symlink() else "broken symbolic link (its target is missing)"
    except PermissionError:
        return "permission denied"
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot read file ({e.strerror or e})"
    if stat.S_ISDIR(st.st_mode):
        if not os.access(path, os.R_OK | os.X_OK):
            return "a folder that cannot be read (permission denied)"
        return "is a folder, not an image"
    if stat.S_ISFIFO(st.st_mode):
        return "a named pipe (FIFO), not an image file"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "a device, not an image file"
    if stat.S_ISSOCK(st.st_mode):
        return "a socket, not an image file"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_size == 0:
        return "empty file"
    return None


def open_image(source: str | Path | bytes) -> Image.Image:
    """A file (path, or bytes held in memory: the web server never writes uploads to disk) opened: its header
    read, its pixels not decoded. Every way Pillow can fail to open it becomes an ImageError, here only."""
    if isinstance(source, bytes):
        if not source:
            raise ImageError("empty file", NOT_AN_IMAGE)
        target = io.BytesIO(source)
    else:
        target = Path(source)
        problem = not_a_regular_file(target)
        if problem:
            raise ImageError(problem, NOT_AN_IMAGE if problem == "empty file" else CORRUPT)
    try:
        return Image.open(target)
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except UnidentifiedImageError:
        heic = not HEIF and isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".heic", ".heif")
        raise ImageError(HEIF_MISSING if heic else "not an image, or a format Pillow cannot read",
                         NOT_AN_IMAGE) from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"image too large to decode safely ({e})", TOO_LARGE) from None
    except (OSError, SyntaxError, ValueError) as e:  # e.g. a JPEG cut off inside its header: "Truncated File Read"
        raise ImageError(f"truncated or corrupt image ({e})") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # convert("L") would clip 16-bit values at 255 (a white picture): scale to 8 bits instead.
        lo, hi = img.convert("I").getextrema()
        scale = 255.0 / hi if hi > 255 else 1.0
        return img.convert("I").point(lambda v: v * scale).convert("L").convert("RGB")
    if mode == "F":
        lo, hi = img.getextrema()
        span = (hi - lo) or 1.0
        return img.point(lambda v: (v - lo) * 255.0 / span).convert("L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in img.info):
        # Transparent areas hold arbitrary colours; show them on white as viewers do.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV


def load_image(source: ImageSource, draft: int | None = None) -> Image.Image:
    """An upright RGB picture, or ImageError. `draft` lets JPEG decode at a reduced scale >= that size."""
    ours = not isinstance(source, Image.Image)  # a caller's own picture is never changed in place
    if not ours:
        img = source
    elif isinstance(source, OpenedImage):
        img = source.image
    else:
        img = open_image(source)
    try:
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"image too large to decode safely ({w}x{h} pixels)", TOO_LARGE)
        if w == 0 or h == 0:
            raise ImageError("image has no pixels")
        if draft and img.format == "JPEG" and ours:
            # Decode straight at 1/2, 1/4 or 1/8 scale: much faster for camera photos, same result after resize.
            img.draft("RGB", _draft_size(w, h, draft))
        with _BUDGET.reserve(img.size[0] * img.size[1]):
            img.load()
            transpose = _EXIF_TRANSPOSE.get(img.getexif().get(0x0112)) if hasattr(img, "getexif") else None
            img = _shrink(img, draft)
            if transpose is not None:
                img = img.transpose(transpose)
            return _to_rgb(img)
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageError(f"image too large to decode safely ({e})", TOO_LARGE) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"truncated or corrupt image ({e})") from None


_EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _shrink(img: Image.Image, shorter: int | None) -> Image.Image:
    """A decoded picture far larger than needed, box-averaged down by a whole factor (the shorter side stays
    at least twice `shorter`), so the mode conversions and the resize that follow work on a small copy."""
    if not shorter:
        return img
    factor = min(img.size) // (2 * shorter)
    if factor < 2:
        return img
    try:
        return img.reduce(factor)
    except (ValueError, NotImplementedError):  # a mode reduce() does not support (e.g. I;16)
        return img


def _draft_size(w: int, h: int, shorter: int) -> tuple[int, int]:
    # draft() keeps a scale at least this big; ask for the shorter side to stay >= `shorter`.
    scale = shorter / min(w, h)
    return (max(1, round(w * scale)), max(1, round(h * scale)))


def resize_and_crop(img: Image.Image, prep: Preprocessing) -> Image.Image:
    """Shorter side to `prep.resize`, then the centre `prep.crop` square."""
    w, h = img.size
    if w <= h:
        size = (prep.resize, max(1, int(prep.resize * h / w)))
    else:
        size = (max(1, int(prep.resize * w / h)), prep.resize)
    left = int(round((size[0] - prep.crop) / 2.0))
    top = int(round((size[1] - prep.crop) / 2.0))
    resample = _RESAMPLE[prep.interpolation]
    if size[0] * size[1] > MAX_RESIZED_PIXELS:
        # Resample only the source region that lands in the crop: output-sized memory for any aspect ratio.
        sx, sy = w / size[0], h / size[1]
        box = (left * sx, top * sy, (left + prep.crop) * sx, (top + prep.crop) * sy)
        return img.resize((prep.crop, prep.crop), resample, box=box)
    img = img.resize(size, resample)
    return img.crop((left, top, left + prep.crop, top + prep.crop))


def to_uint8_array(img: Image.Image) -> np.ndarray:
    """HWC RGB picture -> CHW uint8 array (normalisation is done batched, see `normalize`)."""
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def normalize(batch, prep: Preprocessing):
    """uint8 NCHW -> float32 NCHW normalised with the model's mean and std: a numpy array for the inference
    engines, a torch tensor when given one (training)."""
    mean = np.asarray(prep.mean, dtype=np.float32).reshape(1, 3, 1, 1) * 255.0
    std = np.asarray(prep.std, dtype=np.float32).reshape(1, 3, 1, 1) * 255.0
    if isinstance(batch, np.ndarray):
        return (batch.astype(np.float32) - mean) / std
    import torch

    return (batch.float() - torch.from_numpy(mean)) / torch.from_numpy(std)


def prepare(source: ImageSource, prep: Preprocessing) -> np.ndarray:
    """Load, orient, resize and crop one image: a CHW uint8 array, or ImageError."""
    return to_uint8_array(resize_and_crop(load_image(source, draft=prep.resize), prep))


def guarded(load: Callable[[T], R], item: T) -> R | ImageError:
    """`load(item)`, with every failure returned as an ImageError value: one bad file never stops a batch."""
    try:
        return load(item)
    except ImageError as e:
        return e
    except Exception as e:  # a Pillow plugin bug
        return ImageError(f"could not read image ({type(e).__name__}: {e})")


def load_ahead(
    items: Iterable[T], load: Callable[[T], R], *, window: int, workers: int
) -> Iterator[R | ImageError]:
    """`guarded(load, item)` for each item, in order, computed up to `window` ahead in threads (Pillow
    releases the GIL) while the caller runs the model. Closing the iterator early cancels what is queued."""
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="decode") as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(guarded, load, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()


def prepare_ahead(
    sources: Iterable[ImageSource], prep: Preprocessing, *, window: int, workers: int
) -> Iterator[np.ndarray | ImageError]:
    """`prepare` of each source, in order, decoded ahead in threads; failures as ImageError values."""
    return load_ahead(sources, lambda source: prepare(source, prep), window=window, workers=workers)
