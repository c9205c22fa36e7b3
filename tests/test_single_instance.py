"""One running window per user: a second launch hands its photos over; photos the OS opens arrive as
QFileOpenEvents. The second launch is a real process; the running window is the one in this test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_image
from gui_support import make_window
from PySide6.QtCore import QDir
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtNetwork import QLocalSocket
from PySide6.QtWidgets import QApplication

from dogbreed_desktop.gui import single_instance
from dogbreed_desktop.gui.results_model import DONE

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the stale-socket test makes a Unix socket file")


@pytest.fixture
def running(qtbot):
    window = make_window(qtbot)
    server = single_instance.serve(window, QApplication.instance())
    assert server is not None
    yield window
    server.close()


def classified(window) -> list[str]:
    return [r.path for r in window.classify_tab.model.rows() if r.state == DONE]


def test_a_second_launch_hands_its_photos_to_the_running_window(qtbot, running, tmp_path):
    photo = make_image(tmp_path / "second.jpg", color=(90, 60, 30))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")  # same user, same DOGBREED_HOME as the window
    proc = subprocess.Popen([sys.executable, "-m", "dogbreed_desktop", str(photo)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=60_000)  # serves the socket meanwhile
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "already open" in err
    qtbot.waitUntil(lambda: classified(running) == [str(photo)], timeout=60_000)


def send_from_another_process(qtbot, paths, cwd=None) -> bool:
    """A real client process: in this one the blocking client would stall the server it waits for."""
    code = "import sys; from dogbreed_desktop.gui import single_instance as s; " \
           "sys.exit(0 if s.send_to_running(sys.argv[1:]) else 1)"
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, paths)], cwd=cwd)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30_000)
    return proc.returncode == 0


def test_relative_paths_are_resolved_by_the_launch_that_got_them(qtbot, running, tmp_path):
    make_image(tmp_path / "rel.png", format="PNG")
    assert send_from_another_process(qtbot, ["rel.png"], cwd=tmp_path)
    qtbot.waitUntil(lambda: classified(running) == [str(tmp_path / "rel.png")], timeout=60_000)


def test_no_running_window_means_no_hand_over(qtbot):
    assert single_instance.send_to_running(["/nonexistent.jpg"], timeout_ms=500) is False


def test_a_stale_socket_from_a_crashed_instance_is_replaced(qtbot, tmp_path):
    name = single_instance.server_name()
    path = Path(QDir.tempPath()) / name
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # bound and never listened on: what a killed process leaves behind
    stale.close()
    assert path.exists()
    server = single_instance.InstanceServer()
    try:
        assert server.listen()
        received = []
        server.received.connect(lambda paths, model: received.append(paths))
        photo = make_image(tmp_path / "after-crash.jpg")
        assert send_from_another_process(qtbot, [photo])
        qtbot.waitUntil(lambda: received == [[photo]])
    finally:
        server.close()


def test_a_second_server_does_not_steal_the_name_from_a_live_one(qtbot):
    first = single_instance.InstanceServer()
    second = single_instance.InstanceServer()
    try:
        assert first.listen()
        assert second.listen() is False
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("message", [b"not json\n", b'{"paths": "x"}\n', b"[1, 2]\n", b"\xff\xfe\n",
                                     b'{"paths": ["/etc/passwd", "\\u0000", 5], "model": "/nonexistent"}\n'])
def test_junk_on_the_socket_is_answered_and_ignored(qtbot, running, message):
    sock = QLocalSocket()
    sock.connectToServer(single_instance.server_name())
    qtbot.waitUntil(lambda: sock.state() == QLocalSocket.LocalSocketState.ConnectedState, timeout=5000)
    sock.write(message)
    sock.flush()
    reply = []
    sock.readyRead.connect(lambda: reply.append(sock.readAll().data()))
    qtbot.waitUntil(lambda: bool(reply), timeout=5000)
    assert reply[0].startswith(b"error") or reply[0] == b"ok\n"
    assert running.classify_tab.model.rowCount() == 0  # nothing that is not a local photo gets in
    assert running.client.model is not None and running.isVisible()


def test_a_photo_opened_by_the_os_lands_in_the_window(qtbot, running, tmp_path):
    photo = make_image(tmp_path / "from-finder.jpg")
    QApplication.sendEvent(QApplication.instance(), QFileOpenEvent(str(photo)))
    QApplication.sendEvent(QApplication.instance(), QFileOpenEvent(str(tmp_path / "notes.txt")))
    qtbot.waitUntil(lambda: classified(running) == [str(photo)], timeout=60_000)
