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


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A writable copy of the shipped variant library."""
    dest = tmp_path / "variants"
    shutil.copytree(REPO / "variants", dest, ignore=shutil.ignore_patterns(".lock"))
    return dest
