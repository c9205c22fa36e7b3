"""An uploaded file -> the model's input arrays, with each kind of bad image mapped to its HTTP status.

Decoding is the classifier's own `prepare` on the bytes, so an upload and the same file given to `predict` become
the same arrays (one per preprocessing of an ensemble) and get the same answer. The header is read first to refuse non-images and oversized pictures before decoding anything.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..core.preprocess import MAX_PIXELS, ImageError
from .errors import ApiError
from .uploads import Upload


def prepare_upload(upload: Upload, prepare: Callable[[bytes], tuple[np.ndarray, ...]],
                   max_pixels: int) -> tuple[np.ndarray, ...]:
    name = upload.filename
    try:
        with Image.open(io.BytesIO(upload.data)) as img:  # reads the header only
            w, h = img.size
            limit = MAX_PIXELS if img.format == "JPEG" else max_pixels  # JPEGs decode at reduced scale
    except UnidentifiedImageError:
        raise ApiError(415, "not_an_image", "not an image, or a format Pillow cannot read", file=name) from None
    except Image.DecompressionBombError as e:
        raise ApiError(413, "image_too_large", f"image too large to decode safely ({e})", file=name) from None
    except Exception as e:  # OSError/ValueError/SyntaxError from a damaged header, or a plugin bug
        raise ApiError(422, "corrupt_image", f"truncated or corrupt image ({e})", file=name) from None
    if w * h > limit:
        raise ApiError(413, "image_too_large", f"image too large to decode safely ({w}x{h} pixels; "
                       f"the limit is {limit / 2**20:g} megapixels, {limit} pixels)", file=name)
    try:
        return prepare(upload.data)
    except ImageError as e:
        raise ApiError(422, "corrupt_image", str(e), file=name) from None
    except Exception as e:  # a Pillow plugin bug: still this file's fault, not the server's
        raise ApiError(422, "corrupt_image", f"could not read image ({type(e).__name__}: {e})", file=name) from None
