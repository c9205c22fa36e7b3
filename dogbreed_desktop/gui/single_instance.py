"""One window per user: a second `dogbreed-desktop photo.jpg` hands its photos to the running window and exits,
and photos the OS opens with the app (QFileOpenEvent: macOS "Open With", the Dock icon) land there too.

The running window listens on a QLocalServer (a Unix socket on Linux and macOS, a named pipe on Windows) whose
name is per user and per data folder. A launch first tries to connect: a JSON line {"paths": [...], "model": ...}
is sent and answered "ok". A socket file left by a crashed instance answers nothing and is removed.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from ..core.imagetypes import is_image_path

MAX_MESSAGE = 1 << 20  # a megabyte of JSON is thousands of paths; anything longer is not ours


def server_name() -> str:
    from ..paths import user_data_dir

    try:
        user = getpass.getuser()
    except Exception:  # no login name (some containers)
        user = "user"
    key = hashlib.sha256(str(user_data_dir()).encode()).hexdigest()[:12]
    return f"dogbreed-studio-{re.sub(r'[^A-Za-z0-9_.-]', '_', user)[:32]}-{key}"


def send_to_running(paths: list[str | Path], model: str | None = None, timeout_ms: int = 2000) -> bool:
    """Hand `paths` to the running window; False when none answers (then this launch opens its own)."""
    sock = QLocalSocket()
    sock.connectToServer(server_name())
    if not sock.waitForConnected(timeout_ms):
        return False
    message = {"paths": [str(Path(p).resolve()) for p in paths]}
    if model:
        message["model"] = str(Path(model).resolve())
    sock.write(json.dumps(message).encode() + b"\n")
    sock.waitForBytesWritten(timeout_ms)
    reply = b""
    while b"\n" not in reply and sock.waitForReadyRead(timeout_ms):
        reply += sock.readAll().data()
    sock.disconnectFromServer()
    return reply.startswith(b"ok")


def _alive(name: str) -> bool:
    sock = QLocalSocket()
    sock.connectToServer(name)
    alive = sock.waitForConnected(500)
    sock.abort()
    return alive


def usable(paths) -> list[Path]:
    """Only local image files and folders, as a drop would take them."""
    found = []
    for p in paths:
        if isinstance(p, str) and p and "\0" not in p:
            path = Path(p)
            if path.is_dir() or (path.is_file() and is_image_path(path)):
                found.append(path)
    return found


class InstanceServer(QObject):
    received = Signal(list, str)  # list[Path], model path ("" for none)

    def __init__(self, parent: QObject | None = None, name: str | None = None):
        super().__init__(parent)
        self.name = name or server_name()
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # not other users
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Start listening; a stale socket (its instance crashed) is removed first. False if another live
        instance holds the name (this window then works on its own)."""
        # Ask first: with UserAccessOption Qt renames its socket over an existing one, live or not.
        if _alive(self.name):
            return False
        QLocalServer.removeServer(self.name)  # a socket file a crashed instance left behind
        return self.server.listen(self.name)

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while (sock := self.server.nextPendingConnection()) is not None:
            self._buffers[sock] = b""
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(lambda s=sock: self._drop(s))
            if sock.bytesAvailable():
                self._read(sock)

    def _drop(self, sock: QLocalSocket) -> None:
        self._buffers.pop(sock, None)
        try:
            sock.deleteLater()
        except RuntimeError:  # already gone with the server
            pass

    def _read(self, sock: QLocalSocket) -> None:
        data = self._buffers.get(sock, b"") + sock.readAll().data()
        if b"\n" not in data:
            if len(data) > MAX_MESSAGE:
                self._answer(sock, b"error: too long\n")
            else:
                self._buffers[sock] = data
            return
        try:
            message = json.loads(data.split(b"\n", 1)[0])
            paths, model = message.get("paths", []), message.get("model") or ""
            if not isinstance(paths, list) or not isinstance(model, str):
                raise ValueError("bad fields")
        except (ValueError, AttributeError, UnicodeDecodeError):
            self._answer(sock, b"error: not a Dog Breed Studio message\n")
            return
        self._answer(sock, b"ok\n")
        model_path = model if model and Path(model).exists() else ""
        self.received.emit(usable(paths), model_path)

    def _answer(self, sock: QLocalSocket, reply: bytes) -> None:
        self._buffers[sock] = b""
        sock.write(reply)
        sock.flush()
        sock.disconnectFromServer()


class FileOpenFilter(QObject):
    """QFileOpenEvent on the application (macOS sends one per file opened with the app, also at launch)."""

    opened = Signal(list)  # list[Path]

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.FileOpen:
            path = event.file() or event.url().toLocalFile()
            found = usable([path])
            if found:
                self.opened.emit(found)
            return True
        return False


def serve(window, app) -> InstanceServer | None:
    """Wire a window to photos from outside: a later launch's photos and the OS's file-open events."""
    file_open = FileOpenFilter(window)
    app.installEventFilter(file_open)
    file_open.opened.connect(lambda paths: window.open_from_outside(paths, ""))
    window.file_open_filter = file_open
    server = InstanceServer(window)
    if not server.listen():
        return None
    server.received.connect(window.open_from_outside)
    window.instance_server = server
    return server
