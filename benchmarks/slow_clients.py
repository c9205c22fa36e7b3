"""Slow and stalled clients against a running `serve` (used by bench_serve.py), all on 127.0.0.1 and bounded.

- `slow`: N clients send a multipart photo at 100 bytes/s while another client uploads photos normally: how
  many normal uploads get 200 within 2 s, and when each slow client is answered or closed.
- `stalled`: N clients send 19 MB of a 19.9 MB upload at full speed, then stop, while another client uploads
  photos normally: the server's RSS before, at its peak and after, when each stalled upload is answered or
  closed, and how the normal uploads fared.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx


def multipart(photo: bytes, name: str = "photo.jpg") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def head(port: int, length: int, content_type: str) -> bytes:
    return (f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


async def _outcome(reader: asyncio.StreamReader) -> str:
    """The status of the answer, or 'closed' when the server closed without one."""
    try:
        line = await reader.readline()
    except (ConnectionError, OSError):
        return "closed"
    return line.split()[1].decode() if line.startswith(b"HTTP/") else "closed"


async def _slow_client(port: int, body: bytes, content_type: str, rate: int, limit: float) -> tuple[str, float]:
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.ensure_future(_outcome(reader))
    try:
        writer.write(head(port, len(body), content_type))
        step = max(1, rate // 10)
        for at in range(0, len(body), step):
            if answer.done():
                break
            writer.write(body[at : at + step])
            await asyncio.wait([answer], timeout=step / rate)
        status = await asyncio.wait_for(answer, limit - (time.monotonic() - start))
    except (ConnectionError, OSError):
        status = "closed"
    except asyncio.TimeoutError:
        status = "still open"
    finally:
        answer.cancel()
        writer.close()
    return status, time.monotonic() - start


async def normal_uploads(url: str, photos: list[bytes], seconds: float, arriving: int = 0) -> dict:
    """One client uploading photos one after another for `seconds`, once `arriving` uploads are in progress."""
    latencies, statuses = [], []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        ready = time.monotonic() + 30
        while (await http.get("/health")).json()["uploads_arriving"] < arriving and time.monotonic() < ready:
            await asyncio.sleep(0.1)
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            t = time.monotonic()
            r = await http.post("/v1/predict", files={"image": (f"{i}.jpg", photos[i % len(photos)], "image/jpeg")})
            latencies.append(time.monotonic() - t)
            statuses.append(r.status_code)
            i += 1
    ok_fast = sum(1 for s, t in zip(statuses, latencies) if s == 200 and t <= 2)
    latencies.sort()
    return {"normal": len(statuses), "normal_ok_2s": ok_fast, "normal_p50": latencies[len(latencies) // 2],
            "normal_max": latencies[-1]}


def _count(outcomes) -> dict:
    return {s: sum(1 for o, _ in outcomes if o == s) for s in {o for o, _ in outcomes}}


async def slow(url: str, photos: list[bytes], clients: int = 150, rate: int = 100, normal_for: float = 20,
               limit: float = 60) -> dict:
    port = httpx.URL(url).port
    slow_tasks = [asyncio.ensure_future(_slow_client(port, *multipart(photos[i % len(photos)]), rate, limit))
                  for i in range(clients)]
    normal = await normal_uploads(url, photos, normal_for, arriving=clients)
    outcomes = await asyncio.gather(*slow_tasks)
    return {**normal, "slow": clients, "slow_outcomes": _count(outcomes), "slow_last_s": max(t for _, t in outcomes)}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _stalled_client(port: int, sent: int, declared: int, limit: float) -> tuple[str, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.ensure_future(_outcome(reader))
    chunk = b"\0" * (1 << 20)
    try:
        writer.write(head(port, declared, "image/jpeg"))
        for at in range(0, sent, len(chunk)):
            if answer.done():
                break
            writer.write(chunk[: min(len(chunk), sent - at)])
            await writer.drain()
        stalled = time.monotonic()  # from here on, nothing more is sent
        status = await asyncio.wait_for(answer, limit)
    except (ConnectionError, OSError):
        stalled, status = time.monotonic(), "closed"
    except asyncio.TimeoutError:
        status = "still open"
    finally:
        answer.cancel()
        writer.close()
    return status, time.monotonic() - stalled


async def stalled(url: str, pid: int, photos: list[bytes], clients: int = 96, sent_mb: float = 19,
                  normal_for: float = 20, limit: float = 60) -> dict:
    port = httpx.URL(url).port
    baseline = rss_mb(pid)
    peak = [baseline]

    async def sample():
        while True:
            peak.append(rss_mb(pid))
            await asyncio.sleep(0.25)

    sampler = asyncio.ensure_future(sample())
    start = time.monotonic()
    sent = int(sent_mb * 2**20)
    tasks = [asyncio.ensure_future(_stalled_client(port, sent, sent + 900 * 1024, limit)) for _ in range(clients)]
    await asyncio.sleep(2)  # the stalled uploads are sending
    normal = await normal_uploads(url, photos, normal_for)
    outcomes = await asyncio.gather(*tasks)
    released = time.monotonic() - start
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        ready = time.monotonic() + 30
        while (await http.get("/health")).json()["uploads_arriving"] and time.monotonic() < ready:
            await asyncio.sleep(0.1)
    await asyncio.sleep(1)  # let the allocator hand freed memory back
    sampler.cancel()
    return {**normal, "clients": clients, "baseline_mb": baseline, "peak_mb": max(peak), "after_mb": rss_mb(pid),
            "outcomes": _count(outcomes), "longest_stall_s": max(t for _, t in outcomes), "all_released_s": released}
