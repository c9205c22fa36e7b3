"""Schemathesis hooks (SCHEMATHESIS_HOOKS=schemathesis_hooks): a schema can say "a JPEG" but not that the bytes
decode, so each image media type the API documents is drawn as a real picture made by Pillow: a random size,
mode, colour and a strip of noise, in that type's format. Schemathesis draws a raw body of that type from it,
and each multipart photo too (the schema's `encoding` lists these types for the `image` field), so a schema-
conforming request sends pictures, which takes the decoder and the model through more than one flat colour.

Registered by media type, not as the `binary` string format: a format strategy also stands in for the
schema-violating strings of the negative phases (an over-long or empty "file" became a valid picture, and its
200 read as invalid data accepted)."""

from __future__ import annotations

import io

import schemathesis
from hypothesis import strategies as st
from PIL import Image

from dogbreed_desktop.server.openapi import IMAGE_TYPES

FORMATS = {t: t.split("/")[1].upper() for t in IMAGE_TYPES}
MODES = ("RGB", "L", "RGBA", "P")


def _encode(fmt: str, size: tuple[int, int], mode: str, color: tuple[int, int, int], noise: bytes) -> bytes:
    img = Image.new("RGB", size, color)
    if len(noise) >= 3:  # a strip of random pixels: not every picture is one flat colour
        strip = Image.frombytes("RGB", (len(noise) // 3, 1), noise[: len(noise) // 3 * 3])
        img.paste(strip.resize((size[0], max(1, size[1] // 4))), (0, 0))
    if fmt == "JPEG" and mode in ("RGBA", "P"):  # JPEG has no alpha or palette
        mode = "RGB"
    img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def pictures(fmt: str) -> st.SearchStrategy[bytes]:
    return st.builds(_encode, st.just(fmt), st.tuples(st.integers(1, 96), st.integers(1, 96)),
                     st.sampled_from(MODES), st.tuples(*[st.integers(0, 255)] * 3),
                     st.binary(min_size=0, max_size=96 * 3))


for _type, _fmt in FORMATS.items():
    schemathesis.openapi.media_type(_type, pictures(_fmt))
