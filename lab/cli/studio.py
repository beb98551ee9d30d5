"""The browser studio."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lab import config
from lab.cli.common import _int_in, add
from lab.errors import LabError


def cmd_studio(args: argparse.Namespace) -> int:
    """Open the browser studio (Gradio) on this machine."""
    from lab.app import launch

    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not (sep and user and password):
            raise LabError("--auth", "expected USER:PASSWORD", "e.g. --auth dana:s3cret")
        auth = (user, password)
    launch(config.LabConfig.from_env(variants=args.dir, experiments=args.experiments, host=args.host, port=args.port),
           demo_data=not args.no_demo, auth=auth)
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the top-level subparsers."""
    p = add(sub, "studio", cmd_studio, "open the browser studio", json_flag=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=_int_in(1, 65535), help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--auth", help="USER:PASSWORD required to open the studio")
    p.add_argument("--experiments", type=Path, help="experiments folder (default: $HIGHLIGHT_LAB_EXPERIMENTS)")
    p.add_argument("--no-demo", action="store_true", help="do not simulate the seed experiment's demo data")
