"""A real uvicorn server on 127.0.0.1 and a free port, in a thread, for the web API tests."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from dogbreed_desktop.server.deadlines import uvicorn_config


@contextmanager
def serving(app):
    """Yield the base URL of `app` served by uvicorn with the CLI's deadlines (from the app's settings); stop
    it (and the app's worker) on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn_config(app, app.state.settings, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def counting_forward_calls(classifier):
    """Counts the engine's runs of the first member's backbone, in photos (an observer on the real engine). The
    mirror views are switched off meanwhile, so each batch is exactly one run."""
    calls = []

    def observe(member, images):
        if member == 0:
            calls.append(images)

    before, classifier.mirror_below = classifier.mirror_below, 0.0
    classifier.engine.observers.append(observe)
    try:
        yield calls
    finally:
        classifier.engine.observers.remove(observe)
        classifier.mirror_below = before


def original_breed_map() -> dict[str, str] | None:
    """The original project's DogBreedMap.json (index -> name), from the `original-api` folder beside
    DOGBREED_DATA's parent, like `not-dogs`; None where it is missing."""
    root = os.environ.get("DOGBREED_DATA")
    path = Path(root).resolve().parent / "original-api" / "DogBreedMap.json" if root else None
    return json.loads(path.read_text("utf-8")) if path and path.is_file() else None
