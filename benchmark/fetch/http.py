"""One resumable HTTP download with the standard library (urllib): Range resume, bounded retries, fail-fast.

Protocol for one file:

* bytes go to ``<target>.part``; an existing ``.part`` is resumed with ``Range: bytes=<size>-`` (a ``206``
  answer is appended to it, a ``200`` answer restarts it, a ``416`` answer means the part is complete or stale);
* transient failures (timeouts, resets, truncated bodies, HTTP 408/429/5xx) are retried up to ``retries``
  times with exponential backoff ``backoff * 2**attempt`` seconds (capped at 30 s);
* an unreachable source (name resolution failure, connection refused, no route) is **not** retried: it raises
  :class:`UnreachableError` at once, and the caller skips further downloads from that host;
* other HTTP errors (404, 403, ...) raise :class:`DownloadError` at once.

``timeout`` applies to the connection and to each socket read, so a server that stalls fails after
``timeout`` seconds (per attempt).
"""

from __future__ import annotations

import errno
import http.client
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmark.fetch import gdrive

CHUNK = 1 << 16
USER_AGENT = "osasis-bench-fetch/1 (+python-urllib)"
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
UNREACHABLE_ERRNO = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


class DownloadError(Exception):
    """A download failed for good (HTTP error, bad content, retries exhausted)."""


class UnreachableError(DownloadError):
    """The source cannot be reached at all (no DNS, connection refused, no route): not worth retrying."""


class _TransientError(Exception):
    """Internal: a failure worth another attempt."""


@dataclass
class Transfer:
    """What one successful download did."""

    url: str
    bytes_received: int
    resumed_from: int
    attempts: int


def _classify(exc: BaseException) -> BaseException:
    """Map a low-level exception to UnreachableError, _TransientError or DownloadError."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError) \
        else exc  # fmt: skip
    if isinstance(reason, socket.gaierror):
        return UnreachableError(f"cannot resolve host ({reason})")
    if isinstance(reason, ConnectionRefusedError) or getattr(reason, "errno", None) in UNREACHABLE_ERRNO:
        return UnreachableError(f"connection refused or no route ({reason})")
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return _TransientError(f"timed out ({reason})")
    if isinstance(reason, (ConnectionError, http.client.HTTPException, OSError)):
        return _TransientError(f"{type(reason).__name__}: {reason}")
    return DownloadError(str(exc))


def _open(url: str, offset: int, timeout: float, headers: dict[str, str]) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (URLs come from the manifest)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:
            return exc  # type: ignore[return-value]  (handled by the caller)
        if exc.code in RETRY_STATUS:
            raise _TransientError(f"HTTP {exc.code} {exc.reason}") from exc
        raise DownloadError(f"HTTP {exc.code} {exc.reason} for {url}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _classify(exc) from exc


def _total_from_headers(response: http.client.HTTPResponse, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range)
    if match and match.group(3) != "*":
        return int(match.group(3))
    length = response.headers.get("Content-Length")
    return int(length) + offset if length and length.isdigit() else None


def _attempt(url: str, part: Path, timeout: float, expected_size: int | None,
             on_bytes: Callable[[int], None], headers: dict[str, str]) -> tuple[int, int, str | None]:
    """One attempt; returns (bytes received, offset resumed from, redirect URL for a Drive confirm page)."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        part.unlink()
        offset = 0
    response = _open(url, offset, timeout, headers)
    with response:
        status = response.status if hasattr(response, "status") else response.code
        if status == 416:  # nothing left to send: the part is complete or stale
            if expected_size is not None and offset == expected_size:
                return 0, offset, None
            part.unlink(missing_ok=True)
            raise _TransientError("HTTP 416 for a stale partial file; restarting")
        if status == 200 and offset:
            offset = 0  # the server ignored Range: start again
        if status == 206 and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
            raise DownloadError(f"server answered a Range request with {response.headers.get('Content-Range')!r}")
        if gdrive.is_drive(url) and "text/html" in response.headers.get("Content-Type", ""):
            page = response.read(1 << 20).decode("utf-8", "replace")
            return 0, offset, gdrive.next_url(url, page)
        total = _total_from_headers(response, offset)
        received = 0
        with open(part, "ab" if offset else "wb") as handle:
            while True:
                try:
                    block = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise _classify(exc) from exc
                if not block:
                    break
                handle.write(block)
                received += len(block)
                on_bytes(len(block))
        size = offset + received
        if total is not None and size < total:
            raise _TransientError(f"connection closed after {size} of {total} bytes")
        return received, offset, None


def download(url: str, target_part: Path, *, timeout: float = 30.0, retries: int = 4, backoff: float = 1.0,
             expected_size: int | None = None, on_bytes: Callable[[int], None] = lambda n: None,
             headers: dict[str, str] | None = None) -> Transfer:
    """Download ``url`` into ``target_part`` (resuming it), retrying transient failures with backoff."""
    url = gdrive.direct_url(url)
    first_offset = target_part.stat().st_size if target_part.exists() else 0
    last: Exception | None = None
    hops = 0
    attempt = 0
    while attempt <= retries:
        try:
            received, _, redirect = _attempt(url, target_part, timeout, expected_size, on_bytes, headers or {})
        except _TransientError as exc:
            last = exc
            if attempt < retries:
                time.sleep(min(backoff * 2**attempt, 30.0))
            attempt += 1
            continue
        if redirect is not None:
            hops += 1
            if hops > 3 or redirect == url:
                raise DownloadError(gdrive.manual_message(url))
            url = redirect
            continue
        return Transfer(url=url, bytes_received=received, resumed_from=first_offset, attempts=attempt + 1)
    raise DownloadError(f"gave up after {retries + 1} attempts: {last}")
