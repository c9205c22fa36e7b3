"""Slow, stalled and silent clients on real sockets (loopback, short configured deadlines): each is answered or
closed within its deadline, slow uploads do not lock complete ones out, and each bad request is one line in the
server's log with its id and status. Every wait is on a socket or /health with a bound, never a fixed sleep."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest
from server_support import serving
from test_server import _read_response, assert_error, jpeg_bytes

from dogbreed_desktop.server import ServerSettings, create_app

SHORT = dict(upload_timeout=1.0, header_timeout=1.0, keep_alive_timeout=0.5)


@pytest.fixture(scope="module")
def short(default_classifier):
    """A server with 1 s deadlines, a request cap of 2 (max_queue 1 + max_batch 1), 4 KB for bodies arriving."""
    app = create_app(default_classifier, ServerSettings(**SHORT, max_queue=1, max_batch=1,
                                                        max_arriving_mb=4096 / 2**20))
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


def connect(client: httpx.Client) -> socket.socket:
    return socket.create_connection((client.base_url.host, client.base_url.port), timeout=15)


def until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took (bounded by the
    socket's timeout: a connection left open fails the test)."""
    start, data = time.monotonic(), b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - start


def until_health(client: httpx.Client, key: str, value: int) -> None:
    deadline = time.monotonic() + 15
    while client.get("/health").json()[key] != value:
        assert time.monotonic() < deadline, f"/health never showed {key} = {value}"


def upload_head(length: int) -> bytes:
    return (f"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: {length}\r\n"
            "\r\n").encode()


def test_stalled_upload_gets_408_and_is_closed(short):
    with connect(short) as sock:
        sock.sendall(upload_head(1000) + b"\0" * 500)  # half the body, then nothing
        reply, took = until_closed(sock)
    head = reply.decode("latin-1")
    assert head.startswith("HTTP/1.1 408") and '"upload_timeout"' in head and "within 1 s" in head
    assert "connection: close" in head.lower() and "x-request-id:" in head.lower()
    assert 0.9 <= took < 10
    until_health(short, "uploads_arriving", 0)  # its bytes are let go


def test_trickled_upload_is_cut_at_the_deadline(short):
    """Bytes arriving now and then do not extend the upload's deadline."""
    with connect(short) as sock:
        sock.sendall(upload_head(100_000))
        sock.settimeout(0.1)
        start, reply = time.monotonic(), b""
        while not reply and time.monotonic() - start < 10:
            try:
                sock.sendall(b"\0" * 10)
                reply = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:  # reset: closed after the answer
                break
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("sent", [b"", b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Le"],
                         ids=["silent connection", "partial headers"])
def test_connection_without_complete_headers_is_closed(short, sent):
    with connect(short) as sock:
        sock.sendall(sent)
        reply, took = until_closed(sock)
    assert reply == b"" and 0.9 <= took < 10


def test_trickled_headers_are_cut_at_the_deadline(short):
    with connect(short) as sock:
        sock.settimeout(0.1)
        start, closed = time.monotonic(), False
        for byte in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 1000:
            try:
                sock.sendall(bytes([byte]))
                closed = sock.recv(1) == b""
            except socket.timeout:
                continue
            except OSError:
                closed = True
            if closed or time.monotonic() - start > 10:
                break
    assert closed and time.monotonic() - start < 5


def test_idle_keep_alive_connection_is_closed(short):
    with connect(short) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock).startswith("HTTP/1.1 200")  # kept alive after the answer...
        reply, took = until_closed(sock)  # ...until idle past keep_alive_timeout
    assert reply == b"" and took < 10


def test_slow_uploads_wait_without_locking_out_complete_ones(short):
    """Four uploads still arriving (more than the request cap of 2): complete requests still get 200."""
    slow = [connect(short) for _ in range(4)]
    try:
        for sock in slow:
            sock.sendall(upload_head(1000) + b"\0" * 100)
        until_health(short, "uploads_arriving", 4)
        for _ in range(3):
            r = short.post("/v1/predict", content=jpeg_bytes(), headers={"content-type": "image/jpeg"})
            assert r.status_code == 200, r.text
    finally:
        for sock in slow:
            sock.close()


def test_bytes_arriving_are_bounded_with_an_honest_retry_after(short):
    """Two stalled uploads hold 3 KB of the 4 KB for bodies arriving: a 1.8 KB photo would pass it, so it gets
    503, with Retry-After no later than the stalled ones' deadline."""
    photo = jpeg_bytes()
    assert 1000 < len(photo) < 4096 - 400
    slow = [connect(short) for _ in range(2)]
    try:
        for sock in slow:
            sock.sendall(upload_head(5000) + b"\0" * 1500)
        until_health(short, "upload_bytes_arriving", 3000)
        with connect(short) as sock:
            sock.sendall(upload_head(len(photo)) + photo)
            reply = until_closed(sock)[0].decode("latin-1")
        assert reply.startswith("HTTP/1.1 503") and '"busy"' in reply
        retry_after = int(next(line.split(":")[1] for line in reply.split("\r\n")
                               if line.lower().startswith("retry-after:")))
        assert 1 <= retry_after <= SHORT["upload_timeout"] + 1
    finally:
        for sock in slow:
            sock.close()
    until_health(short, "uploads_arriving", 0)
    r = short.post("/v1/predict", content=photo, headers={"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text


def test_the_largest_upload_arriving_makes_room_for_a_smaller_one(short):
    """A stalled upload holds 3.4 KB of the 4 KB for bodies arriving: a 1.8 KB photo does not fit, and the
    stalled one, larger, is stopped with 503 to let it in."""
    photo = jpeg_bytes()
    with connect(short) as stalled:
        stalled.sendall(upload_head(5000) + b"\0" * 3500)
        until_health(short, "upload_bytes_arriving", 3500)
        cut_before = short.get("/health").json()["uploads_cut"]
        r = short.post("/v1/predict", content=photo, headers={"content-type": "image/jpeg"})
        assert r.status_code == 200, r.text
        reply = _read_response(stalled)
    assert reply.startswith("HTTP/1.1 503") and "stopped the largest" in reply
    assert short.get("/health").json()["uploads_cut"] == cut_before + 1


def test_bad_request_is_one_line_in_our_log_with_the_librarys_warning(short, caplog):
    """python-multipart's own warning about the body is in our line, once (test_serve_cli checks that stderr
    shows no other line for it)."""
    caplog.set_level(logging.INFO)
    r = short.post("/v1/predict", content=b"xx--b\r\n", headers={"content-type": "multipart/form-data; boundary=b"})
    assert_error(r, 400, "bad_multipart")
    rid = r.headers["x-request-id"]
    lines = [rec for rec in caplog.records if rid in rec.getMessage()]
    assert len(lines) == 1 and lines[0].name == "dogbreed_desktop.server"
    line = lines[0].getMessage()
    assert f"request {rid} POST /v1/predict from 127.0.0.1: 400 bad_multipart" in line
    assert line.count("Expected boundary character 45, got 120") == 1


def test_unparsable_request_gets_our_json_400(short, caplog):
    caplog.set_level(logging.INFO)
    with connect(short) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        reply, _ = until_closed(sock)
    head, body = reply.decode("latin-1").split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.1 400") and "application/json" in head
    assert '"bad_request"' in body
    messages = [rec.getMessage() for rec in caplog.records]
    assert any("400 bad_request" in m for m in messages) and "Invalid HTTP request received." not in messages
