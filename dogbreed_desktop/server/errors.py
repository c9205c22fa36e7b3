"""Every failure leaves as JSON `{"error": {"code", "message", ...}}` with a 4xx/5xx status, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("dogbreed_desktop.server")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, file: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.file, self.headers = status, code, message, file, headers

    def body(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.file is not None:
            err["file"] = self.file
        return {"error": err}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):  # 404, 405 from routing
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(ApiError(exc.status_code, code, str(exc.detail), headers=exc.headers))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):  # a bad query parameter
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return error_response(ApiError(422, "invalid_parameter", problems))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(ApiError(500, "internal_error", f"the server failed: {type(exc).__name__}"))
