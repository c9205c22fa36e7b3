"""What the window remembers between runs, kept with QSettings.

Native format (the registry on Windows, a plist on macOS, ~/.config/DogBreedStudio/Dog Breed Studio.conf on
Linux). With DOGBREED_HOME set (tests, side-by-side installs) it is an INI file in that folder instead.

Every read is defensive: a corrupt file, a value of the wrong type or one written by another program falls back
to the default, so the settings can never stop the app from starting. Lists and dicts are stored as JSON text,
which reads back the same in every format (QSettings turns a one-item list into a string in INI files). There
is no format version: a key whose meaning changes gets a new name, and the old one is simply never read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings

from ..core.files import DiskFull, full_kind, size_of

ORGANIZATION = "DogBreedStudio"
APPLICATION = "Dog Breed Studio"


def set_app_names(app: QCoreApplication) -> None:
    """Once, at start: QSettings() and the platform's folders are named after these."""
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)


def store() -> QSettings:
    home = os.environ.get("DOGBREED_HOME")
    if home:
        return QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def location() -> str:
    """Where the settings live, for the docs and the About box."""
    return store().fileName()


def _raw(key: str) -> Any:
    try:
        return store().value(key)
    except Exception:  # a value QSettings cannot turn into a Python object (foreign binary data)
        return None


def get(key: str, default):
    """The stored value if it has the default's type (numbers and booleans parsed from text), else `default`."""
    value = _raw(key)
    if value is None:
        return default
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            return {"true": True, "false": False}.get(str(value).strip().lower(), default)
        if isinstance(default, int):
            return int(str(value).strip())
        if isinstance(default, float):
            number = float(str(value).strip())
            return number if number == number else default  # not NaN
        if isinstance(default, str):
            return value if isinstance(value, str) else default
        if isinstance(default, (bytes, QByteArray)):
            return bytes(value) if isinstance(value, (bytes, QByteArray)) else default
    except (TypeError, ValueError, OverflowError):
        return default
    return default


def get_json(key: str, default, kind: type):
    """A JSON value of type `kind` (list or dict), else `default`."""
    text = get(key, "")
    try:
        value = json.loads(text) if text else default
    except (ValueError, RecursionError):
        return default
    return value if isinstance(value, kind) else default


def put(key: str, value) -> None:
    s = store()
    if isinstance(value, (list, dict)):
        value = json.dumps(value)
    elif isinstance(value, bytes):
        value = QByteArray(value)
    s.setValue(key, value)


def remove(key: str) -> None:
    store().remove(key)


def reset() -> None:
    """Settings ▸ Reset to defaults: forget everything (the window then puts its defaults back)."""
    s = store()
    s.clear()
    s.sync()


def sync() -> bool:
    """Write to disk now; False when the file cannot be written (a read-only home). A full disk raises
    core.files.DiskFull, whose message says where and how much space is needed; the file written before is
    kept whole (QSettings writes a new one and renames it)."""
    s = store()
    s.sync()
    if s.status() == QSettings.Status.NoError:
        return True
    path = Path(s.fileName())
    needed = max(size_of(path), _written_size(s))
    kind = full_kind(None, path.parent, needed)
    if kind:
        raise DiskFull.at(path, needed, quota=kind == "quota")
    return False


def _written_size(s: QSettings) -> int:
    """About the bytes the settings take as text (an INI file, a plist)."""
    total = 0
    for key in s.allKeys():
        try:
            total += len(key) + len(str(s.value(key))) + 4
        except Exception:  # a foreign value QSettings cannot turn into a Python object
            total += len(key) + 64
    return total


# -- the last folder of each file dialog ------------------------------------------------------------------------
def dialog_dir(name: str) -> str:
    """Where the file dialog `name` opened last ("" when never, or when that folder is gone)."""
    folder = get(f"dialogs/{name}", "")
    return folder if folder and Path(folder).is_dir() else ""


def remember_dialog(name: str, chosen: str | Path) -> None:
    """After a dialog returns `chosen` (a file or a folder), it opens in that folder next time."""
    p = Path(chosen)
    put(f"dialogs/{name}", str(p if p.is_dir() else p.parent))
