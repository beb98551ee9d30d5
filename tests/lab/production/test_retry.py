"""Out of GPU memory: the worker retries with back-off one degrade level down, and dead-letters an event that
still fails after its retries. The failing backend is a real ``Backend`` (the protocol's extension point)
that runs out of memory a set number of times, as a loaded GPU does."""

import json

from lab.errors import OutOfMemory
from lab.production import embedded
from lab.production.ledger import Ledger, read_jsonl
from lab.production.task import FAILED, RENDERED
from lab.render.motion_backend import MotionBackend
from tests.lab.production.conftest import rank_events


class ShortOfMemory(MotionBackend):
    """A motion background that raises ``OutOfMemory`` for its first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, []

    def __call__(self, req):
        self.calls.append(req.plan.level)
        if len(self.calls) <= self.failures:
            raise OutOfMemory("gpu", f"out of memory at level {req.plan.level}")
        return super().__call__(req)


def test_out_of_memory_retries_one_level_down_then_renders(settings):
    embedded._init(settings)
    backend = ShortOfMemory(failures=3)
    embedded._TASK._backend = backend
    outcome = embedded._run(json.dumps(rank_events(1, prefix="oom")[0]), "oom:1")
    assert outcome.status == RENDERED and outcome.level == 4
    # level 3 fails, the renderer steps to 4 and fails; the worker retries at 4 twice (with back-off)
    assert backend.calls == [3, 4, 4, 4]
    assert read_jsonl(Ledger(settings.state_dir).impressions_path)[0]["level"] == 4


def test_out_of_memory_after_every_retry_is_dead_lettered(settings):
    embedded._init(settings)
    embedded._TASK._backend = ShortOfMemory(failures=100)
    outcome = embedded._run(json.dumps(rank_events(1, prefix="oom-dead")[0]), "oom:2")
    assert outcome.status == FAILED
    dead = read_jsonl(Ledger(settings.state_dir).dead_letter_path)
    assert len(dead) == 1 and dead[0]["stage"] == "render"
    assert dead[0]["reason"].startswith("out of memory after 4 attempts")
    assert not read_jsonl(Ledger(settings.state_dir).impressions_path)
