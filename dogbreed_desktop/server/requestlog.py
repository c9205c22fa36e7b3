"""One log line per request that went wrong, with its id and status, on the server's own logger.

Every answer carries an `X-Request-ID`; a 4xx/5xx answer (or a warning a library logged while serving it) is
logged as `request <id> <method> <path> from <client>: <status> <code>: <message> (<file>)`. python-multipart
logs a bare warning for each malformed body it meets; those are taken off the root logger (where they reached
stderr without context) and added to the line of the request they belong to.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import sys

from starlette.datastructures import MutableHeaders

log = logging.getLogger("dogbreed_desktop.server")

LIBRARY_LOGGERS = ("python_multipart",)
_notes: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("dogbreed_request_notes", default=None)


class _IntoRequestLine(logging.Handler):
    """A library's log records -> notes on the current request's line (or our logger, outside a request)."""

    def emit(self, record: logging.LogRecord) -> None:
        notes = _notes.get()
        if notes is None:
            log.debug("%s: %s", record.name, record.getMessage())
        else:
            notes.append(f"{record.name.split('.')[0]}: {record.getMessage()}")


def route_library_logs() -> None:
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, _IntoRequestLine) for h in logger.handlers):
            logger.addHandler(_IntoRequestLine())
        logger.propagate = False


def log_to_stderr(level: int = logging.INFO) -> None:
    """For `serve`: our lines on stderr beside uvicorn's, with a time (a root handler would show every library's)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(level)


def _problem(status: int, body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        text = f"{status} {error['code']}: {error['message']}"
        return text + (f" ({error['file']})" if "file" in error else "")
    except (ValueError, KeyError, TypeError):
        return str(status)


class RequestLog:
    """Pure ASGI middleware: a request id on every answer, and a log line for each one that went wrong."""

    def __init__(self, app):
        self.app = app
        route_library_logs()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = secrets.token_hex(6)
        notes: list[str] = []
        token = _notes.set(notes)
        status, body = 0, bytearray()

        async def logged_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = rid
            elif status >= 400 and len(body) < 4096:  # our error bodies are one short JSON object
                body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        except Exception:
            status = status or 500  # answered 500 outside; the traceback is logged by the handler that did
            raise
        finally:
            _notes.reset(token)
            if status >= 400 or notes:
                client = scope.get("client") or ("?", 0)
                line = f"request {rid} {scope['method']} {scope['path']} from {client[0]}: {_problem(status, body)}"
                level = logging.ERROR if status == 500 else logging.WARNING if status > 500 else logging.INFO
                log.log(level, "; ".join([line, *(n for n in notes if n.split(": ", 1)[-1] not in line)]))
