"""Schemathesis hooks (SCHEMATHESIS_HOOKS=schemathesis_hooks): a schema can say "a JPEG" but not what a JPEG
is, so each image media type the API documents generates real pictures (Pillow, random size and colour),
as a schema-conforming client sends them."""

from __future__ import annotations

import io

import schemathesis
from hypothesis import strategies as st
from PIL import Image

from dogbreed_desktop.server.openapi import IMAGE_TYPES


def pictures(media_type: str) -> st.SearchStrategy[bytes]:
    fmt = media_type.split("/")[1].upper()

    def encode(size, color) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", size, color).save(buf, fmt)
        return buf.getvalue()

    sizes = st.tuples(st.integers(1, 96), st.integers(1, 96))
    return st.builds(encode, sizes, st.tuples(*[st.integers(0, 255)] * 3))


for _type in IMAGE_TYPES:
    schemathesis.openapi.media_type(_type, pictures(_type))
