"""Fair admission for uploads: a deadline for each request body, and a bound on the bytes of bodies still
arriving, so that slow or stalled clients cannot lock out the others or pin memory.

A pure ASGI middleware (uvicorn and Starlette have no body deadline or in-flight byte budget). A request is
counted against the app's cap on requests in progress (`app.py`) only once its body has arrived: until then it
holds only the bytes it has sent, which are counted here. So many slow uploads wait without blocking complete
ones, and each either finishes within `upload_timeout` or gets 408 and its connection closed.

Other answers given before the body has all arrived (413, 503) leave the connection open: uvicorn reads and
drops the rest, so that the client can finish sending and read the answer (closing at once would reset the
connection under it), and the header deadline (`deadlines.py`) bounds how long that may take.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from dataclasses import dataclass

from .errors import ApiError
from .requestlog import RequestLog
from .settings import ServerSettings


@dataclass(eq=False)
class _Upload:
    deadline: float
    cut: asyncio.Future  # set when the upload is stopped to make room for a smaller one
    held: int = 0


def _busy(message: str, retry_after: int) -> ApiError:
    return ApiError(503, "busy", message, headers={"Retry-After": str(retry_after)})


class Arrivals:
    """Bytes of request bodies still arriving, within a budget. An upload that would pass it makes room by
    stopping the upload holding the most bytes, when that one holds more than it would; otherwise it gets 503
    itself. So stalled large uploads cannot keep ordinary photos out, and memory stays bounded.
    Only touched on the event loop's thread: no lock."""

    def __init__(self, limit: int):
        self.limit, self.bytes, self.cut = limit, 0, 0
        self._uploads: dict[int, _Upload] = {}
        self._ids = itertools.count()

    def start(self, deadline: float) -> tuple[int, _Upload]:
        uid = next(self._ids)
        self._uploads[uid] = upload = _Upload(deadline, asyncio.get_running_loop().create_future())
        return uid, upload

    def add(self, uid: int, n: int, now: float) -> None:
        upload = self._uploads[uid]
        while self.bytes + n > self.limit and self.bytes > upload.held:  # a lone upload always fits
            biggest = max((u for u in self._uploads.values() if u is not upload), key=lambda u: u.held)
            if biggest.held <= upload.held + n:
                raise _busy("the server is receiving too many uploads at once; try again shortly",
                            self.retry_after(upload, now))
            self.bytes -= biggest.held
            biggest.held = 0
            biggest.cut.set_result(True)  # its receive wakes up and answers 503
            self.cut += 1
        upload.held += n
        self.bytes += n

    def cut_error(self, upload: _Upload, now: float) -> ApiError:
        return _busy("the server is receiving too many uploads at once and stopped the largest, this one; "
                     "try again shortly", self.retry_after(upload, now))

    def finish(self, uid: int) -> None:
        upload = self._uploads.pop(uid, None)
        if upload:
            self.bytes -= upload.held

    def retry_after(self, upload: _Upload, now: float) -> int:
        """Seconds until the first other upload holding bytes is done at the latest (by its deadline)."""
        ends = [u.deadline for u in self._uploads.values() if u is not upload and u.held]
        return max(1, math.ceil(min(ends, default=now + 1) - now))

    def stats(self) -> dict:
        return {"uploads_arriving": len(self._uploads), "upload_bytes_arriving": self.bytes, "uploads_cut": self.cut}


def _has_body(scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


class UploadGuard:
    def __init__(self, app, *, arrivals: Arrivals, timeout: float):
        self.app, self.arrivals, self.timeout = app, arrivals, timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _has_body(scope):
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        uid, upload = self.arrivals.start(deadline)
        arrived = False

        async def guarded_receive():
            nonlocal arrived
            if arrived:
                return await receive()
            message = asyncio.ensure_future(receive())
            done, _ = await asyncio.wait({message, upload.cut}, timeout=max(0.0, deadline - loop.time()),
                                         return_when=asyncio.FIRST_COMPLETED)
            if upload.cut.done() or message not in done:
                message.cancel()
                self.arrivals.finish(uid)
                if upload.cut.done():
                    raise self.arrivals.cut_error(upload, loop.time())
                raise ApiError(408, "upload_timeout", f"the upload did not arrive within {self.timeout:g} s",
                               headers={"Connection": "close"})
            message = message.result()
            if message["type"] == "http.request":
                self.arrivals.add(uid, len(message.get("body", b"")), loop.time())
                arrived = not message.get("more_body", False)
            else:  # http.disconnect
                arrived = True
            if arrived:
                self.arrivals.finish(uid)  # from here on the app's cap on requests in progress counts it
            return message

        try:
            await self.app(scope, guarded_receive, send)
        finally:
            self.arrivals.finish(uid)


def install(app, settings: ServerSettings) -> Arrivals:
    """The middlewares on `app`: the request log outermost, so it sees the guard's answers too."""
    arrivals = Arrivals(settings.max_arriving_bytes)
    app.add_middleware(UploadGuard, arrivals=arrivals, timeout=settings.upload_timeout)
    app.add_middleware(RequestLog)
    return arrivals
