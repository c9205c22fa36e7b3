"""The server's limits, in one frozen dataclass the CLI fills."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSettings:
    max_upload_mb: float = 20.0  # whole request body, counted while it streams in
    max_images: int = 32  # per request
    # Decoded size limit for uploads Pillow cannot decode at reduced scale (PNG, WebP, ...): 64 MP is 192 MB
    # of RGB. JPEGs decode at 1/2-1/8 scale, so they are held to the core's larger limit instead.
    max_pixels: int = 64 * 1024 * 1024
    top_k: int = 5
    max_batch: int = 32  # images per model call
    batch_wait_ms: float = 5.0  # how long an idle worker waits for more requests to batch with the first
    max_queue: int = 64  # images waiting for the worker; beyond it, 503 + Retry-After
    decode_threads: int = 0  # 0: half the cores (torch uses the rest)
    allow_origins: tuple[str, ...] = ()  # web page origins that may read answers (CORS); "*": any; (): no CORS

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
