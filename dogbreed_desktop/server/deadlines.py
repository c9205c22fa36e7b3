"""Connection deadlines uvicorn lacks, and the uvicorn settings that carry the ones it has.

uvicorn closes a keep-alive connection left idle after a response (`timeout_keep_alive`), and h11 bounds the
size of headers (`h11_max_incomplete_event_size`), but nothing bounds the time a client takes to send its
headers: a connection that sends nothing, or half a request line, stays open for ever, holding a descriptor.
`HeaderDeadlineH11` adds that one deadline to uvicorn's h11 protocol. The request body's deadline is the ASGI
middleware's job (`admission.py`), because only the app can answer it with a 408.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import ServerSettings

log = logging.getLogger("dogbreed_desktop.server")

MAX_HEADER_BYTES = 16 * 1024  # h11's default; said here so that the limit is a setting we chose


class HeaderDeadlineH11(H11Protocol):
    """uvicorn's h11 protocol, plus: while no request is being answered (a new connection, or after a
    response), the next request's headers must be complete within `header_timeout` seconds, or the connection
    is closed. Trickling bytes does not extend the deadline."""

    def __init__(self, *args, header_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc) -> None:
        self._cancel()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """A request h11 cannot parse: our JSON error and a line in our log, instead of uvicorn's plain text and
        its bare warning (filtered out in `uvicorn_config`)."""
        client = "%s:%d" % self.client if self.client else "a client"
        log.info("closed the connection from %s: 400 bad_request: %s", client, msg)
        body = json.dumps({"error": {"code": "bad_request", "message": "invalid HTTP request"}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers), h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _watch(self) -> None:
        if self.transport.is_closing() or not self._between_requests():
            self._cancel()
        elif self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._expired)

    def _cancel(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._between_requests():
            return
        if self.conn.trailing_data[0]:  # part of a request arrived: worth a line; a silent socket is not
            client = "%s:%d" % self.client if self.client else "a client"
            log.info("closed the connection from %s: no complete request headers within %g s", client,
                     self._header_timeout)
        self.transport.close()


class _NotInvalidRequest(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != INVALID_REQUEST


INVALID_REQUEST = "Invalid HTTP request received."  # uvicorn's warning, logged before send_400_response


def uvicorn_config(app, settings: ServerSettings, **kwargs) -> uvicorn.Config:
    """The uvicorn settings every server of this app runs with (the CLI's and the tests')."""
    protocol = functools.partial(HeaderDeadlineH11, header_timeout=settings.header_timeout)
    config = uvicorn.Config(app, http=protocol, timeout_keep_alive=settings.keep_alive_timeout,
                            h11_max_incomplete_event_size=MAX_HEADER_BYTES, **kwargs)
    uvicorn_log = logging.getLogger("uvicorn.error")  # after Config, which (re)configures uvicorn's loggers
    if not any(isinstance(f, _NotInvalidRequest) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(_NotInvalidRequest())
    return config
