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
    # Deadlines, so that slow or stalled clients cannot hold connections and memory for ever (deadlines.py,
    # admission.py). The upload's deadline runs from its headers to its last byte: 30 s is 20 MB at 5 Mbit/s.
    upload_timeout: float = 30.0  # then 408 and the connection is closed
    header_timeout: float = 10.0  # a request's headers, from the connection (or the previous answer) on
    keep_alive_timeout: float = 5.0  # idle after an answer (uvicorn's timeout_keep_alive)
    # Bytes of request bodies still arriving, all uploads together: past it, the largest upload arriving is
    # stopped (503) to make room, or the newcomer gets 503 (admission.Arrivals). Complete requests are counted
    # separately (max_queue + max_batch).
    max_arriving_mb: float = 256.0

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_arriving_bytes(self) -> int:
        return int(self.max_arriving_mb * 1024 * 1024)
