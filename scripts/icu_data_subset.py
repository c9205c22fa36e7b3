"""The classify bundle's size: Qt's ICU data (libicudata.so.NN, 32 MB on Linux) without the locale bundles of
languages the app does not speak.

Qt links ICU for collation, case mapping and legacy text codecs; the app's strings are English. ICU's own data
build can filter locales out (its "data filters"); this does the same after the fact on the wheel's library:
every item of the common data package is kept (collation root, converters, normalisation, time zones, break
dictionaries, ...) except the per-locale resource bundles of other languages (`de.res`, `coll/sv.res`, ...),
for which ICU falls back to root as it does for any locale it lacks. The kept items are written back as a
common data package in ICU's format (a header, a sorted table of contents, 16-byte aligned items) and
assembled into a shared library exporting the same symbol (`icudtNN_dat`) with gcc.

    python scripts/icu_data_subset.py PATH/TO/libicudata.so.73   # in place; prints the sizes
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

# Locale bundles ICU falls back from: language[_Script][_REGION][_variant].res, in any tree (coll/, curr/, ...).
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*\.res$")
KEPT_LOCALES = ("en",)  # and root, which is not a locale name


def keep(name: str) -> bool:
    """Whether an item (e.g. "icudt73l/coll/de.res") stays: all but other languages' locale bundles."""
    base = name.rsplit("/", 1)[-1]
    if not _LOCALE.match(base) or base in ("root.res", "pool.res", "res_index.res"):
        return True
    return base[:-4].split("_")[0] in KEPT_LOCALES


def read_package(blob: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(header, [(item name, item bytes)]) of an ICU common data package ("CmnD", offset table of contents)."""
    header_size, magic1, magic2 = struct.unpack_from("<HBB", blob, 0)
    if (magic1, magic2) != (0xDA, 0x27) or blob[12:16] != b"CmnD" or blob[8] != 0:  # little-endian only
        raise ValueError("not a little-endian ICU common data package")
    toc = blob[header_size:]
    (count,) = struct.unpack_from("<I", toc, 0)
    entries = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_at, data_at) in enumerate(entries):
        end = entries[i + 1][1] if i + 1 < count else len(toc)
        items.append((toc[name_at : toc.index(b"\0", name_at)], toc[data_at:end]))
    return blob[:header_size], items


def write_package(header: bytes, items: list[tuple[bytes, bytes]]) -> bytes:
    """The package for `items` (kept in their sorted order: ICU finds them by binary search)."""
    names_at = 4 + 8 * len(items)
    names, name_offsets = b"", []
    for name, _ in items:
        name_offsets.append(names_at + len(names))
        names += name + b"\0"
    data_at = _align(names_at + len(names))
    body, data_offsets = b"", []
    for _, data in items:
        data_offsets.append(data_at + len(body))
        body += data + b"\0" * (_align(len(data)) - len(data))
    toc = struct.pack("<I", len(items)) + b"".join(struct.pack("<II", n, d) for n, d in zip(name_offsets, data_offsets))
    toc += names
    return header + toc + b"\0" * (data_at - len(toc)) + body


def _align(n: int, to: int = 16) -> int:
    return (n + to - 1) // to * to


def _data_symbol(lib: Path) -> tuple[str, int, int]:
    """(name, file offset, size) of the library's icudtNN_dat, from readelf's symbol and section tables."""
    syms = subprocess.run(["readelf", "--dyn-syms", "-W", str(lib)], capture_output=True, text=True, check=True)
    found = [line.split() for line in syms.stdout.splitlines() if re.search(r"\bicudt\d+_dat$", line)]
    if len(found) != 1:
        raise ValueError(f"{lib.name} does not export one icudtNN_dat")
    _, value, size, *_, name = found[0]
    addr, size = int(value, 16), int(size, 0)
    sections = subprocess.run(["readelf", "-S", "-W", str(lib)], capture_output=True, text=True, check=True)
    for line in sections.stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m:
            sec_addr, sec_off, sec_size = (int(g, 16) for g in m.groups())
            if sec_addr <= addr < sec_addr + sec_size:
                return name, sec_off + addr - sec_addr, size
    raise ValueError(f"{lib.name}: no section holds {name}")


def subset_library(lib: Path) -> tuple[int, int]:
    """Rewrite `lib` in place with the kept items; returns (bytes before, bytes after). Raises on any doubt
    (the caller keeps the original then)."""
    lib = Path(lib)
    symbol, offset, size = _data_symbol(lib)
    header, items = read_package(lib.read_bytes()[offset : offset + size])
    kept = [(n, d) for n, d in items if keep(n.decode())]
    package = write_package(header, kept)
    if read_package(package)[1] != kept:
        raise ValueError("the rewritten package does not read back")
    soname = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
    soname = re.search(r"Library soname: \[(.+?)\]", soname)[1]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "data.bin").write_bytes(package)
        (tmp / "data.S").write_text(
            f'.section .rodata\n.globl {symbol}\n.type {symbol}, @object\n.balign 16\n{symbol}:\n'
            f'.incbin "{tmp / "data.bin"}"\n.size {symbol}, .-{symbol}\n.section .note.GNU-stack,"",@progbits\n')
        out = tmp / lib.name
        subprocess.run(["gcc", "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-o", str(out), str(tmp / "data.S")],
                       check=True, capture_output=True)
        before = lib.stat().st_size
        shutil.copyfile(out, lib)
    return before, lib.stat().st_size


if __name__ == "__main__":
    b, a = subset_library(Path(sys.argv[1]))
    print(f"{sys.argv[1]}: {b / 1e6:.1f} MB -> {a / 1e6:.1f} MB")
