"""JSON that strict readers accept, from any value the app reports: `predict --json`, `evaluate --json` and
`train --progress json` all write through `dumps`."""

from __future__ import annotations

import json
import math


def json_safe(value):
    """`value` with NaN/inf as null, strings made valid Unicode, tuples as lists, numpy values and tensors as
    numbers and lists, anything else as its text, so `json.dumps(allow_nan=False)` always gives JSON that strict
    readers accept (bare NaN and lone surrogates are not JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _valid_unicode(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, dict):
        return {_valid_unicode(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # a numpy scalar or array, a tensor
        return json_safe(value.tolist())
    return _valid_unicode(str(value))


def _valid_unicode(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # Bytes a file name held that were not UTF-8 become \xNN text; other lone surrogates \uDNNN.
        raw = text.encode("utf-8", "surrogateescape") if _only_escaped_bytes(text) else None
        if raw is not None:
            return raw.decode("utf-8", "backslashreplace")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _only_escaped_bytes(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def dumps(value, **kwargs) -> str:
    return json.dumps(json_safe(value), allow_nan=False, **kwargs)
