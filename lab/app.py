"""The studio's entry point (the user named it ``lab/app.py``): ``python -m lab.app`` opens the studio."""

from __future__ import annotations

from lab import config
from lab.studio.app import build_demo, launch

__all__ = ["build_demo", "launch"]

if __name__ == "__main__":
    launch(config.LabConfig.from_env())
