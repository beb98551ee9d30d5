"""Bad input through the real command: one line on stderr, exit 2, no traceback, no file contents echoed.

Each kind of bad input goes through a real ``highlight-lab`` process once (``run``); its variations go through
the same ``main`` in this process (``call``), since each process start costs seconds.
"""


import pytest
import yaml

from lab.cli import main
from lab.library.versions import VariantLibrary
from tests.conftest import REPO
from tests.lab.test_cli import run

EVENT = '{"event": "rank_up", "user": "A", "old_rank": 3, "new_rank": 2}'


def one_line(proc) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture
def call(capsys):
    """``main(args)`` in this process, returning its one error line (exit 2 checked)."""

    def go(*args: str) -> str:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == 2 and out == "", (code, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        return lines[0]

    return go


@pytest.fixture
def counts(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("variant,impressions,clicks\nv1,1000,230\nv2,1000,310\n", encoding="utf-8")
    return path


def test_event_from_a_folder(tmp_path):
    assert one_line(run("event", "validate", f"@{tmp_path}")) == f"error: {tmp_path}: is a folder, not a file; " \
                                                                    "give @PATH to a UTF-8 JSON file"


def test_event_from_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "e.json"
    path.write_bytes(b'{"event": "rank_up", "user": "\xff\xfe"}')
    assert one_line(run("event", "validate", f"@{path}")) == f"error: {path}: is not UTF-8 text (byte 31); " \
                                                             "give @PATH to a UTF-8 JSON file"


def test_event_on_stdin_that_is_not_utf8():
    import subprocess

    from tests.lab.test_cli import CLI

    proc = subprocess.run([CLI, "event", "validate", "-"], input=b"\xff{}", capture_output=True, cwd=REPO)
    assert proc.returncode == 2 and proc.stderr.decode().count("\n") == 1
    assert b"standard input: is not UTF-8 text" in proc.stderr


@pytest.mark.parametrize("depth, what", [
    (30_000, "error: event: is nested too deeply to be a rank event"),
    (100_000, "error: event: is 200,000 characters long; a rank event is at most 65,536"),
])
def test_deeply_nested_json(tmp_path, depth, what):
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth, encoding="utf-8")
    assert one_line(run("event", "validate", f"@{path}")).startswith(what)


def test_duplicate_json_keys():
    line = one_line(run("event", "validate", '{"event": "rank_up", "user": "Alice", "user": "Eve", '
                                             '"old_rank": 3, "new_rank": 2}'))
    assert line == "error: event: has the field 'user' twice; send each field once"


@pytest.mark.parametrize("args, what", [
    (["--seed", "-5"], "error: highlight-lab render: argument --seed: must be a whole number from 0 to 4294967295, "
                       "got -5"),
    (["--seed", "1e3"], "error: highlight-lab render: argument --seed: '1e3' is not a whole number"),
    (["--level", "-1"], "argument --level: must be a whole number at least 0, got -1"),
    (["--budget", "nan"], "argument --budget: must be a finite number, got 'nan'"),
])
def test_render_numbers(tmp_path, call, args, what):
    argv = ["render", "--variant", "v1-fast-sprint", "--event", EVENT, "--out", str(tmp_path / "o.mp4"), *args]
    line = one_line(run(*argv)) if args == ["--seed", "-5"] else call(*argv)
    assert what in line


@pytest.mark.parametrize("args, what", [
    (["--events", "EVENTS", "--workers", "-3"], "argument --workers: must be a whole number at least 1, got -3"),
    (["--events", "EVENTS", "--workers", "0"], "argument --workers: must be a whole number at least 1, got 0"),
    (["--events", "EVENTS", "--level", "-1"], "argument --level: must be a whole number at least 0, got -1"),
    # Refused before a Celery worker starts (and waits for its broker).
    (["--celery", "--concurrency", "0", "--broker", "redis://127.0.0.1:9/0"],
     "argument --concurrency: must be a whole number at least 1, got 0"),
])
def test_worker_numbers(tmp_path, call, args, what):
    events = tmp_path / "events.jsonl"
    events.write_text(EVENT + "\n", encoding="utf-8")
    argv = ["worker", *[str(events) if a == "EVENTS" else a for a in args], "--out", str(tmp_path / "videos")]
    assert call(*argv) == f"error: highlight-lab worker: {what}; see `highlight-lab worker --help`"
    assert not (tmp_path / "videos").exists()


def test_render_into_an_existing_folder(tmp_path):
    (tmp_path / "existing_dir.mp4").mkdir()
    line = one_line(run("render", "--variant", "v1-fast-sprint", "--event", EVENT, "--out",
                        str(tmp_path / "existing_dir.mp4")))
    assert line == f"error: --out: '{tmp_path / 'existing_dir.mp4'}' is a folder; give a file path inside it"


def test_render_with_a_non_variant_file_quotes_only_an_excerpt():
    line = one_line(run("render", "--variant", "/etc/passwd", "--event", EVENT, "--out", "/tmp/x.mp4"))
    assert line.startswith("error: /etc/passwd: must be a mapping, got text 'root:")
    assert len(line) < 160 and "characters)" in line
    assert line.count(":x:") <= 2  # the first line's start, never the file


@pytest.mark.parametrize("content", ["", "just text\n", "- a list\n", "hash: [unclosed\n", "hash: abc\nsaved_at: x\n",
                                     "\xff"])
def test_malformed_saved_versions_break_nothing_silently(library, call, content):
    bad = library / "versions" / "v1-fast-sprint" / "0123456789ab.yaml"
    if content == "\xff":
        bad.write_bytes(b"\xff\xfe")
    else:
        bad.write_text(content, encoding="utf-8")
    history = ("variants", "history", "v1-fast-sprint", "--dir", str(library))
    assert str(bad) in (one_line(run(*history)) if content == "just text\n" else call(*history))
    assert str(bad) in call("variants", "validate", str(library / "v1-fast-sprint.yaml"))


@pytest.mark.parametrize("args", [
    ("variants", "show", "../../x", "--version", "abc"),
    ("variants", "show", "../../x"),
    ("variants", "show", "../../x", "--version", "abcdef1"),
    ("variants", "history", "../../x"),
    ("variants", "diff", "../../x", "abcdef1"),
])
def test_ids_are_checked_before_they_become_paths(library, call, args):
    outside = library.parent.parent / "x.yaml"  # what ../../x.yaml would read
    outside.write_text((library / "v1-fast-sprint.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    argv = (*args, "--dir", str(library))
    line = one_line(run(*argv)) if args[-1] == "abc" else call(*argv)
    assert line.startswith("error: variant '../../x': '../../x' is not a valid id; use lower-case letters"), line


def _edit_variant(library, text_change):
    path = library / "v1-fast-sprint.yaml"
    path.write_text(text_change(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def test_duplicate_yaml_keys_in_a_variant(library):
    path = _edit_variant(library, lambda t: t.replace("title:", "title: First\ntitle:", 1))
    line = one_line(run("variants", "validate", str(path)))
    assert line == f"error: {path}: is not valid YAML at line 3 column 1: duplicate key 'title'"


def test_duplicate_yaml_keys_in_an_experiment_spec(tmp_path):
    folder = tmp_path / "experiments"
    folder.mkdir()
    text = (REPO / "experiments" / "seed-v1-v2-v3.yaml").read_text(encoding="utf-8")
    (folder / "seed-v1-v2-v3.yaml").write_text(text.replace("alpha: 0.05", "alpha: 0.05\nalpha: 0.5"),
                                               encoding="utf-8")
    line = one_line(run("experiments", "validate", "--experiments", str(folder)))
    assert "is not valid YAML at line" in line and "duplicate key 'alpha'" in line


def test_a_colour_with_a_trailing_newline(library):
    path = _edit_variant(library, lambda t: t.replace("primary: '#4CAF50'", 'primary: "#FF00FF\\n"'))
    assert "primary: '#FF00FF\\n' is not a colour; write it as #RRGGBB" in one_line(run("variants", "validate",
                                                                                         str(path)))


def test_an_id_with_a_trailing_newline(library, tmp_path):
    data = yaml.safe_load((library / "v1-fast-sprint.yaml").read_text(encoding="utf-8"))
    data["id"] = "v1-fast-sprint\n"
    path = tmp_path / "v1-fast-sprint.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert "id: 'v1-fast-sprint\\n' is not a valid id" in one_line(run("variants", "validate", str(path)))


@pytest.mark.parametrize("weights", ["nan,nan", "inf,1", "0.5,-0.5", "0.5,x"])
def test_weights_must_be_positive_finite_numbers(counts, call, weights):
    argv = ("analyze", str(counts), "--weights", weights)
    line = one_line(run(*argv)) if weights == "nan,nan" else call(*argv)
    assert line.startswith("error: --weights: ")


def test_a_report_into_a_missing_folder_is_refused_and_not_created(counts, tmp_path):
    target = tmp_path / "missing" / "report.html"
    line = one_line(run("analyze", str(counts), "--report", str(target)))
    assert line == f"error: --report: folder '{target.parent}' does not exist; create it first"
    assert not target.parent.exists()


@pytest.mark.parametrize("args, what", [
    (["--baseline", "2", "--mde-rel", "0.1"], "baseline must be a number strictly between 0 and 1"),
    (["--baseline", "nan", "--mde-rel", "0.1"], "argument --baseline: must be a finite number, got 'nan'"),
    (["--baseline", "0.2", "--mde-abs", "1e-9"], "needs more than 10,000,000,000 units per arm"),
    (["--baseline", "0.2", "--mde-rel", "1e-300"], "the two rates are equal"),
    (["--baseline", "0.2", "--mde-rel", "0.1", "--alpha", "1e-300"], "needs more than 10,000,000,000 units per arm"),
    (["--baseline", "0.2", "--mde-rel", "0.1", "--power", "1"], "power must be a number strictly between 0 and 1"),
    (["--baseline", "0.2", "--mde-rel", "9"], "outside (0, 1); choose a smaller lift"),
    (["--baseline", "0.2", "--mde-rel", "0.1", "--arms", "100000000"], "argument --arms: must be a whole number "
                                                                        "from 2 to 100"),
    (["--baseline", "0.2", "--mde-rel", "0.1", "--daily", "0"], "argument --daily: must be a whole number at "
                                                                 "least 1"),
])
def test_absurd_numbers_in_the_power_calculator(call, args, what):
    assert what in (one_line(run("power", *args)) if args[1] == "2" else call("power", *args))


@pytest.mark.parametrize("flag, text, position", [
    ("--author", "dana\x1b[31m", 5),
    ("--note", "line one\nline two", 9),
    ("--note", "ok\u202eevil", 3),
])
def test_author_and_note_with_control_characters_are_refused(library, tmp_path, call, flag, text, position):
    edit = tmp_path / "edit.yaml"
    edit.write_text((library / "v3-rival-ghost.yaml").read_text(encoding="utf-8").replace(
        "I'll overtake!", "Catch me!"), encoding="utf-8")
    base = VariantLibrary(library).load("v3-rival-ghost").version
    before = sorted(p.name for p in (library / "versions" / "v3-rival-ghost").iterdir())
    argv = ("variants", "save", str(edit), "--base", base, flag, text, "--dir", str(library))
    line = one_line(run(*argv)) if flag == "--author" else call(*argv)
    assert f"error: {flag}: holds the control character U+" in line and f"at position {position};" in line
    assert "\x1b" not in line
    assert sorted(p.name for p in (library / "versions" / "v3-rival-ghost").iterdir()) == before


# -- the long tail (issue 22): one rule for free text, a bound on every text field, an empty user id, a base
# that is no version. Each is refused with one line, exit 2, nothing written.

ANSI = "ok\x1b[31mred"


def test_assign_refuses_an_empty_user_id(call):
    exp = ("--experiments", str(REPO / "experiments"), "--dir", str(REPO / "variants"))
    assert one_line(run("assign", "--experiment", "seed-v1-v2-v3", "--user", "", *exp)) == (
        "error: user id: must be a non-empty id, got ''; give the id the app knows the user by")
    assert call("assign", "--experiment", "seed-v1-v2-v3", "--user", "   ", *exp).startswith(
        "error: user id: must be a non-empty id")
    assert call("assign", "--experiment", "seed-v1-v2-v3", "--user", "u\x1b[2J", *exp).startswith(
        "error: user id: holds the non-printable character U+001B at position 2")
    assert call("assign", "--experiment", "seed-v1-v2-v3", "--user", "u" * 129, *exp) == (
        "error: user id: is 129 characters long; the limit is 128")


def test_an_ansi_escape_in_an_export_reason_is_refused_before_any_work(lab_env, call):
    line = call("export", "--experiment", "seed-v1-v2-v3", "--force", "--arm", "v3-rival-ghost", "--reason", ANSI)
    assert line == ("error: --reason: holds the control character U+001B at position 3; write it as one line of "
                    "plain text (no escape sequences)")
    assert "\x1b" not in line


def test_one_rule_for_free_text_everywhere(library, tmp_path, lab_env, call):
    """Reason, author, note, title, CTA and hypothesis: the same refusal, word for word, for the same text."""
    said = "holds the control character U+001B at position 3; write it as one line of plain text (no escape sequences)"
    edit = tmp_path / "edit.yaml"
    edit.write_text((library / "v3-rival-ghost.yaml").read_text(encoding="utf-8").replace(
        "I'll overtake!", "Catch me!"), encoding="utf-8")
    base = VariantLibrary(library).load("v3-rival-ghost").version
    for flag in ("--author", "--note"):
        assert call("variants", "save", str(edit), "--base", base, flag, ANSI, "--dir", str(library)) == (
            f"error: {flag}: {said}")
    assert call("export", "--experiment", "seed-v1-v2-v3", "--force", "--reason", ANSI) == f"error: --reason: {said}"
    for key, where in (("title", "title"), ("cta", "cta.en")):
        data = yaml.safe_load((library / "v3-rival-ghost.yaml").read_text(encoding="utf-8"))
        if key == "cta":
            data["cta"]["en"] = ANSI
        else:
            data[key] = ANSI
        edit.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        assert call("variants", "validate", str(edit)) == f"error: {edit}: {where}: {said}"
    spec = lab_env.root / "seed-v1-v2-v3.yaml"
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    data["hypothesis"] = ANSI
    spec.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert call("experiments", "validate", str(spec)) == (
        f"error: {spec}: hypothesis: holds the control character U+001B at position 3; write it as plain text "
        "(no escape sequences)")


@pytest.mark.parametrize("key, value, what", [
    ("title", "T" * 121, "title: is 121 characters long; the limit is 120; shorten it"),
    ("title", "T" * 200_000, "title: is 200,000 characters long; the limit is 120; shorten it"),
    ("brand.font", "F" * 65, "brand.font: is 65 characters long; the limit is 64; shorten it"),
    ("brand.logo", "assets/" + "a" * 300, "brand.logo: is 307 characters long; the limit is 255; shorten it"),
    ("prompt.negative", "n" * 5000, "prompt.negative: is 5,000 characters long; the limit is 4,000; shorten it"),
])
def test_every_text_field_of_a_variant_has_a_length_bound(library, key, value, what, call):
    data = yaml.safe_load((library / "v1-fast-sprint.yaml").read_text(encoding="utf-8"))
    target = data
    *parents, last = key.split(".")
    for part in parents:
        target = target[part]
    target[last] = value
    path = library / "v1-fast-sprint.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, width=10**9), encoding="utf-8")
    assert call("variants", "validate", str(path)) == f"error: {path}: {what}"


def test_a_huge_variant_file_is_refused_before_yaml_reads_it(library, call):
    """A 30 MB title took 13 s to validate: the file's size is checked before the YAML parser sees it."""
    path = library / "v1-fast-sprint.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: ", "title: " + "T" * 30_000_000, 1), encoding="utf-8")
    assert call("variants", "validate", str(path)) == (
        f"error: {path}: is over 256 KB; a library file is a few KB; check that this is the right file")


def test_a_long_hypothesis_and_a_non_text_one_are_refused(lab_env, call):
    spec = lab_env.root / "seed-v1-v2-v3.yaml"
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    for value, what in (("h" * 2001, "is 2,001 characters long; the limit is 2,000; shorten it"),
                        ([1, 2], "must be text, got a list"), ({"a": 1}, "must be text, got a mapping")):
        data["hypothesis"] = value
        spec.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        assert call("experiments", "validate", str(spec)) == f"error: {spec}: hypothesis: {what}"


def test_a_command_line_argument_has_a_length_bound(call):
    assert call("power", "--baseline", "0." + "1" * 70_000, "--mde-rel", "0.1") == (
        "error: highlight-lab: an argument is 70,002 characters long; the limit is 65,536; pass long input as @FILE")


@pytest.mark.parametrize("base, what", [
    ("zzzz", "version 'zzzz': is not a version hash; give 7 or more hex digits, or 'current'"),
    ("", "version '': is not a version hash; give 7 or more hex digits, or 'current'"),
    ("deadbeef00", "variant 'v3-rival-ghost': has no saved version deadbeef00; see "
                   "`highlight-lab variants history v3-rival-ghost`"),
    ("current", "--base: 'current' is the file being recorded, not the version it started from; give a saved "
                "version (see `highlight-lab variants history v3-rival-ghost`), or leave --base out"),
])
def test_a_base_that_is_no_saved_version_is_refused_for_the_librarys_own_file(library, base, what, call):
    own = library / "v3-rival-ghost.yaml"
    own.write_text(own.read_text(encoding="utf-8").replace("I'll overtake!", "Catch me!"), encoding="utf-8")
    before = sorted(p.name for p in (library / "versions" / "v3-rival-ghost").iterdir())
    assert call("variants", "save", str(own), "--base", base, "--dir", str(library)) == f"error: {what}"
    assert sorted(p.name for p in (library / "versions" / "v3-rival-ghost").iterdir()) == before


def test_a_known_base_for_the_librarys_own_file_becomes_the_parent(library, capsys):
    lib = VariantLibrary(library)
    first = lib.history("v3-rival-ghost")[-1].hash  # the oldest saved version
    own = library / "v3-rival-ghost.yaml"
    own.write_text(own.read_text(encoding="utf-8").replace("I'll overtake!", "Catch me!"), encoding="utf-8")
    assert main(["variants", "save", str(own), "--base", first[:8], "--dir", str(library), "--json"]) == 0
    assert '"parent": "' + first in capsys.readouterr().out
    assert lib.history("v3-rival-ghost")[0].parent == first
