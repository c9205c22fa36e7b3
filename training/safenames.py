"""Turning labels (text from anyone's labels.csv) into folder names that stay where they are put.

A label is data, not a path: `../../x`, `/home/me`, `C:\\x`, `CON` or a name with control characters must
never reach the file system as given. Every place that makes a path from a label goes through
`safe_folder_names`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

# Windows refuses these as file names, with or without an extension (CON.txt is CON).
RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{p}{i}" for p in ("COM", "LPT") for i in list("123456789") + ["¹", "²", "³"]}
)
MAX_CHARS = 100  # well under every file system's 255-byte limit, even in 4-byte UTF-8
_UNSAFE = re.compile(r'[\\/:*?"<>|]')


def safe_folder_name(label: str) -> str:
    """One path component made from `label`: no separators, no `..`, no drive, no reserved or hidden name,
    no control characters. Different labels may map to the same name; `safe_folder_names` resolves that."""
    name = unicodedata.normalize("NFC", str(label))
    # Control, format (e.g. right-to-left override), unassigned and odd space characters: all replaced.
    name = "".join(c if c.isprintable() else "_" for c in name)
    name = _UNSAFE.sub("_", name)
    name = name.strip(" .")  # Windows drops trailing dots and spaces; a leading dot hides the folder
    if not name:
        name = "_"
    if name.split(".")[0].rstrip(" ").upper() in RESERVED:
        name = "_" + name
    return name[:MAX_CHARS].rstrip(" .") or "_"


def safe_folder_names(labels: Iterable[str]) -> dict[str, str]:
    """label -> a distinct safe folder name. Collisions (also those differing only in case, which Windows
    and macOS treat as one folder) get "-2", "-3"... in sorted label order, so the result is the same on
    every run and platform."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for label in sorted(set(labels)):
        base = safe_folder_name(label)
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base[: MAX_CHARS - len(str(n)) - 1]}-{n}"
        taken.add(name.casefold())
        out[label] = name
    return out
