"""The studio's entry point (the user named it ``lab/app.py``): ``python -m lab.app`` opens the studio."""

from __future__ import annotations

from lab.studio.app import launch

if __name__ == "__main__":
    launch()
