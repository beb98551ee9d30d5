"""A user's name and id reach only the overlay's pixels: never a prompt, log, sidecar, cache key or file name."""

import json
import logging

import pytest

from lab.render.pipeline import render
from tests.conftest import SENTINEL_NAME
from tests.lab.render.conftest import event_for, small
from tests.lab.render.test_wan import TINY

RIVAL = "Qwrtz Rivalname"
USER_ID = "uid-7f3a9sentinel"


@pytest.mark.parametrize("backend", ["motion", "tiny-wan"])
def test_sentinel_name_appears_nowhere_but_the_pixels(backend, tmp_path, cache, caplog, no_network, lab_home):
    caplog.set_level(logging.DEBUG)
    v = small("v3-rival-ghost", **(TINY if backend == "tiny-wan" else {}))
    event = event_for("rank_up", user=SENTINEL_NAME, rival=RIVAL, user_id=USER_ID)
    r = render(v, event, tmp_path / "out.mp4", backend=backend, cache=cache)
    secrets = (SENTINEL_NAME, "Zyxwq", RIVAL, "Qwrtz", USER_ID)
    texts = {
        "prompt": r.prompt + r.negative_prompt,
        "sidecar": (tmp_path / "out.json").read_text(encoding="utf-8"),
        "result": json.dumps(r.to_dict(), ensure_ascii=False),
        "cache key": r.cache_key,
        "logs": "\n".join(rec.getMessage() for rec in caplog.records),
    }
    for path in list(cache.root.rglob("*")) + list(tmp_path.rglob("*")) + list(lab_home.rglob("*")):
        texts[f"file name {path}"] = path.name
        if path.suffix == ".json" and path.is_file():
            texts[f"file {path}"] = path.read_text(encoding="utf-8")
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into the {where}"
