"""An uploaded file -> the model's input arrays, with each kind of bad image mapped to its HTTP status.

The file is opened once (`core.predict.preprocess.open_image`: the header only), its size checked against the server's
limit, then decoded from there by the classifier's own `prepare`, so an upload and the same file given to
`predict` become the same arrays (one per preprocessing of an ensemble) and get the same answer.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..core.predict.preprocess import CORRUPT, MAX_PIXELS, NOT_AN_IMAGE, TOO_LARGE, ImageError, OpenedImage, open_image
from .errors import ApiError
from .uploads import Upload

# ImageError.kind -> (HTTP status, the API's error code)
STATUS = {NOT_AN_IMAGE: (415, "not_an_image"), TOO_LARGE: (413, "image_too_large"), CORRUPT: (422, "corrupt_image")}


def prepare_upload(upload: Upload, prepare: Callable[[OpenedImage], tuple[np.ndarray, ...]],
                   max_pixels: int) -> tuple[np.ndarray, ...]:
    try:
        img = open_image(upload.data)
        w, h = img.size
        limit = MAX_PIXELS if img.format == "JPEG" else max_pixels  # JPEGs decode at reduced scale
        if w * h > limit:
            raise ImageError(f"image too large to decode safely ({w}x{h} pixels; the limit is "
                             f"{limit / 2**20:g} megapixels, {limit} pixels)", TOO_LARGE)
        return prepare(OpenedImage(img))
    except ImageError as e:
        status, code = STATUS[e.kind]
        raise ApiError(status, code, str(e), file=upload.filename) from None
    except Exception as e:  # a Pillow plugin bug: still this file's fault, not the server's
        raise ApiError(422, "corrupt_image", f"could not read image ({type(e).__name__}: {e})",
                       file=upload.filename) from None
