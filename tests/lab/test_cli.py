"""The CLI as a user runs it: exit codes, one-line errors, JSON for scripts."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import main
from tests.conftest import REPO

CLI = shutil.which("highlight-lab") or str(Path(sys.executable).parent / "highlight-lab")


def run(*args, cwd=REPO, stdin=None):
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, input=stdin)


def test_the_shipped_library_validates():
    proc = run("variants", "validate", "variants/")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok    variants/") == 6 and "warning" not in proc.stdout


def test_validate_reports_every_bad_file_in_one_line_each(library):
    (library / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n", encoding="utf-8")
    (library / "v9.yaml").write_text((library / "v1-fast-sprint.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    proc = run("variants", "validate", str(library))
    assert proc.returncode == 2
    errors = proc.stderr.strip().splitlines()
    assert errors == [
        f"error: {library}/broken.yaml: is not valid YAML at line 3 column 1: expected ',' or ']', but got '<stream end>'",
        f"error: {library}/v9.yaml: holds id 'v1-fast-sprint'; rename the file to v1-fast-sprint.yaml",
    ]


def test_validate_warns_about_snapping_and_unsaved_edits(library, capsys):
    path = library / "v1-fast-sprint.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("width: 864", "width: 852"), encoding="utf-8")
    assert main(["variants", "validate", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["files"][0]["warnings"] == [
        "size 852x480 snapped to 864x480: Wan2.2-TI2V-5B needs width and height in multiples of 32",
        f"edited outside the lab: run `highlight-lab variants save {path}` to record it",
    ]


def test_list_json(capsys):
    assert main(["variants", "list", "--json", "--dir", str(REPO / "variants")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert {r["id"] for r in rows} >= {"v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost"}
    assert all(r["recorded"] and len(r["version"]) == 12 for r in rows)


def test_save_history_diff_and_conflict_through_the_cli(library, tmp_path, capsys):
    d = ["--dir", str(library)]
    assert main(["variants", "show", "v3-rival-ghost", "--json", *d]) == 0
    base = json.loads(capsys.readouterr().out)["version"]
    edit = tmp_path / "edit.yaml"
    edit.write_text((library / "v3-rival-ghost.yaml").read_text(encoding="utf-8").replace(
        "I'll overtake!", "Catch me!"), encoding="utf-8")
    assert main(["variants", "save", str(edit), "--base", base, "--author", "dana", "--json", *d]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved["parent"].startswith(base)
    assert main(["variants", "history", "v3-rival-ghost", *d]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"* {saved['version']}") and out[1].startswith(f"  {base}")
    assert main(["variants", "diff", "v3-rival-ghost", base, *d]) == 0
    assert "+  en: Catch me!" in capsys.readouterr().out
    # A second person who also started from `base` is refused and nothing is written.
    before = (library / "v3-rival-ghost.yaml").read_bytes()
    assert main(["variants", "save", str(edit), "--base", base, *d]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: variant 'v3-rival-ghost': was saved as version ") and err.count("\n") == 1
    assert (library / "v3-rival-ghost.yaml").read_bytes() == before


def test_save_of_an_existing_variant_needs_a_base(library, tmp_path, capsys):
    edit = tmp_path / "edit.yaml"
    shutil.copy(library / "v1-fast-sprint.yaml", edit)
    assert main(["variants", "save", str(edit), "--dir", str(library)]) == 2
    assert "already exists at version" in capsys.readouterr().err


def test_prompt_for_an_event(capsys):
    event = json.dumps({"event": "rank_up", "user": "Alice", "old_rank": 7, "new_rank": 3})
    assert main(["variants", "prompt", "v1-fast-sprint", "--event", event, "--dir", str(REPO / "variants")]) == 0
    out = capsys.readouterr().out
    assert "from #7 to #3" in out and "Alice" not in out


def test_event_validate_ok_and_json():
    ok = run("event", "validate", '{"event": "first_entry", "user": "小明", "new_rank": 15, "locale": "zh-CN"}')
    assert ok.returncode == 0 and ok.stdout.strip() == "ok: first_entry #- -> #15 (zh-CN)"
    js = run("event", "validate", "--json", "-",
             stdin='{"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2}')
    assert json.loads(js.stdout)["rank_delta"] == 1


@pytest.mark.parametrize(
    "payload, message",
    [
        ("{not json", "error: event: not valid JSON (line 1 column 2: Expecting property name enclosed in double "
                      "quotes); send one JSON object such as "
                      '{"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2}'),
        ('{"event": "rank_up", "user": "A", "old_rank": 2, "new_rank": 5}',
         "error: event: rank_up needs new_rank < old_rank, got old_rank 2 and new_rank 5; a lower number is a "
         "better rank; send 'defend' when the rank was held"),
        ("@/nonexistent/e.json", "error: /nonexistent/e.json: no such file; give @PATH to an existing JSON file"),
    ],
)
def test_bad_events_exit_2_with_one_line(payload, message):
    proc = run("event", "validate", payload)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == message + "\n"


def test_demo_runs_on_the_library():
    proc = run("demo")
    assert proc.returncode == 0, proc.stderr
    assert "v3-rival-ghost" in proc.stdout and "我要反超！" in proc.stdout
