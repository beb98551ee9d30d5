"""The push hook: an HTTP POST of ``{event_id, video_url, poster_url, arm}`` to the app's webhook.

Each attempt has a timeout; failures are retried with back-off. The caller dead-letters a push that still
fails; it never re-renders the video.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from lab.errors import LabError


@dataclass(frozen=True)
class PushResult:
    ok: bool
    attempts: int
    error: str | None = None


def check_url(url: str) -> str:
    """Only http(s) webhooks: a ``file:`` or other scheme from a setting never reaches ``urlopen``."""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise LabError("webhook", f"{url!r} is not an http(s) URL", "set HIGHLIGHT_LAB_WEBHOOK_URL=https://host/path")
    return url


def push(url: str, payload: dict[str, str | None], timeout_s: float, retries: int,
         backoff_s: float = 0.5) -> PushResult:
    """POST ``payload`` as JSON; up to ``retries`` + 1 attempts; a 2xx answer is success."""
    body = json.dumps(payload).encode("utf-8")
    error = None
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(check_url(url), data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 (scheme checked)
                if 200 <= answer.status < 300:
                    return PushResult(True, attempt)
                error = f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt <= retries:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return PushResult(False, retries + 1, error)
