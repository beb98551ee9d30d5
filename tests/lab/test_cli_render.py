"""`highlight-lab render` as a designer runs it."""

import json

from lab.render.encode import probe
from tests.lab.test_cli import run

EVENT = '{"event": "rank_up", "user": "小明", "old_rank": 7, "new_rank": 3, "rival": "李雷", "locale": "zh-CN"}'


def test_render_json(tmp_path):
    out = tmp_path / "v3.mp4"
    proc = run("render", "--variant", "v3-rival-ghost", "--event", EVENT, "--out", str(out), "--backend", "motion",
               "--level", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("path", "poster", "contact_sheet", "backend", "level", "width", "height", "fps", "frames",
                "duration_s", "prompt", "cache_hit", "seconds"):
        assert key in data
    assert (data["backend"], data["level"], data["width"], data["height"], data["frames"]) == ("motion", 2, 640,
                                                                                               352, 49)
    assert probe(out)["frames"] == 49
    assert "小明" not in proc.stdout and "李雷" not in proc.stdout


def test_render_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "x.mp4"
    bad_event = run("render", "--variant", "v3-rival-ghost", "--event", '{"event": "rank_up", "user": "A", '
                    '"old_rank": 2, "new_rank": 4}', "--out", str(out), "--backend", "motion")
    assert bad_event.returncode == 2 and bad_event.stderr.startswith("error: event: rank_up needs new_rank < old_rank")
    bad_variant = run("render", "--variant", "v9-nope", "--event", EVENT, "--out", str(out), "--backend", "motion")
    assert bad_variant.returncode == 2 and bad_variant.stderr.startswith("error: variant 'v9-nope': not found in")
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\n", encoding="utf-8")
    bad_file = run("render", "--variant", str(broken), "--event", EVENT, "--out", str(out), "--backend", "motion")
    assert bad_file.returncode == 2 and bad_file.stderr == f"error: {broken}: scenario: is required\n"
    assert list(tmp_path.iterdir()) == [broken]
