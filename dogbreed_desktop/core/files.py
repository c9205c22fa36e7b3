"""Writing files so that a crash or a full disk never leaves half of one (torch-free: the window imports it
before torch). Every file the app and training write goes through `atomic_write`, so a full disk reads the
same everywhere: one sentence naming the folder and the space needed, the previous file left as it was."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
import traceback
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError

_EDQUOT = getattr(errno, "EDQUOT", None)  # not on Windows
# How libraries that do not raise OSError (safetensors, Qt) word a full disk or quota.
_FULL_WORDS = ("no space left", "os error 28", "storagefull", "not enough space on the disk",
               "disk quota exceeded", "os error 122", "quotaexceeded")
_QUOTA_WORDS = ("disk quota exceeded", "os error 122", "quotaexceeded")
# torch.save and np.save report a short write without an errno ("unexpected pos", "N requested and M
# written"); a write that failed and left less than this free ran out of room.
LOW_SPACE = 1 << 20


class DiskFull(UserError, OSError):
    """A file could not be written for want of space (or quota). An OSError too (errno ENOSPC/EDQUOT), so
    code that handles a failed write also handles this one; its message is the sentence to show."""

    def __init__(self, folder: Path, name: str, needed: int | None, free: int | None, quota: bool = False):
        self.folder, self.name, self.needed, self.free, self.quota = Path(folder), name, needed, free, quota
        super().__init__(_EDQUOT if quota and _EDQUOT else errno.ENOSPC, self._sentence())
        self.filename = str(self.folder / name)

    def _sentence(self) -> str:
        where, needed = f"in {self.folder}", human_size(self.needed)
        if self.quota:
            return (f"Your disk quota is used up {where}: saving {self.name} needs about {needed}. "
                    "Free some space and try again." if self.needed else
                    f"Your disk quota is used up {where}, so {self.name} cannot be saved. Free some space and "
                    "try again.")
        if self.needed and (self.free is None or self.needed > self.free):
            have = "" if self.free is None else f", {human_size(self.free)} free"
            space = f"about {needed} needed{have}"
        else:  # the estimate was low, or there was none: all we know is that the free space was not enough
            space = f"it needs more than the {human_size(self.free)} free"
        return f"Not enough disk space {where} to save {self.name}: {space}. Free some space and try again."

    @classmethod
    def at(cls, path: Path, needed: int | None, quota: bool = False) -> "DiskFull":
        """For the file `path`, with the free space of its folder now."""
        folder = _existing(Path(path).parent)
        return cls(folder, Path(path).name, needed or None, free_space(folder), quota)

    def __str__(self) -> str:
        return self.strerror

    def __reduce__(self):  # crosses process boundaries (torchrun ranks, pickled task results) intact
        return type(self), (self.folder, self.name, self.needed, self.free, self.quota)


def human_size(n: int | None) -> str:
    """1536 -> "1.5 KB", 5_000_000 -> "4.8 MB" (binary units, as the file managers of Windows and Linux)."""
    n = max(0, int(n or 0))
    if n < 1024:
        return f"{n} bytes" if n != 1 else "1 byte"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
    return f"{text.removesuffix('.0')} {unit}"


def free_space(folder: Path) -> int | None:
    """Bytes a user may still write in `folder` (None when it cannot be told)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def full_kind(error: BaseException | None, folder: Path, needed: int = 0) -> str | None:
    """"quota" or "disk" when `error`, raised writing in `folder`, means the quota or the disk is full, else
    None. A failed write (with no `error`: a library that only says "failed", like QSettings) that left less
    free than LOW_SPACE or `needed` ran out of room. Call it before removing a failed tmp file: a write that
    filled the disk leaves (almost) nothing free."""
    if isinstance(error, DiskFull):
        return "quota" if error.quota else "disk"
    text = str(error).lower() if error is not None else ""
    code = error.errno if isinstance(error, OSError) else None
    if (_EDQUOT is not None and code == _EDQUOT) or any(w in text for w in _QUOTA_WORDS):
        return "quota"
    if code == errno.ENOSPC or any(w in text for w in _FULL_WORDS):
        return "disk"
    if error is not None and not isinstance(error, Exception):  # Ctrl-C, SystemExit
        return None
    free = free_space(_existing(Path(folder)))
    if free is not None and free < max(LOW_SPACE, needed):
        return "disk"
    return None


def _existing(folder: Path) -> Path:
    """The nearest folder of `folder` that exists (a full disk can stop the folder itself being made)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def file_in_the_way(folder: Path) -> Path | None:
    """The file standing where `folder` or one of its parents should be (so the folder cannot be made), if any."""
    for p in (folder, *folder.parents):
        if p.exists():  # False past a file too (ENOTDIR), so the first one that exists is the one in the way
            return None if p.is_dir() else p
    return None


def atomic_write(path: Path, write, size: int | None = None) -> None:
    """Call write(tmp_path) then rename over `path`, so a crash never leaves half a file. `size` (the bytes the
    file will take, when known) makes a full disk's message exact. Raises DiskFull when the disk or quota is
    full; the tmp file is removed and `path` left as it was."""
    path = Path(path)
    blocker = file_in_the_way(path.parent)
    if blocker is not None:  # else mkdir's "[Errno 17] File exists: 'x'", which does not say what is wrong
        raise NotADirectoryError(f"{blocker} is a file, not a folder")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, path)
    except BaseException as e:
        written = size_of(tmp)
        kind = full_kind(e, path.parent)
        if kind is not None:
            # The writer that failed (torch's) still holds the tmp file open from the traceback's frames:
            # let it go, or the space stays taken after the unlink until the error is forgotten.
            _let_go(e)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if kind is None or isinstance(e, DiskFull):
            raise
        # Unknown size: the previous version's is the best guess; more than what fit, at least.
        raise DiskFull.at(path, max(size or size_of(path), written), quota=kind == "quota") from e


def _let_go(error: BaseException) -> None:
    """Clear the locals of the finished frames of `error` and of the errors it came from."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        error = error.__cause__ or error.__context__


@contextmanager
def saving(path: Path, size: int | None = None):
    """Around writes to `path` that cannot go through atomic_write (making its folder, a link): a full disk
    met there becomes DiskFull too."""
    try:
        yield
    except Exception as e:
        kind = full_kind(e, Path(path).parent)
        if kind is None or isinstance(e, DiskFull):
            raise
        raise DiskFull.at(path, size, quota=kind == "quota") from e


def size_of(path) -> int:
    """The file's size in bytes; 0 when there is none."""
    try:
        return os.path.getsize(path) if path is not None else 0
    except OSError:
        return 0


def write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """`text` to `path` atomically; a full disk raises DiskFull with the exact size needed."""
    write_bytes(path, text.encode(encoding))


def write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data), size=len(data))


def payload_size(obj) -> int:
    """About the bytes `obj` takes on disk: the arrays and tensors in it (nested dicts, lists) plus a little per
    item; for the size a checkpoint or tensor file needs, without writing it."""
    if hasattr(obj, "untyped_storage"):  # a torch tensor: saved with its whole storage, even as a view
        return int(obj.untyped_storage().nbytes()) + 128
    if hasattr(obj, "nbytes") and hasattr(obj, "shape"):  # numpy
        return int(obj.nbytes) + 128
    if isinstance(obj, dict):
        return sum(payload_size(k) + payload_size(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set)):
        return sum(payload_size(v) for v in obj) + 16
    if isinstance(obj, (str, bytes)):
        return len(obj) + 16
    return 16


def sha256_of(source: Path | bytes, length: int = 64) -> str:
    """The one content digest: the sha256 of a file (read a megabyte at a time, so memory stays bounded whatever
    its size) or of bytes, in hex; `length` keeps that many leading digits (a short cache key)."""
    h = hashlib.sha256()
    if isinstance(source, bytes):
        h.update(source)
    else:
        with open(source, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:length]
