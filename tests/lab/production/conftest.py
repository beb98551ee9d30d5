"""Real parts for the production tests: a redis-server on a free port, Celery worker processes, a webhook
server on 127.0.0.1. Each is stopped by its process id (or shut down) when the test ends."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lab.production.settings import WorkerSettings
from tests.conftest import REPO, free_port

LEVEL = 3  # 360p, 2 s, no particles: the smallest render of the default ladder that still draws everything


def write_events(path: Path, events: list[dict], extra_lines: tuple[str, ...] = ()) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for e in events:
            handle.write(json.dumps(e, ensure_ascii=False) + "\n")
        for line in extra_lines:
            handle.write(line + "\n")
    return path


def rank_events(n: int, prefix: str = "e", user: str = "Alice") -> list[dict]:
    return [{"event": "rank_up", "user": f"{user}", "user_id": f"user-{prefix}-{i}", "old_rank": 3 + i % 5,
             "new_rank": 2, "rival": "Bob", "challenge": "Weekly 5K", "event_id": f"{prefix}-{i}"} for i in range(n)]


@pytest.fixture
def running_lab(lab_env, tmp_path, monkeypatch):
    """The seed experiment set running, so the worker assigns users to its arms."""
    lab_env.set_status("seed-v1-v2-v3", "running")
    return lab_env


@pytest.fixture
def settings(running_lab, tmp_path) -> WorkerSettings:
    return WorkerSettings.from_env(output_url=str(tmp_path / "videos"), backend="motion", level=LEVEL, variants_dir=REPO / "variants",
                                   experiments_dir=running_lab.root, retry_backoff_s=0.01)


class Webhook:
    """A local HTTP endpoint that records every POST; it answers ``fail_first`` times with 503 first."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[dict] = []
        self.attempts = 0
        self.fail_first = fail_first
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                if hook.attempts <= hook.fail_first:
                    self.send_response(503)
                else:
                    hook.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hooks = []

    def make(fail_first: int = 0) -> Webhook:
        hooks.append(Webhook(fail_first))
        return hooks[-1]

    yield make
    for h in hooks:
        h.close()


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on 127.0.0.1 and a free port, no persistence; killed by its pid at the end."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: `make test` installs it (APT_PACKAGES), or apt-get install -y "
                    "redis-server")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def redis_done(url: str) -> int:
    """How many events the Redis ledger holds as done (its ``done`` markers)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
    try:
        return sum(1 for _ in client.scan_iter(match="highlight_lab:done:*", count=1000))
    finally:
        client.close()


def worker_env(settings: WorkerSettings, broker: str, visibility_timeout: int = 8) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"PYTHONPATH": str(REPO), "HIGHLIGHT_LAB_BROKER": broker,
                "HIGHLIGHT_LAB_OUTPUT_URL": settings.output_url, "HIGHLIGHT_LAB_WORKER_BACKEND": settings.backend,
                "HIGHLIGHT_LAB_WORKER_LEVEL": str(settings.level), "HIGHLIGHT_LAB_VARIANTS": str(settings.variants_dir),
                "HIGHLIGHT_LAB_EXPERIMENTS": str(settings.experiments_dir),
                "HIGHLIGHT_LAB_VISIBILITY_TIMEOUT": str(visibility_timeout)})
    return env


class Workers:
    """Celery worker processes (``highlight-lab worker --celery``, solo pool), each in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir, self.procs = env, log_dir, []

    def start(self) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(list(self.log_dir.glob('worker-*.log')))}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "lab.cli", "worker", "--celery", "--pool", "solo"],
                                env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill(proc)


@pytest.fixture
def celery_workers(tmp_path):
    made = []

    def make(env: dict[str, str]) -> Workers:
        made.append(Workers(env, tmp_path))
        return made[-1]

    yield make
    for w in made:
        w.stop_all()
