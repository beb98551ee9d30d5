"""Light commands stay light: many tests and scripts start the CLI as a process, and a command that only reads
YAML must not pay seconds for importing a model stack or a statistics library it never uses."""

import subprocess
import sys

import pytest

from tests.conftest import REPO

# Packages that only the commands which use them may import (each costs from 0.3 s to several seconds).
HEAVY = {"torch", "gradio", "mlflow", "scipy", "diffusers", "transformers", "plotly", "celery"}


def imported_modules(*args: str) -> set[str]:
    """Every module ``python -X importtime ARGS`` imported (it prints one line per import)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "lab.cli" in names  # the parse really saw the command's imports
    return names


@pytest.mark.parametrize("args", [["--help"], ["variants", "validate", "variants"], ["experiments", "list"]],
                         ids=["help", "variants-validate", "experiments-list"])
def test_light_commands_import_no_heavy_package(args):
    loaded = {name.split(".")[0] for name in imported_modules("-m", "lab", *args)}
    assert loaded & HEAVY == set()


def test_the_check_sees_a_heavy_import():
    """The parse above is not vacuous: the statistics' engine, which needs scipy, shows it."""
    loaded = {name.split(".")[0] for name in imported_modules("-c", "import lab.cli, analysis.engine")}
    assert "scipy" in loaded
