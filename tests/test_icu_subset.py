"""The classify bundle's ICU data subset (scripts/icu_data_subset.py, run by build.spec): the package format
round-trips, and Qt loaded with the subset library sorts, maps case and decodes legacy text as with the whole
one for English (other languages' collation falls back to root, as ICU does for any locale it lacks)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from icu_data_subset import keep, read_package, subset_library, write_package  # noqa: E402

QT_CHECK = """
from PySide6.QtCore import QCollator, QLocale, QStringDecoder, QTimeZone, qInstallMessageHandler
messages = []
qInstallMessageHandler(lambda kind, context, text: messages.append(text))
words = ["zebra", "Äpfel", "apple", "file10", "file9", "Zürich", "éclair"]
for name in ("en_US", "sv_SE"):
    c = QCollator(QLocale(name))
    c.setNumericMode(True)
    print(name, sorted(words, key=c.sortKey))
print(QLocale("de_DE").toUpper("straße"), QLocale("tr_TR").toUpper("i"))
print(QStringDecoder("Shift_JIS").isValid(), QStringDecoder("windows-1252").isValid())
print(QTimeZone(b"Europe/Berlin").isValid(), messages)
"""


def test_a_package_reads_back_and_keeps_its_order():
    header = bytes([32, 0, 0xDA, 0x27]) + bytes(4) + bytes([0, 0, 2, 0]) + b"CmnD" + bytes(16)
    items = [(b"icudt73l/coll/de.res", b"\x01" * 7), (b"icudt73l/coll/root.res", b"\x02" * 33),
             (b"icudt73l/en.res", b"\x03" * 16)]
    blob = write_package(header, items)
    h, got = read_package(blob)
    assert h == header and [n for n, _ in got] == [n for n, _ in items]
    # items are 16-byte aligned and padded, as ICU's own packages are; each starts with its own bytes
    assert all(data.startswith(orig) and len(data) % 16 == 0 for (_, data), (_, orig) in zip(got, items))
    with pytest.raises(ValueError):
        read_package(b"\x00" * 64)


def test_only_other_languages_locale_bundles_go():
    assert keep("icudt73l/coll/root.res") and keep("icudt73l/coll/ucadata.icu") and keep("icudt73l/cnvalias.icu")
    assert keep("icudt73l/en_GB.res") and keep("icudt73l/coll/res_index.res") and keep("icudt73l/zoneinfo64.res")
    assert keep("icudt73l/brkitr/cjdict.dict") and keep("icudt73l/curr/pool.res")
    assert not keep("icudt73l/de.res") and not keep("icudt73l/coll/sv.res") and not keep("icudt73l/zh_Hant_TW.res")


def _qt_icu_data() -> Path:
    import PySide6

    found = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    if not found or not sys.platform.startswith("linux") or not (shutil.which("gcc") and shutil.which("readelf")):
        pytest.skip("needs Linux PySide6's bundled ICU, gcc and readelf (as the classify bundle's build does)")
    return found[0]


def _run_qt(preload: Path | None) -> list[str]:
    env = {**os.environ, **({"LD_PRELOAD": str(preload)} if preload else {})}
    r = subprocess.run([sys.executable, "-c", QT_CHECK], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_qt_works_the_same_in_english_with_the_subset(tmp_path):
    lib = tmp_path / _qt_icu_data().name
    shutil.copyfile(_qt_icu_data(), lib)
    before, after = subset_library(lib)
    assert after < before * 0.5
    whole, subset = _run_qt(None), _run_qt(lib)
    assert subset[0] == whole[0] == "en_US ['Äpfel', 'apple', 'éclair', 'file9', 'file10', 'zebra', 'Zürich']"
    assert subset[0].replace("en_US", "sv_SE") == subset[1]  # Swedish order (Ä after Z) falls back to root
    assert subset[1] != whole[1]  # (which shows the subset library, not the wheel's, was the one loaded)
    assert subset[2:] == whole[2:] == ["STRASSE İ", "True True", "True []"]
