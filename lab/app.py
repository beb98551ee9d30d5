"""The studio's entry point (the user named it ``lab/app.py``): ``python -m lab.app`` opens the studio."""

from __future__ import annotations

import sys
from typing import Any

from lab import config
from lab.errors import LabError

STUDIO_NAMES = ("build_demo", "launch")
__all__ = [*STUDIO_NAMES, "main"]  # noqa: F822 - the studio's two come through __getattr__


def __getattr__(name: str) -> Any:
    """``build_demo`` and ``launch`` from ``lab.studio.app``, imported on first use: Gradio reads
    ``GRADIO_SERVER_PORT`` with a bare ``int()`` when it is imported, so the settings are checked before that."""
    if name in STUDIO_NAMES:
        from lab.studio import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> int:
    try:
        config.check_command("studio")  # a bad setting is one line, as from `highlight-lab studio`
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from lab.studio.app import launch

    launch(config.LabConfig.from_env())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
