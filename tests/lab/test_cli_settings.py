"""Settings are read and checked in one place (``lab.config``), and each command checks the ones it reads before
any work: a bad value is one line naming the variable and what it takes, exit 2, never a traceback."""

import pytest

from lab import config
from lab.cli import main
from lab.errors import LabError
from tests.conftest import REPO

EVENT = '{"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2}'


@pytest.fixture
def events_file(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "rank_up", "user": "Alice", "user_id": "u-1", "event_id": "e-1", "old_rank": 3, '
                    '"new_rank": 2}\n', encoding="utf-8")
    return path


def commands(tmp_path, events_file):
    """A command that reads each variable first, and the file it would write (which must not appear)."""
    out = tmp_path / "out.mp4"
    render = (["render", "--variant", "v1-fast-sprint", "--event", EVENT, "--out", str(out), "--backend", "motion",
               "--level", "4", "--dir", str(REPO / "variants")], out)
    worker = (["worker", "--events", str(events_file), "--out", str(tmp_path / "videos"), "--backend", "motion",
               "--workers", "1", "--dir", str(REPO / "variants")], tmp_path / "videos")
    analyze = (["experiments", "analyze", "seed-v1-v2-v3", "--dir", str(REPO / "variants"),
                "--experiments", str(REPO / "experiments")], None)
    celery_send = (["worker", "--events", str(events_file), "--broker", "redis://127.0.0.1:9/0"], None)
    studio = (["studio", "--dir", str(REPO / "variants"), "--no-demo"], None)
    return {
        "HIGHLIGHT_LAB_CACHE_BYTES": render,
        "HIGHLIGHT_LAB_WAN_VAE_DTYPE": render,
        "HIGHLIGHT_LAB_WAN_CPU_OFFLOAD": render,
        "HIGHLIGHT_LAB_MLFLOW_TIMEOUT": analyze,
        "HIGHLIGHT_LAB_MLFLOW_RETRIES": analyze,
        "HIGHLIGHT_LAB_PUSH_TIMEOUT": worker,
        "HIGHLIGHT_LAB_PUSH_RETRIES": worker,
        "HIGHLIGHT_LAB_RENDER_RETRIES": worker,
        "HIGHLIGHT_LAB_WORKER_LEVEL": worker,
        "HIGHLIGHT_LAB_WEBHOOK_URL": worker,
        "HIGHLIGHT_LAB_VISIBILITY_TIMEOUT": celery_send,
        "GRADIO_SERVER_PORT": studio,
    }


@pytest.mark.parametrize("variable", ["HIGHLIGHT_LAB_CACHE_BYTES", "HIGHLIGHT_LAB_WAN_VAE_DTYPE",
                                      "HIGHLIGHT_LAB_WAN_CPU_OFFLOAD", "HIGHLIGHT_LAB_MLFLOW_TIMEOUT",
                                      "HIGHLIGHT_LAB_MLFLOW_RETRIES", "HIGHLIGHT_LAB_PUSH_TIMEOUT",
                                      "HIGHLIGHT_LAB_PUSH_RETRIES", "HIGHLIGHT_LAB_RENDER_RETRIES",
                                      "HIGHLIGHT_LAB_WORKER_LEVEL", "HIGHLIGHT_LAB_WEBHOOK_URL",
                                      "HIGHLIGHT_LAB_VISIBILITY_TIMEOUT", "GRADIO_SERVER_PORT"])
def test_a_bad_setting_stops_the_command_before_any_work(variable, tmp_path, events_file, monkeypatch, capsys):
    argv, output = commands(tmp_path, events_file)[variable]
    monkeypatch.setenv(variable, "abc")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    shown = "its value" if config.SETTINGS[variable].secret else "'abc'"
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {variable}: {shown} is not ")
    assert "; it takes " in err and "unset it" in err
    if output is not None:
        assert not output.exists()  # checked before any work: nothing rendered, no folder made


def test_a_bad_setting_is_one_line_from_the_installed_command(tmp_path):
    import os
    import subprocess

    from tests.lab.test_cli import CLI

    out = tmp_path / "out.mp4"
    env = {**os.environ, "HIGHLIGHT_LAB_CACHE_BYTES": "abc"}
    proc = subprocess.run([CLI, "render", "--variant", "v1-fast-sprint", "--event", EVENT, "--out", str(out),
                           "--backend", "motion", "--level", "4"], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == ("error: HIGHLIGHT_LAB_CACHE_BYTES: 'abc' is not a size in bytes; it takes a whole number "
                           "from 0 to 2^50 (e.g. 4294967296); set it to such a value, or unset it "
                           "(default 4294967296)\n")
    assert not out.exists()


@pytest.mark.parametrize("variable, text", [
    ("HIGHLIGHT_LAB_CACHE_BYTES", "１０２４"),  # full-width digits: int() reads them
    ("HIGHLIGHT_LAB_CACHE_BYTES", "1_000"),  # int() reads underscores
    ("HIGHLIGHT_LAB_CACHE_BYTES", "-5"),
    ("HIGHLIGHT_LAB_CACHE_BYTES", "9" * 5000),  # past int()'s 4300-digit limit
    ("HIGHLIGHT_LAB_MLFLOW_TIMEOUT", "0"),  # no time at all to answer
    ("HIGHLIGHT_LAB_MLFLOW_TIMEOUT", "1e9"),
    ("HIGHLIGHT_LAB_PUSH_TIMEOUT", "nan"),  # float() reads nan and inf
    ("HIGHLIGHT_LAB_PUSH_TIMEOUT", "inf"),
    ("HIGHLIGHT_LAB_PUSH_TIMEOUT", "-1"),
    ("HIGHLIGHT_LAB_PUSH_RETRIES", "3.5"),
    ("HIGHLIGHT_LAB_WORKER_LEVEL", "-1"),
    ("HIGHLIGHT_LAB_WAN_VAE_TILING", "maybe"),  # a switch that is neither on nor off was silently off
    ("HIGHLIGHT_LAB_WAN_VAE_DTYPE", "fp16"),
    ("HIGHLIGHT_LAB_WAN_COMPILE", "turbo"),
    ("HIGHLIGHT_LAB_WAN_ATTENTION", "flash_hub"),
    ("HIGHLIGHT_LAB_GPU_RATE_LIMIT", "fast"),
    ("HIGHLIGHT_LAB_WEBHOOK_URL", "file:///etc/passwd"),
    ("HIGHLIGHT_LAB_BROKER", "localhost"),
    ("GRADIO_SERVER_PORT", "70000"),
])
def test_values_python_would_read_but_the_setting_does_not_take(variable, text, monkeypatch):
    monkeypatch.setenv(variable, text)
    with pytest.raises(LabError) as info:
        config.value(variable)
    assert info.value.where == variable and " is not " in info.value.what and "; it takes " in info.value.what


def test_urls_that_may_hold_a_password_are_not_quoted(monkeypatch):
    monkeypatch.setenv("HIGHLIGHT_LAB_WEBHOOK_URL", "ftp://user:s3cret@host/hook")
    with pytest.raises(LabError) as info:
        config.webhook_url()
    assert "s3cret" not in str(info.value)
    assert str(info.value).startswith("HIGHLIGHT_LAB_WEBHOOK_URL: its value is not an http(s) URL; it takes an http ")


@pytest.mark.parametrize("variable, text, expected", [
    ("HIGHLIGHT_LAB_CACHE_BYTES", " 1024 ", 1024),
    ("HIGHLIGHT_LAB_CACHE_BYTES", "", config.DEFAULT_CACHE_BYTES),  # empty counts as unset
    ("HIGHLIGHT_LAB_PUSH_TIMEOUT", "2.5", 2.5),
    ("HIGHLIGHT_LAB_WAN_VAE_TILING", "ON", True),
    ("HIGHLIGHT_LAB_WAN_VAE_TILING", "off", False),
    ("HIGHLIGHT_LAB_WAN_COMPILE", "yes", "inductor"),
    ("HIGHLIGHT_LAB_WAN_COMPILE", "0", None),
    ("HIGHLIGHT_LAB_WAN_COMPILE", "aot_eager", "aot_eager"),
    ("HIGHLIGHT_LAB_WAN_VAE_DTYPE", "BF16", "bf16"),
    ("HIGHLIGHT_LAB_GPU_RATE_LIMIT", "2/s", "2/s"),
    ("HIGHLIGHT_LAB_WORKER_LEVEL", "0", 0),
    ("HIGHLIGHT_LAB_WEBHOOK_URL", "http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
])
def test_good_values_are_read(variable, text, expected, monkeypatch):
    monkeypatch.setenv(variable, text)
    assert config.value(variable) == expected


def test_every_variable_the_lab_reads_is_in_the_table():
    names = {getattr(config, n) for n in dir(config) if n.startswith("ENV_")}
    assert names == set(config.SETTINGS)


def test_every_command_named_in_the_table_exists():
    from lab.cli import build_parser

    parser = build_parser()
    for words in config.COMMAND_SETTINGS:
        args = parser.parse_args([*words.split(), *{"render": ["--variant", "x", "--event", "{}", "--out", "o.mp4"],
                                                    "experiments track": ["k"], "experiments analyze": ["k"],
                                                    "outcomes ingest": ["--experiment", "k"],
                                                    "export": ["--experiment", "k"],
                                                    "rollback": ["--scenario", "rank_up"]}.get(words, [])])
        assert " ".join(w for w in (args.command, getattr(args, "action", None)) if w) == words


def test_the_studio_entry_point_checks_its_settings_too(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "GRADIO_SERVER_PORT": "abc", "HIGHLIGHT_LAB_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "lab.app"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: GRADIO_SERVER_PORT: 'abc' is not a port number; it takes a whole number")
