import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
# The project's shared folder (public reference values) sits beside the checkout, in CI as here. Only the
# tests that read it need it: without it they skip, saying why, and every other test runs.
SHARED = Path(os.environ.get("HIGHLIGHT_LAB_SHARED", REPO.parent / "shared"))


def _missing_reason(path: Path) -> str:
    return (f"{path} not found: this test checks against public reference values in the project's shared/ "
            "folder; clone next to it or set HIGHLIGHT_LAB_SHARED")


def shared_reference(name: str) -> Any:
    """A JSON file of ``shared/reference``; skips the calling test when the folder is not there."""
    path = SHARED / "reference" / name
    if not path.is_file():
        pytest.skip(_missing_reason(path))
    return json.loads(path.read_text(encoding="utf-8"))


def shared_cases(name: str) -> list[Any]:
    """The ``cases`` of a reference file as parameters; one skipped parameter when the file is missing."""
    path = SHARED / "reference" / name
    if not path.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=_missing_reason(path)), id="no-shared")]
    return json.loads(path.read_text(encoding="utf-8"))["cases"]
# A name no template, prompt or log may ever contain: if it shows up anywhere, privacy is broken.
SENTINEL_NAME = "Zyxwq Sentinelname"


@pytest.fixture(scope="session", autouse=True)
def lab_home(tmp_path_factory) -> Path:
    """Every test run gets its own lab data folder (cache, tiny model), never the developer's."""
    home = tmp_path_factory.mktemp("lab-home")
    os.environ["HIGHLIGHT_LAB_HOME"] = str(home)
    return home


@pytest.fixture(autouse=True)
def environment_restored():
    """What a test, or a library it calls, leaves in ``os.environ`` is undone after it, so no later test, nor a
    process one starts, inherits it. ``mlflow.set_registry_uri`` exports ``MLFLOW_REGISTRY_URI`` and
    ``monkeypatch.delenv`` of an unset variable undoes nothing: a studio a later test started took an earlier
    test's MLflow server, since stopped, as its registry (the order of files on two pytest-xdist workers)."""
    before = dict(os.environ)
    yield
    if os.environ != before:
        os.environ.clear()
        os.environ.update(before)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"network connection attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A writable copy of the shipped variant library."""
    dest = tmp_path / "variants"
    shutil.copytree(REPO / "variants", dest, ignore=shutil.ignore_patterns(".lock"))
    return dest


@pytest.fixture(scope="session")
def empty_mlflow_store(tmp_path_factory) -> Path:
    """An embedded MLflow store as MLflow makes it on first use (its tables, the Default experiment), made once.

    ``lab_env`` starts each lab with a copy, so that each test does not pay MLflow's 1.5-2.5 s of table creation;
    the file is what the lab's first use makes (same URI form, same default artifact root), and the tests that
    start a lab without ``lab_env`` (the studio's first launch, the CLI on a new folder) still make their own.
    """
    from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    path = tmp_path_factory.mktemp("empty-mlflow") / "mlflow.db"
    SqlAlchemyStore(f"sqlite:///{path}", DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH).engine.dispose()
    return path


@pytest.fixture
def lab_env(tmp_path, monkeypatch, empty_mlflow_store):
    """A private lab: its own data folder (MLflow store, outcomes) and a copy of the experiments."""
    from lab.experiments.spec import ExperimentLibrary
    from lab.library.versions import VariantLibrary

    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(empty_mlflow_store, home / "mlflow.db")
    monkeypatch.setenv("HIGHLIGHT_LAB_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    shutil.copytree(REPO / "experiments", tmp_path / "experiments")
    monkeypatch.setenv("HIGHLIGHT_LAB_EXPERIMENTS", str(tmp_path / "experiments"))
    monkeypatch.setenv("HIGHLIGHT_LAB_VARIANTS", str(REPO / "variants"))
    return ExperimentLibrary(tmp_path / "experiments", VariantLibrary(REPO / "variants"))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(cmd: list[str], url: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120,
          log: Path | None = None):
    """Start a server process (its own process group), wait until ``url`` answers 200; a context manager
    that stops the whole group on exit. ``log``: a file for the server's output (else it is dropped)."""
    import contextlib
    import signal
    import subprocess
    import time
    import urllib.request

    @contextlib.contextmanager
    def running():
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT if log else out,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if urllib.request.urlopen(url, timeout=2).status == 200:
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[0]} did not start serving {url} (exit {proc.poll()})")
                time.sleep(0.5)
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            if log:
                out.close()

    return running()


def mlflow_server(store: Path):
    """A real ``mlflow server`` on 127.0.0.1 over a sqlite store in ``store``: (url, context manager that runs it)."""
    import sys

    port = free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    cmd = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
           "--backend-store-uri", f"sqlite:///{store / 'server.db'}",
           "--artifacts-destination", (store / "server-artifacts").as_uri(), "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    return url, serve(cmd, f"{url}/health", env)


class _Calls(list):
    """The API requests a half-alive server received (paths), and when each came (``time.monotonic``)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []


@contextlib.contextmanager
def half_alive_server():
    """A real HTTP server on 127.0.0.1 that answers ``/health`` and holds every other request open without a
    reply (an MLflow whose database hangs): yields (url, the API requests it received)."""
    import http.server
    import threading
    import time

    release = threading.Event()
    api_calls = _Calls()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.rstrip("/") == "/health":
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")
                return
            api_calls.times.append(time.monotonic())
            api_calls.append(self.path)
            release.wait(600)  # never answers while the test runs

        do_POST = do_PATCH = do_DELETE = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", api_calls
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def reorder_tolerance(dtype: Any, terms: int, depth: int, lam: float = 4.0) -> float:
    """How far two evaluations of one float computation may drift when only their summation order differs.

    Another CPU, BLAS kernel or batch size adds the same products in another order. A sum of ``terms`` rounded
    products drifts by ``lam * sqrt(terms) * eps`` relative, except with probability below
    ``2 exp(-lam**2 / 2)`` (Higham and Mary, "A new approach to probabilistic rounding error analysis", 2019;
    0.07 % at lam = 4); ``depth`` dependent layers or steps can each add that much again. The bound comes from
    the dtype and the shape of the computation, never from one machine's measured drift.
    """
    import math

    import torch

    return lam * math.sqrt(terms) * torch.finfo(dtype).eps * depth
