"""The web API on a real uvicorn server: answers equal `Classifier.predict`, every bad request gets its 4xx as
JSON, concurrent requests share model calls, a full queue answers 503, nothing touches the disk."""

from __future__ import annotations

import asyncio
import io
import re
import socket
import struct
import tempfile
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import make_image
from PIL import Image
from server_support import counting_forward_calls, serving

import dogbreed_desktop
from dogbreed_desktop.core.predict.answers import answer
from dogbreed_desktop.server import ServerSettings, create_app


def jpeg_bytes(color=(180, 140, 90), size=(320, 240)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's opening)."""
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.fixture(scope="module")
def api(default_classifier):
    """One server for the module, with a 1 MB upload limit and 4 images per request."""
    app = create_app(default_classifier, ServerSettings(max_upload_mb=1, max_images=4))
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


def assert_error(r: httpx.Response, status: int, code: str):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["error"]["code"] == code and body["error"]["message"], body
    assert "Traceback" not in r.text
    return body["error"]


def assert_same(prediction: dict, expected, classes):
    """`prediction` (the API's) says what the core's serialiser says of `predict`'s result for the photo."""
    want = answer(expected)
    assert {k: prediction[k] for k in ("verdict", "breed", "name", "looks_like")} == \
        {k: want[k] for k in ("verdict", "breed", "name", "looks_like")}
    assert [s["breed"] for s in prediction["top_k"]] == [s.breed for s in expected.top_k]
    assert len(prediction["probabilities"]) == len(classes) == 120
    assert prediction["probabilities"] == pytest.approx(list(expected.probabilities), abs=2e-5)
    assert prediction["top_k"][0]["probability"] == pytest.approx(expected.top_k[0].probability, abs=2e-5)


@pytest.mark.realdata
def test_answers_equal_classifier_predict(api, default_classifier, real_photos, tmp_path):
    photos = [p for p, _ in real_photos[::150]]  # 4 breeds
    # A large JPEG too: the server must decode it at reduced scale exactly as `predict` does from a file.
    big = tmp_path / "big.jpg"
    Image.open(photos[0]).resize((1100, 900)).save(big, quality=92)
    photos.append(big)
    expected = default_classifier.predict(photos, top_k=5)

    files = [("image", (p.name, p.read_bytes(), "image/jpeg")) for p in photos[:4]]
    r = api.post("/v1/predict", files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["classes"] == default_classifier.classes and body["model"] == default_classifier.name
    assert [p["file"] for p in body["predictions"]] == [p.name for p in photos[:4]]
    for prediction, want in zip(body["predictions"], expected):
        assert_same(prediction, want, body["classes"])

    # One photo, as curl -F image=@big.jpg sends it; and the raw-body form.
    r = api.post("/v1/predict", files={"image": ("big.jpg", big.read_bytes(), "image/jpeg")})
    assert_same(r.json()["predictions"][0], expected[4], body["classes"])
    r = api.post("/v1/predict?top_k=120", content=big.read_bytes(), headers={"content-type": "image/jpeg"})
    assert len(r.json()["predictions"][0]["top_k"]) == 120
    assert_same(r.json()["predictions"][0], default_classifier.predict([big], top_k=120)[0], body["classes"])


def test_synthetic_photo_matches_predict_and_describes_model(api, default_classifier, tmp_path):
    photo = make_image(tmp_path / "p.png", color=(90, 60, 30), size=(300, 260))
    r = api.post("/v1/predict", files={"image": ("p.png", photo.read_bytes(), "image/png")})
    assert r.status_code == 200, r.text
    assert_same(r.json()["predictions"][0], default_classifier.predict([photo])[0], r.json()["classes"])
    model = api.get("/v1/model").json()
    assert model["app_version"] == dogbreed_desktop.__version__  # one version: the About box, --version, packages
    assert [c["id"] for c in model["classes"]] == default_classifier.classes
    assert model["classes"][0]["name"] == default_classifier.class_names[0]
    assert [m["input_size"] for m in model["members"]] == [default_classifier.preprocessing.crop]
    assert model["metrics"] == default_classifier.metrics  # the model's (an ensemble's own), not its first member's
    health = api.get("/health").json()
    assert health["status"] == "ok" and health["images"] >= 1
    spec = api.get("/openapi.json").json()
    assert {"/api/predictImage", "/predictImage", "/v1/predict", "/v1/model", "/health"} <= set(spec["paths"])
    # The page and the API docs work offline: nothing is loaded from another host.
    for path in ("/", "/docs"):
        page = api.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert not re.search(r"""(src|href|url|import|fetch)\s*[=(]?\s*["'`]?(https?:)?//""", page.text)



def test_v1_model_describes_each_member_of_an_ensemble():
    from dogbreed_desktop.core.predict.classifier import Classifier

    clf = Classifier.load("accurate")
    with serving(create_app(clf)) as url:
        model = httpx.get(f"{url}/v1/model", timeout=60).json()
    assert model["ensemble"] is True and "backbone" not in model and "preprocessing" not in model
    members = [(m["backbone"], m["input_size"]) for m in model["members"]]
    assert members == [(a.backbone, a.preprocessing.crop) for a in clf.model.members]
    assert members == [("efficientnet_lite0", 224), ("efficientnet_lite2", 260)]
    assert sum(m["weight"] for m in model["members"]) == pytest.approx(1)
    assert model["metrics"] == clf.metrics and len(model["classes"]) == 120
    assert model["gate_members"] == []


def test_v1_model_names_the_balanced_models_gate_member():
    from dogbreed_desktop.core.predict.classifier import Classifier

    clf = Classifier.load("balanced")
    with serving(create_app(clf)) as url:
        model = httpx.get(f"{url}/v1/model", timeout=60).json()
    assert model["ensemble"] is False and [m["backbone"] for m in model["members"]] == ["efficientnet_lite1"]
    assert model["gate_members"] == [{"backbone": "efficientnet_lite0", "input_size": 224}]

BAD_REQUESTS = {
    "no file, only a text field": (dict(content=b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
                                        b"hello\r\n--b--\r\n", headers={
                                            "content-type": "multipart/form-data; boundary=b"}), 400, "no_image"),
    "a url-encoded form": (dict(data={"image": "photo.jpg"}), 415, "unsupported_content_type"),
    "a bare POST": (dict(), 400, "no_image"),
    "an empty file": (dict(files={"image": ("empty.jpg", b"", "image/jpeg")}), 400, "empty_file"),
    "an empty raw body": (dict(content=b"", headers={"content-type": "image/jpeg"}), 400, "empty_file"),
    "a text file": (dict(files={"image": ("notes.txt", b"hello, not a dog", "text/plain")}), 415, "not_an_image"),
    "a truncated JPEG": (dict(files={"image": ("cut.jpg", jpeg_bytes()[:700], "image/jpeg")}), 422, "corrupt_image"),
    "a decompression bomb": (dict(files={"image": ("bomb.png", png_claiming(40000, 40000), "image/png")}), 413,
                             "image_too_large"),
    "more pixels than allowed": (dict(files={"image": ("huge.png", png_claiming(9000, 9000), "image/png")}), 413,
                                 "image_too_large"),
    "a JSON body": (dict(json={"image": "x"}), 415, "unsupported_content_type"),
    "too many images": (dict(files=[("image", (f"{i}.jpg", jpeg_bytes(), "image/jpeg")) for i in range(5)]), 400,
                        "too_many_images"),
    "an unfinished multipart body": (dict(content=b"--b\r\nContent-Disposition: form-data; name=\"image\"; "
                                          b"filename=\"a.jpg\"\r\n\r\nabc", headers={
                                              "content-type": "multipart/form-data; boundary=b"}), 400,
                                     "bad_multipart"),
    "a bad top_k": (dict(params={"top_k": 0}, files={"image": ("a.jpg", jpeg_bytes(), "image/jpeg")}), 422,
                    "invalid_parameter"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_request_gets_json_4xx(api, case):
    kwargs, status, code = BAD_REQUESTS[case]
    error = assert_error(api.post("/v1/predict", **kwargs), status, code)
    if code in ("empty_file", "not_an_image", "corrupt_image", "image_too_large"):
        assert error["file"]  # says which upload was wrong
    assert api.get("/health").json()["status"] == "ok"  # and the server carries on


def _read_response(sock) -> str:
    """One whole HTTP response: headers and body may arrive in separate segments."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data.decode()
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


def test_declared_oversized_upload_is_refused_before_the_body(api):
    host, port = api.base_url.host, api.base_url.port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                     b"Content-Length: 50000000\r\n\r\n")  # and not one byte of the 50 MB
        reply = _read_response(sock)
    assert reply.startswith("HTTP/1.1 413") and '"upload_too_large"' in reply and "20 MB" not in reply


def test_streamed_oversized_upload_is_refused_while_reading(default_classifier):
    """Sent without a length (chunked), the body is read only until it passes the limit, not to its end."""
    app = create_app(default_classifier, ServerSettings(max_upload_mb=1))
    chunk, received, statuses = 64 * 1024, [], []

    async def receive():
        received.append(chunk)
        return {"type": "http.request", "body": b"\0" * chunk, "more_body": sum(received) < 50 * 1024 * 1024}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/predict", "raw_path": b"/v1/predict", "query_string": b"",
             "root_path": "", "headers": [(b"content-type", b"image/jpeg"), (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        app.state.close()
    assert statuses == [413]
    assert sum(received) <= 1024 * 1024 + chunk


def test_nothing_uploaded_is_written_to_disk(default_classifier, monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("an upload was about to be written to a temporary file")

    import starlette.formparsers

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", refuse)
    # 3 MB of noise: well over Starlette's 1 MB spooling threshold.
    noise = Image.frombytes("RGB", (1000, 1000), bytes(range(256)) * 11718 + bytes(192))
    buf = io.BytesIO()
    noise.save(buf, "PNG", compress_level=0)
    assert len(buf.getvalue()) > 2_900_000
    with serving(create_app(default_classifier)) as url:
        r = httpx.post(f"{url}/v1/predict", files={"image": ("noise.png", buf.getvalue(), "image/png")}, timeout=60)
    assert r.status_code == 200, r.text


def test_concurrent_requests_share_model_calls(default_classifier):
    photos = [jpeg_bytes(color=(40 * i % 256, 90, 200 - 10 * i)) for i in range(16)]
    app = create_app(default_classifier, ServerSettings(batch_wait_ms=50))
    start = threading.Barrier(16)

    def client(data):
        start.wait()
        return http.post("/v1/predict", files={"image": ("p.jpg", data, "image/jpeg")})

    limits = httpx.Limits(max_connections=16)
    with serving(app) as url, httpx.Client(base_url=url, timeout=120, limits=limits) as http:
        with counting_forward_calls(default_classifier) as calls, ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(client, photos))
        health = http.get("/health").json()
    assert [r.status_code for r in answers] == [200] * 16
    assert sum(calls) == 16 and health["images"] == 16
    assert len(calls) <= 8, f"16 concurrent requests took {len(calls)} model calls: {calls}"
    assert health["batches"] == len(calls)
    # Batching does not mix answers up: each is what predict says for that photo alone.
    expected = default_classifier.predict([Image.open(io.BytesIO(p)) for p in photos])
    assert [r.json()["predictions"][0]["top_k"][0]["breed"] for r in answers] == [e.top_k[0].breed for e in expected]


class GatedClassifier:
    """The real classifier, whose model calls wait until the test opens the gate."""

    def __init__(self, classifier):
        self._classifier, self.entered, self.gate = classifier, threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self._classifier, name)

    def predict_prepared(self, items, **kwargs):
        self.entered.set()
        assert self.gate.wait(60)
        return self._classifier.predict_prepared(items, **kwargs)


def test_full_queue_gets_503_with_retry_after(default_classifier):
    gated = GatedClassifier(default_classifier)
    app = create_app(gated, ServerSettings(max_queue=2, batch_wait_ms=0))

    def post():
        return httpx.post(f"{url}/v1/predict", files={"image": ("a.jpg", jpeg_bytes(), "image/jpeg")}, timeout=60)

    with serving(app) as url, ThreadPoolExecutor(3) as pool:
        running = pool.submit(post)
        assert gated.entered.wait(30)  # the worker is busy with the first request
        queued = [pool.submit(post), pool.submit(post)]
        for _ in range(500):
            if httpx.get(f"{url}/health").json()["queued_images"] == 2:
                break
            threading.Event().wait(0.02)
        refused = post()
        assert_error(refused, 503, "busy")
        assert int(refused.headers["retry-after"]) >= 1
        gated.gate.set()
        assert [f.result().status_code for f in [running, *queued]] == [200, 200, 200]
        assert post().status_code == 200  # room again
