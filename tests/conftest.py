import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# A name no template, prompt or log may ever contain: if it shows up anywhere, privacy is broken.
SENTINEL_NAME = "Zyxwq Sentinelname"


@pytest.fixture(scope="session", autouse=True)
def lab_home(tmp_path_factory) -> Path:
    """Every test run gets its own lab data folder (cache, tiny model), never the developer's."""
    home = tmp_path_factory.mktemp("lab-home")
    os.environ["HIGHLIGHT_LAB_HOME"] = str(home)
    return home


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
