"""`dogbreed-desktop serve`: the model as a local web API and upload page (FastAPI on uvicorn)."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from urllib.parse import urlsplit

from ..core.devices import DEVICES
from .common import EXIT_OK, MODEL_HELP, classifier_for, fail, number, positive_int

HELP = "serve the model over HTTP: a web API and an upload page"
# Waits beyond these are mistakes, and far beyond them overflow the timers that hold them.
MAX_BATCH_WAIT_MS = 60_000.0
MAX_UPLOAD_TIMEOUT = 86_400.0


def parse_origin(text: str) -> str:
    """`scheme://host[:port]` as a browser writes it in `Origin` (lower case, no path, no default port), or `*`.
    A near miss (a trailing path, a typo) would never match any request, so it is an error here."""
    text = text.strip()
    if text == "*":
        return text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if (not parts or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc):
        raise argparse.ArgumentTypeError(f"{text!r} is not an origin like http://localhost:3000 (or * for any)")
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower()
    if parts.port == {"http": 80, "https": 443}[scheme]:
        netloc = netloc.rsplit(":", 1)[0]
    return f"{scheme}://{netloc}"


def add_arguments(sv) -> None:
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes the API "
                    "to the network, without authentication)")
    sv.add_argument("--port", type=number(int, high=65535), default=8000,
                    help="TCP port (default 8000; 0 picks a free one)")
    sv.add_argument("--model", help=MODEL_HELP)
    sv.add_argument("--device", default="cpu", choices=list(DEVICES))
    sv.add_argument("--max-upload-mb", type=number(float, above=True), default=20.0,
                    help="largest request body accepted, checked while it is read (default 20)")
    sv.add_argument("--max-images", type=positive_int, default=32, help="photos per request (default 32)")
    sv.add_argument("--max-queue", type=positive_int, default=64,
                    help="photos waiting for the model before requests get 503 + Retry-After (default 64)")
    sv.add_argument("--batch-size", type=positive_int, default=32, help="most photos per model call (default 32)")
    sv.add_argument("--batch-wait-ms", type=number(float, high=MAX_BATCH_WAIT_MS), default=5.0,
                    help="how long an idle model waits for more requests to batch with (default 5; 0 to "
                    f"{MAX_BATCH_WAIT_MS:g})")
    sv.add_argument("--upload-timeout", type=number(float, above=True, high=MAX_UPLOAD_TIMEOUT), default=30.0,
                    help="seconds a request body may take to arrive, then 408 and the connection is closed "
                    "(default 30)")
    sv.add_argument("--top-k", type=positive_int, default=5, help="default breeds listed per photo (default 5)")
    sv.add_argument("--allow-origin", type=parse_origin, action="append", default=[], metavar="ORIGIN",
                    help="let web pages from ORIGIN (e.g. http://localhost:3000) read the API's answers (CORS); "
                    "repeatable; * allows any page. Default: none, no CORS header")


def is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket, so that a taken port is one clear line, not a uvicorn traceback."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def run(args) -> int:
    try:
        sock = listen(args.host, args.port)
    except OSError as e:
        return fail(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
    import uvicorn

    from ..server import ServerSettings, create_app
    from ..server.deadlines import uvicorn_config
    from ..server.memory import map_large_buffers
    from ..server.requestlog import log_to_stderr

    with sock:
        clf = classifier_for(args)
        settings = ServerSettings(max_upload_mb=args.max_upload_mb, max_images=args.max_images,
                                  max_queue=args.max_queue, max_batch=args.batch_size,
                                  batch_wait_ms=args.batch_wait_ms, top_k=min(args.top_k, len(clf.classes)),
                                  allow_origins=tuple(dict.fromkeys(args.allow_origin)),
                                  upload_timeout=args.upload_timeout)
        app = create_app(clf, settings)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"Serving {clf.name} on {clf.device_description} at http://{shown}:{port}/  "
              f"(API docs: /docs; Ctrl+C stops)", flush=True)
        if settings.allow_origins:
            print(f"Web pages from {', '.join(settings.allow_origins)} may read the answers (CORS)", flush=True)
        if not is_local(args.host):
            print(f"warning: listening on {args.host}: anyone who can reach this machine can use the API and "
                  "the upload page (no authentication, no TLS)", file=sys.stderr, flush=True)
        log_to_stderr()
        map_large_buffers()
        config = uvicorn_config(app, settings, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=10)
        uvicorn.Server(config).run(sockets=[sock])
    return EXIT_OK
