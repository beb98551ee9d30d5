"""MLflow that does not answer: commands fail within seconds with one line, and an export interrupted by a
killed server leaves the old production (alias and production.json agree), no export run, the status as it was."""

import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from lab import config
from lab.errors import LabError
from lab.experiments import registry, tracking
from lab.experiments.outcomes import OutcomeStore
from lab.experiments.workflow import export, rollback, track
from tests.conftest import REPO, free_port, half_alive_server, mlflow_server

KEY = "seed-v1-v2-v3"
# Past the plan's 6,582 per arm, so a fixed-horizon analysis is read and ships v3.
COUNTS = ("variant,impressions,clicks\nv1-fast-sprint,7000,1610\nv2-slow-motion,7000,2170\n"
          "v3-rival-ghost,7000,2660\n")


def down_line(url: str, command: str) -> str:
    return f"MLflow at {url} is not answering; nothing local was lost; run {command} again when it is back"


# A hang guard, not a benchmark: before the fix one such command retried for about 4.5 minutes. The lab's own
# budget (ping 3 s, then a 10 s timeout with 1 retry) is far below it; the rest is interpreter start-up, which
# on a loaded CI machine can take tens of seconds by itself.
HANG_S = 120


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "lab.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=HANG_S + 60)
    return proc, time.monotonic() - t0


def _file(path, text: str):
    path.write_text(text)
    return path


@contextlib.contextmanager
def stalled_listener():
    """A port that accepts connections and never answers (a hung server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


# A half-alive server is told apart by its timeouts, so the lab's budget is set small here; the bound below is
# for the whole process (interpreter and mlflow import included) and is an upper bound only: before the fix the
# defaults took 23-24 s and ended in a traceback.
HALF_ALIVE_BOUND_S = 20
# From a command's first request to its exit, with a 2 s budget and 1 retry: the budget, the retry's back-off and
# the exit. MLflow's defaults waited about 20 s of the 23-24 s above.
HALF_ALIVE_WAIT_S = 10


def test_configure_bounds_mlflow_own_timeout_and_retries(lab_env, monkeypatch):
    from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT

    monkeypatch.setenv(config.ENV_MLFLOW_TIMEOUT, "4")
    monkeypatch.setenv(config.ENV_MLFLOW_RETRIES, "0")
    tracking.configure()
    assert (MLFLOW_HTTP_REQUEST_TIMEOUT.get(), MLFLOW_HTTP_REQUEST_MAX_RETRIES.get()) == (4, 0)
    monkeypatch.delenv(config.ENV_MLFLOW_TIMEOUT)
    monkeypatch.delenv(config.ENV_MLFLOW_RETRIES)
    tracking.configure()
    # The setting bounds a whole call: each of its 1 + retries attempts waits a share of it.
    attempts = config.DEFAULT_MLFLOW_RETRIES + 1
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == config.DEFAULT_MLFLOW_TIMEOUT_S // attempts
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() * attempts <= config.DEFAULT_MLFLOW_TIMEOUT_S
    assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == config.DEFAULT_MLFLOW_RETRIES


def test_a_half_alive_server_fails_each_command_with_one_line(lab_env, tmp_path, monkeypatch):
    """/health answers, the API hangs: every command stops with the one line (exit 2), having sent its first
    request once plus the configured retries, and never a traceback. Each command has its own such server, so
    the commands wait out their timeouts side by side and each one's requests are counted on their own."""
    lab_env.set_status(KEY, "running")
    OutcomeStore(KEY).ingest(lab_env.load(KEY), _file(tmp_path / "earlier.csv", COUNTS))  # the export has outcomes
    counts = _file(tmp_path / "counts.csv", COUNTS.replace(",7000,", ",7100,"))
    monkeypatch.setenv(config.ENV_MLFLOW_TIMEOUT, "2")
    monkeypatch.setenv(config.ENV_MLFLOW_RETRIES, "1")
    commands = [
        (["experiments", "track", KEY, "--no-previews"], "highlight-lab experiments track"),
        (["outcomes", "ingest", "--experiment", KEY, str(counts)], "highlight-lab outcomes ingest"),
        (["export", "--experiment", KEY], "highlight-lab export"),
        (["rollback", "--scenario", "rank_up"], "highlight-lab rollback"),
    ]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(half_alive_server()) for _ in commands]
        with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
            runs = list(pool.map(lambda c: (*cli(*c[0][0], env={"MLFLOW_TRACKING_URI": c[1][0]}), time.monotonic()),
                                 zip(commands, servers, strict=True)))
    for (args, again), (url, api_calls), (proc, _, ended) in zip(commands, servers, runs, strict=True):
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert proc.stderr.strip().splitlines() == [f"error: {down_line(url, again)}"], args
        assert len(api_calls) == 2, (args, api_calls)  # one request, one retry, no more
        waited = ended - api_calls.times[0]  # from its first request on: start-up (load-dependent) left out
        assert waited <= HALF_ALIVE_WAIT_S, (args, waited)


def test_a_half_alive_server_is_unavailable_in_process_and_within_the_budget(lab_env, monkeypatch):
    monkeypatch.setenv(config.ENV_MLFLOW_TIMEOUT, "2")
    monkeypatch.setenv(config.ENV_MLFLOW_RETRIES, "0")
    with half_alive_server() as (url, api_calls):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        t0 = time.monotonic()
        with pytest.raises(tracking.MlflowUnavailable, match="is not answering"):
            track(lab_env, lab_env.load(KEY), previews=False)
        took = time.monotonic() - t0
        with pytest.raises(tracking.MlflowUnavailable):
            from lab.experiments.workflow import production_versions

            production_versions("rank_up")  # a hung registry is not "no versions"
    assert len(api_calls) == 2  # the track's first request, the registry's first request: no retry, no cleanup
    assert took <= HALF_ALIVE_BOUND_S


def test_every_mlflow_command_fails_fast_with_one_line_when_nothing_answers(lab_env, tmp_path, monkeypatch):
    lab_env.set_status(KEY, "running")  # only a running or stopped experiment is exported
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    counts = tmp_path / "counts.csv"
    counts.write_text(COUNTS)
    commands = [
        (["experiments", "track", KEY, "--no-previews"], "highlight-lab experiments track"),
        (["outcomes", "ingest", "--experiment", KEY, str(counts)], "highlight-lab outcomes ingest"),
        (["experiments", "analyze", KEY], "highlight-lab experiments analyze"),
        (["export", "--experiment", KEY], "highlight-lab export"),
        (["rollback", "--scenario", "rank_up"], "highlight-lab rollback"),
    ]
    for args, again in commands:
        proc, took = cli(*args)
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert proc.stderr.strip().splitlines() == [f"error: {down_line(url, again)}"], args
        assert took < HANG_S, (args, took)
    # The ingest kept its file locally: nothing was lost, and running it again only adds the MLflow step.
    assert OutcomeStore(KEY).dataset(lab_env.load(KEY)).rows > 0


def test_a_hung_server_times_out_within_seconds(lab_env, monkeypatch):
    with stalled_listener() as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        proc, took = cli("experiments", "track", KEY, "--no-previews")
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {down_line(url, 'highlight-lab experiments track')}"
    assert took < HANG_S


def test_rollback_with_the_server_down_does_not_claim_there_is_no_production(lab_env, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(tracking.MlflowUnavailable, match="is not answering"):
        rollback("rank_up")


def test_a_server_killed_mid_export_leaves_the_old_production(lab_env, tmp_path, monkeypatch):
    store_dir = tmp_path / "server"
    store_dir.mkdir()
    url, server = mlflow_server(store_dir)
    counts = tmp_path / "counts.csv"
    counts.write_text(COUNTS)
    # A second experiment on the same scenario, so the killed export has an old production to keep.
    spec = (lab_env.root / f"{KEY}.yaml").read_text(encoding="utf-8")
    (lab_env.root / "rerun.yaml").write_text(spec.replace(f"key: {KEY}", "key: rerun"), encoding="utf-8")
    for key in (KEY, "rerun"):
        lab_env.set_status(key, "running")
        OutcomeStore(key).ingest(lab_env.load(key), counts)
    folder = registry.bundle_dir("rank_up")
    with server as proc:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        first = export(lab_env, KEY)
        assert (first.arm, first.prompt_version) == ("v3-rival-ghost", 1)
        track(lab_env, lab_env.load("rerun"), previews=False)
        old_bundle = (folder / "production.json").read_text(encoding="utf-8")

        original = registry.move_alias

        def kill_then_move(name, version):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return original(name, version)

        monkeypatch.setattr(registry, "move_alias", kill_then_move)
        t0 = time.monotonic()
        with pytest.raises(LabError) as err:
            export(lab_env, "rerun", arm="v2-slow-motion", force=True, reason="brand review")
        took = time.monotonic() - t0
        monkeypatch.setattr(registry, "move_alias", original)
    assert str(err.value) == down_line(url, "the command") and took < HANG_S
    assert (folder / "production.json").read_text(encoding="utf-8") == old_bundle
    assert lab_env.load("rerun").status == "running"

    # What the server stored, read straight from its own sqlite store (the server is dead).
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store_dir / 'server.db'}")
    name = registry.prompt_name("rank_up")
    assert registry.production_version(name) == 1
    assert json.loads(old_bundle)["prompt"]["version"] == 1
    assert registry.load_bundle("rank_up")["variant"]["id"] == "v3-rival-ghost"
    mlflow = tracking.configure()
    runs = mlflow.search_runs(experiment_names=[tracking.experiment_name("rerun")])
    exports = runs[runs["tags.highlight_lab.kind"] == "export"]
    assert set(exports["status"]) <= {"FAILED"}
    assert set(runs["status"]) == {"FINISHED"} | set(exports["status"])


def test_a_failure_after_the_alias_moved_moves_it_back(lab_env, tmp_path, monkeypatch):
    counts = tmp_path / "counts.csv"
    counts.write_text(COUNTS)
    spec = (lab_env.root / f"{KEY}.yaml").read_text(encoding="utf-8")
    (lab_env.root / "rerun.yaml").write_text(spec.replace(f"key: {KEY}", "key: rerun"), encoding="utf-8")
    for key in (KEY, "rerun"):
        lab_env.set_status(key, "running")
        OutcomeStore(key).ingest(lab_env.load(key), counts)
    export(lab_env, KEY)
    folder = registry.bundle_dir("rank_up")
    old_bundle = (folder / "production.json").read_text(encoding="utf-8")

    def broken_run(*args, **kwargs):
        raise OSError("disk full while logging the export run")

    monkeypatch.setattr(tracking, "run", broken_run)
    with pytest.raises(OSError, match="disk full"):
        export(lab_env, "rerun", arm="v2-slow-motion", force=True, reason="brand review")
    assert registry.production_version(registry.prompt_name("rank_up")) == 1
    assert (folder / "production.json").read_text(encoding="utf-8") == old_bundle
    assert lab_env.load("rerun").status == "running"


def test_production_json_follows_the_alias(lab_env, tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text(COUNTS)
    OutcomeStore(KEY).ingest(lab_env.load(KEY), counts)
    lab_env.set_status(KEY, "running")
    export(lab_env, KEY)
    production = registry.bundle_dir("rank_up") / "production.json"
    production.write_text("{}")  # as if an interrupted export had left it behind
    assert registry.load_bundle("rank_up")["prompt"]["version"] == 1
    assert json.loads(production.read_text(encoding="utf-8"))["prompt"]["version"] == 1


def test_export_refuses_a_fixed_test_read_before_its_plan(lab_env, tmp_path):
    lab_env.set_status(KEY, "running")
    early = tmp_path / "day1.csv"
    early.write_text("variant,impressions,clicks\nv1-fast-sprint,1000,230\nv2-slow-motion,1000,310\n"
                     "v3-rival-ghost,1000,380\n")
    OutcomeStore(KEY).ingest(lab_env.load(KEY), early)
    with pytest.raises(LabError, match=r"keep running \(1,000 of 6,582 impressions per arm\)', not a winner"):
        export(lab_env, KEY)
    forced = export(lab_env, KEY, arm="v3-rival-ghost", force=True, reason="launch date fixed by marketing")
    assert forced.forced and forced.decision.startswith("keep running (1,000 of 6,582")
