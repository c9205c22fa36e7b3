"""Decoding any image a person might drop, and the eval transform, with Pillow and torch only.

`Preprocessing` is stored in every model artifact, so training-time validation and the app build the same
transform from the same numbers.
"""

from __future__ import annotations

import io
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar, Union

import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .imagetypes import IMAGE_SUFFIXES, is_image_path  # noqa: F401 (re-exported)
from .specs import Preprocessing  # noqa: F401 (re-exported)

# Past this many pixels a file is refused rather than decoded (Pillow's own bomb guard trips at 2x its limit,
# and only warns below that). 16k x 16k covers any camera.
MAX_PIXELS = 16384 * 16384
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error for that file, not a grey half-picture

ImageSource = Union[str, Path, Image.Image, bytes]  # bytes: an uploaded file held in memory
T = TypeVar("T")


class ImageError(Exception):
    """A file that cannot be turned into a picture, with a message fit to show the user."""


_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def _open(path: Path) -> Image.Image:
    try:
        if path.is_dir():
            raise ImageError("is a folder, not an image")
        if path.stat().st_size == 0:
            raise ImageError("empty file")
        return Image.open(path)
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except UnidentifiedImageError:
        raise ImageError("not an image, or a format Pillow cannot read") from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"image too large to decode safely ({e})") from None
    except OSError as e:  # e.g. a JPEG cut off inside its header: "Truncated File Read"
        raise ImageError(f"truncated or corrupt image ({e})") from None


def _open_bytes(data: bytes) -> Image.Image:
    """`_open` for a file held in memory (the web server never writes uploads to disk)."""
    if not data:
        raise ImageError("empty file")
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not an image, or a format Pillow cannot read") from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"image too large to decode safely ({e})") from None
    except OSError as e:
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
    if isinstance(source, Image.Image):
        img = source
    elif isinstance(source, bytes):
        img = _open_bytes(source)
    else:
        img = _open(Path(source))
    try:
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"image too large to decode safely ({w}x{h} pixels)")
        if w == 0 or h == 0:
            raise ImageError("image has no pixels")
        if draft and img.format == "JPEG" and not isinstance(source, Image.Image):
            # Decode straight at 1/2, 1/4 or 1/8 scale: much faster for camera photos, same result after resize.
            img.draft("RGB", _draft_size(w, h, draft))
        img.load()
        img = ImageOps.exif_transpose(img)
        return _to_rgb(img)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"truncated or corrupt image ({e})") from None


def _draft_size(w: int, h: int, shorter: int) -> tuple[int, int]:
    # draft() keeps a scale at least this big; ask for the shorter side to stay >= `shorter`.
    scale = shorter / min(w, h)
    return (max(1, round(w * scale)), max(1, round(h * scale)))


def resize_and_crop(img: Image.Image, prep: Preprocessing) -> Image.Image:
    w, h = img.size
    if w <= h:
        size = (prep.resize, max(1, int(prep.resize * h / w)))
    else:
        size = (max(1, int(prep.resize * w / h)), prep.resize)
    img = img.resize(size, _RESAMPLE[prep.interpolation])
    left = int(round((size[0] - prep.crop) / 2.0))
    top = int(round((size[1] - prep.crop) / 2.0))
    return img.crop((left, top, left + prep.crop, top + prep.crop))


def to_uint8_tensor(img: Image.Image) -> torch.Tensor:
    """HWC RGB picture -> CHW uint8 tensor (normalisation is done batched, see `normalize`)."""
    w, h = img.size
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(h, w, 3).permute(2, 0, 1)


def normalize(batch: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    """uint8 NCHW -> float NCHW normalised with the model's mean and std."""
    mean = torch.tensor(prep.mean, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(prep.std, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
    return (batch.float() - mean) / std


def prepare(source: ImageSource, prep: Preprocessing) -> torch.Tensor:
    """Load, orient, resize and crop one image: a CHW uint8 tensor, or ImageError."""
    return to_uint8_tensor(resize_and_crop(load_image(source, draft=prep.resize), prep))


def guarded(load: Callable[[T], torch.Tensor], item: T) -> torch.Tensor | ImageError:
    """`load(item)`, with every failure returned as an ImageError value: one bad file never stops a batch."""
    try:
        return load(item)
    except ImageError as e:
        return e
    except Exception as e:  # a Pillow plugin bug
        return ImageError(f"could not read image ({type(e).__name__}: {e})")


def load_ahead(
    items: Iterable[T], load: Callable[[T], torch.Tensor], *, window: int, workers: int
) -> Iterator[torch.Tensor | ImageError]:
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
) -> Iterator[torch.Tensor | ImageError]:
    """`prepare` of each source, in order, decoded ahead in threads; failures as ImageError values."""
    return load_ahead(sources, lambda source: prepare(source, prep), window=window, workers=workers)


def image_from_bytes(data: bytes) -> Image.Image:
    """For pasted image data."""
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not an image, or a format Pillow cannot read") from None
