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

from .errors import ApiError
from .requestlog import RequestLog
from .settings import ServerSettings


class Arrivals:
    """Bytes of request bodies still arriving, and each upload's deadline (the latest its bytes are let go).
    Only touched on the event loop's thread: no lock."""

    def __init__(self, limit: int):
        self.limit, self.bytes = limit, 0
        self._uploads: dict[int, list] = {}  # id -> [bytes held, deadline]
        self._ids = itertools.count()

    def start(self, deadline: float) -> int:
        uid = next(self._ids)
        self._uploads[uid] = [0, deadline]
        return uid

    def add(self, uid: int, n: int, now: float) -> None:
        held = self._uploads[uid]
        if self.bytes > held[0] and self.bytes + n > self.limit:  # a lone upload always fits
            raise ApiError(503, "busy", "the server is receiving too many uploads at once; try again shortly",
                           headers={"Retry-After": str(self.retry_after(uid, now))})
        held[0] += n
        self.bytes += n

    def finish(self, uid: int) -> None:
        held = self._uploads.pop(uid, None)
        if held:
            self.bytes -= held[0]

    def retry_after(self, uid: int, now: float) -> int:
        """Seconds until the first other upload holding bytes is done at the latest (by its deadline)."""
        ends = [d for u, (n, d) in self._uploads.items() if u != uid and n]
        return max(1, math.ceil(min(ends, default=now + 1) - now))

    def stats(self) -> dict:
        return {"uploads_arriving": len(self._uploads), "upload_bytes_arriving": self.bytes}


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
        uid = self.arrivals.start(deadline)
        arrived = False

        async def guarded_receive():
            nonlocal arrived
            if arrived:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), deadline - loop.time())
            except asyncio.TimeoutError:  # the builtin TimeoutError from Python 3.11 on
                self.arrivals.finish(uid)
                raise ApiError(408, "upload_timeout", f"the upload did not arrive within {self.timeout:g} s",
                               headers={"Connection": "close"}) from None
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
