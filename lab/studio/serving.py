"""What the studio serves over HTTP, and to whom: the few folders a page needs, never the data folder's secrets,
and failed logins throttled per client.

Gradio's file routes (``/gradio_api/file=PATH`` and its older spellings) serve any file under ``allowed_paths``;
the studio names only the folders its outputs are written to (previews, reports, export bundles, the library's
assets) and blocks everything else in the data folder by name (the id salt, the MLflow store, the outcome
store, ...), so a file added there later is still refused.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from lab import config

# Data-folder entries the studio's pages show (downloads, videos, images): served.
SERVED = ("previews", "reports", "exports")
# Data-folder entries never served, whether or not they exist yet (a later run may create them).
SECRET = ("id-salt", "mlflow.db", "mlflow.db-journal", "mlflow.db-wal", "mlflow.db-shm", "outcomes", "simulated",
          "mlartifacts", "production", "videos", "backgrounds", "models", "loras")
LOGIN_LIMIT = 10  # failed logins a client may make ...
LOGIN_WINDOW_S = 60.0  # ... in this many seconds before it is answered 429


def served_paths(variants_dir: Path) -> list[str]:
    """Folders whose files a page may fetch: the studio's outputs and the library's images."""
    home = config.data_dir()
    return [str(home / name) for name in SERVED] + [str(Path(variants_dir).resolve() / "assets")]


def blocked_paths() -> list[str]:
    """Every data-folder entry but the served ones, the known secrets by name, and the MLflow store if it is a
    SQLite file elsewhere."""
    home = config.data_dir()
    names = set(SECRET)
    if home.is_dir():
        names |= {p.name for p in home.iterdir() if p.name not in SERVED}
    out = [str(home / n) for n in sorted(names)] + [str(config.salt_path())]
    uri = config.tracking_uri()
    if uri.startswith("sqlite:///"):
        out.append(str(Path(uri.removeprefix("sqlite:///")).resolve()))
    return out


class LoginThrottle:
    """ASGI middleware: after ``limit`` failed logins from one client address within ``window`` seconds, its
    next logins are answered 429 (Too Many Requests) until the oldest failure leaves the window."""

    def __init__(self, app: Callable[..., Awaitable[None]], limit: int = LOGIN_LIMIT,
                 window: float = LOGIN_WINDOW_S) -> None:
        self.app, self.limit, self.window = app, limit, window
        self.failures: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        seen = self.failures.setdefault(client, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        return seen

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != "/login":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        with self.lock:
            if len(self._recent(client, time.monotonic())) >= self.limit:
                refused = True
            else:
                refused = False
        if refused:
            body = b'{"detail":"Too many failed logins: wait a minute and try again."}'
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"60")]})
            await send({"type": "http.response.body", "body": body})
            return

        async def watch(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] in (400, 401, 403):
                with self.lock:
                    self._recent(client, time.monotonic()).append(time.monotonic())
            await send(message)

        await self.app(scope, receive, watch)


def serve_options(variants_dir: Path) -> dict[str, Any]:
    """The file and login rules for ``Blocks.launch``: served folders, blocked ones, the login throttle."""
    from starlette.middleware import Middleware

    for folder in served_paths(variants_dir)[:len(SERVED)]:
        Path(folder).mkdir(parents=True, exist_ok=True)
    return {"allowed_paths": served_paths(variants_dir), "blocked_paths": blocked_paths(),
            "app_kwargs": {"middleware": [Middleware(LoginThrottle)]}}
