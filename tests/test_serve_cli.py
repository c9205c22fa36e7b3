"""`dogbreed-desktop serve` as a user runs it: a real process on 127.0.0.1, stopped with Ctrl+C."""

from __future__ import annotations

import re
import selectors
import signal
import socket
import subprocess
import sys
import time

import httpx
from conftest import make_image

from dogbreed_desktop.cli.serve import is_local


def first_line(proc: subprocess.Popen, timeout: float) -> str:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if sel.select(timeout=deadline - time.monotonic()):
            return proc.stdout.readline()
    raise AssertionError(f"serve printed nothing: {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}")


def test_serve_answers_curl_and_stops_on_ctrl_c(tmp_path):
    photo = make_image(tmp_path / "dog.jpg", color=(160, 120, 80), size=(400, 300))
    page = "http://localhost:3000"  # the original front end's dev server
    proc = subprocess.Popen([sys.executable, "-m", "dogbreed_desktop", "serve", "--port", "0",
                             "--allow-origin", page + "/", "--allow-origin", "http://127.0.0.1:5173"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = first_line(proc, 120)
        url = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)[1]
        r = httpx.post(f"{url}/v1/predict", files={"image": ("dog.jpg", photo.read_bytes(), "image/jpeg")},
                       timeout=120)  # what `curl -F image=@dog.jpg URL/v1/predict` sends
        assert r.status_code == 200, r.text
        prediction = r.json()["predictions"][0]
        assert prediction["file"] == "dog.jpg" and len(prediction["probabilities"]) == 120
        assert prediction["top_k"][0]["breed"] in r.json()["classes"]
        for origin, allowed in ((page, page), ("http://localhost:3001", None)):
            r = httpx.post(f"{url}/api/predictImage", headers={"Origin": origin}, timeout=120,
                           files={"image": ("uploadedContent.jpeg", photo.read_bytes(), "image/jpeg")})
            assert list(r.json())[:2] == ["prediction", "results"], r.text
            assert r.headers.get("access-control-allow-origin") == allowed
        assert httpx.get(url + "/").status_code == 200
        bad = httpx.post(f"{url}/v1/predict", content=b"xx--b\r\n",
                         headers={"content-type": "multipart/form-data; boundary=b"})
        assert bad.status_code == 400
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130  # after a graceful shutdown; 130 is the usual code for Ctrl+C
    finally:
        proc.kill()
        proc.wait()
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr
    # The malformed body is one line of our log, with its request id and status; python-multipart's own
    # warning about it is part of that line, not a line of its own.
    lines = [line for line in stderr.splitlines() if "Expected boundary character" in line]
    assert len(lines) == 1, stderr
    assert f"request {bad.headers['x-request-id']} POST /v1/predict from 127.0.0.1: 400 bad_multipart" in lines[0]


def test_taken_port_is_one_line_and_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "serve", "--port", str(port)],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr


def test_upload_timeout_must_be_positive():
    r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "serve", "--upload-timeout", "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--upload-timeout" in r.stderr and "Traceback" not in r.stderr


def test_local_hosts():
    assert all(map(is_local, ["127.0.0.1", "localhost", "::1", "127.0.0.2"]))
    assert not any(map(is_local, ["0.0.0.0", "::", "192.168.1.10", "example.org"]))


def test_an_origin_with_a_path_is_refused_in_one_line():
    r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "serve", "--port", "0", "--allow-origin",
                        "localhost:3000"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "is not an origin like http://localhost:3000" in r.stderr
    assert "Traceback" not in r.stderr
