"""A real uvicorn server on 127.0.0.1 and a free port, in a thread, for the web API tests."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

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
    """Counts calls of the model's forward pass (a hook on the real network)."""
    calls = []
    per_photo = 2 if classifier.nets[0][2] else 1  # a mirrored model runs each photo and its mirror image
    handle = classifier.net.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0] // per_photo))
    try:
        yield calls
    finally:
        handle.remove()
