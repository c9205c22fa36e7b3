"""Request body -> uploaded files, held in memory and never spooled to disk.

Starlette's `request.form()` spools file parts over 1 MB to temporary files; here python-multipart's streaming
parser is fed the body chunk by chunk instead, and the size limit is checked as each chunk arrives, so an
oversized upload is refused after reading at most one chunk past the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from .errors import ApiError
from .settings import ServerSettings

# Form fields read as images even without a filename (curl -F 'image=<photo.jpg' sends none).
IMAGE_FIELDS = frozenset({"image", "images", "file", "files", "photo", "photos"})
RAW_TYPES = ("image/", "application/octet-stream")
HOW = "send photos as multipart/form-data (field `image`), or one photo as the body with Content-Type image/*"


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def too_large(settings: ServerSettings) -> ApiError:
    return ApiError(413, "upload_too_large", f"the upload is larger than the limit of {settings.max_upload_mb:g} MB")


async def limited(chunks: AsyncIterator[bytes], limit: int, settings: ServerSettings) -> AsyncIterator[bytes]:
    total = 0
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise too_large(settings)
            yield chunk
    except ClientDisconnect:  # nobody is left to answer; this only keeps a traceback out of the log
        raise ApiError(400, "incomplete_upload", "the client went away during the upload") from None


class _Parts:
    """Callbacks for python-multipart: collects image parts in memory."""

    def __init__(self, max_images: int):
        self.max_images = max_images
        self.files: list[Upload] = []
        self.complete = False
        self._headers: dict[bytes, bytes] = {}
        self._field = self._value = b""
        self._data: bytearray | None = None
        self._name = ""

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end,
        }

    def _begin(self):
        self._headers, self._field, self._value, self._data = {}, b"", b"", None

    def _header_field(self, data, start, end):
        self._field += data[start:end]

    def _header_value(self, data, start, end):
        self._value += data[start:end]

    def _header_end(self):
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self):
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if filename is None and name.lower() not in IMAGE_FIELDS:
            return  # another form field: ignored
        if len(self.files) >= self.max_images:
            # 400, not 413: the schema says maxItems, and a request that breaks its schema is a bad request
            raise ApiError(400, "too_many_images", f"at most {self.max_images} images per request")
        self._name = (filename or b"").decode("utf-8", "replace")[-255:] or name or f"image {len(self.files) + 1}"
        self._data = bytearray()

    def _part_data(self, data, start, end):
        if self._data is not None:
            self._data += data[start:end]

    def _part_end(self):
        if self._data is not None:
            self.files.append(Upload(self._name, bytes(self._data)))
            self._data = None

    def _end(self):
        self.complete = True


async def read_uploads(request, settings: ServerSettings) -> list[Upload]:
    """The uploaded images of a request, or an ApiError with the status that says what is wrong."""
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(settings)  # refused before reading a byte of it
    mime, params = parse_options_header(request.headers.get("content-type", ""))
    mime = mime.decode("latin-1").lower()
    body = limited(request.stream(), limit, settings)
    if mime == "multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise ApiError(400, "bad_multipart", "multipart/form-data without a boundary")
        parts = _Parts(settings.max_images)
        parser = MultipartParser(boundary, parts.callbacks())
        try:
            async for chunk in body:
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError as e:
            raise ApiError(400, "bad_multipart", f"the multipart body cannot be parsed ({e})") from None
        if not parts.complete:
            raise ApiError(400, "bad_multipart", "the multipart body ends before its closing boundary")
        uploads = parts.files
    elif mime.startswith(RAW_TYPES):
        data = bytearray()
        async for chunk in body:
            data += chunk
        name = request.headers.get("x-filename", "")[-255:] or "upload"
        uploads = [Upload(name, bytes(data))]
    elif not mime and declared in ("", "0"):
        uploads = []  # a bare POST: say what to send
    else:
        raise ApiError(415, "unsupported_content_type", f"cannot read a {mime or 'untyped'} body; {HOW}")
    if not uploads:
        raise ApiError(400, "no_image", f"no image in the request; {HOW}")
    for u in uploads:
        if not u.data:
            raise ApiError(400, "empty_file", "the uploaded file is empty", file=u.filename)
    return uploads
