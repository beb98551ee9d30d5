"""The scripted probe: bad (and good) input by category, counting Python tracebacks and wrongly accepted inputs.

Every attempt says what it expects (``refuse``, ``accept``, or ``accept-or-line``: accepted, or refused with
the line named). An attempt that raises anything but a ``LabError`` (or prints a traceback from the real
command) is a traceback; a refusal must be one line without an escape sequence. The goal is 0 tracebacks,
0 wrongly accepted, 0 wrongly refused, 0 messy refusals.

A category is a function in ``CATEGORIES`` that takes the ``Probe`` and records attempts; add one there.
Everything runs in a scratch folder (its own data folder and a copy of the library); nothing in the checkout
is touched. Not part of the test suite (it takes a minute or two):

    .venv/bin/python benchmarks/probe.py [--category NAME ...] [--verbose]

Exit status 1 when any attempt went wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI = shutil.which("highlight-lab") or str(Path(sys.executable).parent / "highlight-lab")
EVENT = {"event": "rank_up", "user": "Alice", "user_id": "u-1", "old_rank": 3, "new_rank": 2, "locale": "en"}


@dataclass
class Attempt:
    category: str
    name: str
    expect: str
    outcome: str  # accepted, refused, traceback
    message: str
    leaked: bool = False  # a would-be name echoed back (a refusal must quote an excerpt, never a name)

    @property
    def verdict(self) -> str:
        """ok, traceback, wrongly accepted, wrongly refused or messy refusal."""
        if self.outcome == "traceback":
            return "traceback"
        if self.outcome == "refused" and ("\n" in self.message.strip() or "\x1b" in self.message or self.leaked):
            return "messy refusal"
        if self.expect == "refuse":
            return "ok" if self.outcome == "refused" else "wrongly accepted"
        if self.expect == "accept-or-line" and self.outcome == "refused":
            return "ok" if re.search(r"\b(line|row) [0-9]", self.message) else "wrongly refused"
        return "ok" if self.outcome == "accepted" else "wrongly refused"


class Probe:
    """A scratch lab (data folder, library copy) and the attempts made in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.variants = root / "variants"
        self.experiments = root / "experiments"
        self.attempts: list[Attempt] = []
        self.category = ""
        os.environ["HIGHLIGHT_LAB_HOME"] = str(root / "home")
        self.reset_library()

    def reset_library(self) -> None:
        for name in ("variants", "experiments"):
            shutil.rmtree(self.root / name, ignore_errors=True)
            shutil.copytree(REPO / name, self.root / name, ignore=shutil.ignore_patterns(".lock"))

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.root / "inputs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    def record(self, name: str, expect: str, outcome: str, message: str, leaked: bool = False) -> None:
        self.attempts.append(Attempt(self.category, name, expect, outcome, message, leaked))

    def call(self, name: str, fn: Callable[..., Any], *args: Any, expect: str = "refuse", **kwargs: Any) -> None:
        """A library function in this process."""
        from lab.errors import LabError

        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                fn(*args, **kwargs)
            self.record(name, expect, "accepted", "")
        except LabError as exc:
            self.record(name, expect, "refused", str(exc))
        except Exception as exc:  # noqa: BLE001 - counting them is the point
            self.record(name, expect, "traceback", f"{type(exc).__name__}: {exc}"[:300])

    def cli(self, name: str, *argv: str, expect: str = "refuse", env: dict[str, str] | None = None,
            process: bool = False) -> None:
        """The command: in this process (``lab.cli.main``), or as a real process when ``process``."""
        if process:
            try:
                proc = subprocess.run([CLI, *argv], capture_output=True, text=True, cwd=self.root, timeout=120,
                                      env={**os.environ, **(env or {})})
            except subprocess.TimeoutExpired:
                self.record(name, expect, "traceback", "no answer within 120 s (a hang counts as a failure)")
                return
            outcome = ("traceback" if "Traceback" in proc.stderr or proc.returncode not in (0, 2)
                       else "refused" if proc.returncode == 2 else "accepted")
            self.record(name, expect, outcome, proc.stderr.strip()[-300:])
            return
        from lab.cli import main

        err = io.StringIO()
        with _env(env or {}):
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                    code = main(list(argv))
                outcome = "refused" if code == 2 else "accepted" if code == 0 else "traceback"
                self.record(name, expect, outcome, err.getvalue().strip())
            except Exception as exc:  # noqa: BLE001
                self.record(name, expect, "traceback", f"{type(exc).__name__}: {exc}"[:300])


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Any:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# -- categories ----------------------------------------------------------------------------------------------


def events(p: Probe) -> None:
    """Rank events: names, ranks, locales, ids, JSON shapes."""
    from lab.library.events import parse_event, sample_event

    def ev(**changes: Any) -> dict[str, Any]:
        return {k: v for k, v in {**EVENT, **changes}.items() if v is not ...}

    bad_names = {
        "zero-width space": "Al\u200bice", "bidi override": "Ali\u202ece", "interlinear U+FFF9": "Ali\ufff9ce",
        "interlinear U+FFFA": "\ufffa", "interlinear U+FFFB": "A\ufffbB", "Egyptian U+13430": "Ali\U00013430ce",
        "Arabic number sign U+0600": "\u0600", "Mongolian vowel separator": "A\u180eB", "only combining marks":
        "\u0301\u0302\u0303", "leading combining mark": "\u0301Alice", "braille blank": "\u2800",
        "Hangul filler": "\u3164", "tag characters": "\U000e0041", "ZWJ alone": "\u200d", "NUL": "A\x00B",
        "ANSI escape": "A\x1b[31mB", "newline": "A\nB", "41 characters": "A" * 41, "padded": " Alice",
        "empty": "", "space only": "\u3000", "not text": 42, "list": ["Alice"], "private use": "\ue000",
        "unassigned": "\U000e0100x\U0003ffff", "line separator": "A\u2028B",
    }
    for label, name in bad_names.items():
        p.call(f"user: {label}", parse_event, ev(user=name))
        p.call(f"rival: {label}", parse_event, ev(rival=name))
    for label, locale in {"54 KB locale": "en" + "-abcdefgh" * 6144, "two-digit region": "en-12",
                          "three variants": "en-aaaaa-bbbbb-ccccc", "upper-case language": "EN", "number": 7,
                          "trailing newline": "en\n", "empty": ""}.items():
        p.call(f"locale: {label}", parse_event, ev(locale=locale))
    for label, rank in {"string": "2", "bool": True, "zero": 0, "negative": -1, "float": 2.0, "huge": 10**12,
                        "null": None}.items():
        p.call(f"new_rank: {label}", parse_event, ev(new_rank=rank))
    texts = {"5000-digit rank": '{"event":"first_entry","user":"A","new_rank":' + "9" * 5000 + "}",
             "deep nesting": '{"event":' * 100_000, "duplicate key": '{"event":"rank_up","event":"defend"}',
             "not an object": "[1, 2]", "70 KB payload": json.dumps(ev(challenge="x" * 70_000)),
             "invalid UTF-8": b'{"user": "\xff"}', "NaN rank": '{"event":"first_entry","user":"A","new_rank":NaN}'}
    for label, text in texts.items():
        p.call(label, parse_event, text)
    for field, value in {"user_id": "", "user_id ": "u" * 129, "event_id": "e\x1b[2J", "challenge": "\u200b",
                         "unknown": "x"}.items():
        p.call(f"{field.strip()}: {value[:12]!r}", parse_event, ev(**{field.strip(): value}))
    p.call("rank_up that goes down", parse_event, ev(old_rank=2, new_rank=3))
    p.call("first_entry with an old rank", parse_event, ev(event="first_entry"))
    # Valid events must still pass.
    for label, changes in {"CJK name": {"user": "李雷"}, "emoji ZWJ": {"user": "👨\u200d👩\u200d👧"},
                           "Persian ZWNJ": {"user": "می\u200cخواهم"}, "accents": {"user": "Nguyễn Thị"},
                           "England flag": {"user": "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"},
                           "zh-Hant-TW": {"locale": "zh-Hant-TW"}, "es-419": {"locale": "es-419"}}.items():
        p.call(f"valid: {label}", parse_event, ev(**changes), expect="accept")
    for scenario in ("rank_up", "defend", "first_entry"):
        p.call(f"valid: sample {scenario}", sample_event, scenario, expect="accept")
    p.cli("event validate: format character (process)", "event", "validate",
          json.dumps(ev(user="Ali\ufff9ce"), ensure_ascii=False), process=True)


def variants_and_assets(p: Probe) -> None:
    """Variant YAML, saved versions, logos and key visuals, experiment specs."""
    import yaml
    from PIL import Image

    from lab.experiments.spec import ExperimentLibrary
    from lab.experiments.workflow import save_logo
    from lab.library.versions import VariantLibrary, validate_paths

    p.reset_library()
    lib = VariantLibrary(p.variants)
    base = yaml.safe_load((p.variants / "v3-rival-ghost.yaml").read_text(encoding="utf-8"))

    def variant_file(label: str, mutate: Callable[[dict[str, Any]], None] | None = None, text: str | None = None
                     ) -> Path:
        data = json.loads(json.dumps(base))
        if mutate:
            mutate(data)
        path = p.root / "edits" / label.replace(" ", "-").replace("/", "-") / "v3-rival-ghost.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "assets").mkdir(exist_ok=True)
        for asset in (p.variants / "assets").iterdir():
            shutil.copy(asset, path.parent / "assets" / asset.name)
        path.write_text(text if text is not None else yaml.safe_dump(data, allow_unicode=True, width=10**9),
                        encoding="utf-8")
        return path

    def validate(path: Path) -> None:
        errors = validate_paths([path])[1]
        if errors:
            from lab.errors import LabError

            raise LabError("validate", errors[0])

    def set_(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
        def mutate(data: dict[str, Any]) -> None:
            *parents, last = path.split(".")
            target = data
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = value
        return mutate

    whole = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(whole, format="PNG")
    png = whole.getvalue()
    images = {"no IEND": png[:-12], "cut CRC": png[:-14], "half": png[: len(png) // 2], "text": b"root:x:0:0\n",
              "empty": b""}
    bad = {
        "30 MB title": (None, "title: " + "T" * 30_000_000 + "\n" + yaml.safe_dump(
            {k: v for k, v in base.items() if k != "title"}, allow_unicode=True)),
        "200-character title": (set_("title", "T" * 200), None), "ANSI title": (set_("title", "A\x1b[31mB"), None),
        "newline in CTA": (set_("cta.en", "Go\nnow"), None), "ANSI CTA": (set_("cta.en", "\x1b[2J"), None),
        "1000-character font": (set_("brand.font", "F" * 1000), None),
        "absolute logo": (set_("brand.logo", "/etc/passwd"), None),
        "escaping logo": (set_("brand.logo", "../../../etc/passwd"), None),
        "long LoRA path": (set_("model.lora", {"path": "/".join(["a"] * 500)}), None),
        "54 KB CTA locale": (set_("cta." + "en" + "-abcdefgh" * 6144, "Go"), None),
        "YAML alias bomb": (None, "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nid: v3-rival-ghost\ntitle: [*c, *c]\n"),
        "duplicate key": (None, "id: v3-rival-ghost\nid: v3-rival-ghost\n"),
        "title is a list": (set_("title", ["a", "b"]), None),
        "template with a name": (set_("prompt.template", "Hello {{user}}"), None),
        "template statement": (set_("prompt.template", "{% set x = 1 %}"), None),
    }
    for label, (mutate, text) in bad.items():
        p.call(f"variant: {label}", validate, variant_file(label, mutate, text))
    for label, data in images.items():
        for field in ("brand.logo", "model.key_visual"):
            path = variant_file(f"{field} {label}", set_(field, f"assets/probe-{label.replace(' ', '-')}.png"))
            (path.parent / "assets" / f"probe-{label.replace(' ', '-')}.png").write_bytes(data)
            p.call(f"{field}: {label} PNG", validate, path)
        p.call(f"logo upload: {label} PNG", save_logo, lib, p.file(f"upload-{label}.png", data))
    p.call("valid: logo upload", save_logo, lib, p.file("upload-good.png", png), expect="accept")
    p.call("valid: shipped library", validate, p.variants, expect="accept")

    own = p.variants / "v3-rival-ghost.yaml"
    own.write_text(own.read_text(encoding="utf-8").replace("I'll overtake!", "Catch me!"), encoding="utf-8")
    for label, kwargs in {"--base zzzz on the library's own file": {"base": "zzzz"},
                          "--base of no saved version": {"base": "deadbeef00"}, "--base ''": {"base": ""},
                          "ANSI author": {"author": "dana\x1b[31m"}, "600-character note": {"note": "n" * 600},
                          "bidi note": {"note": "ok\u202eevil"}}.items():
        p.call(f"save: {label}", lib.save_file, own, **kwargs)
    p.call("valid: record a hand edit", lib.save_file, own, author="dana", note="hand edit", expect="accept")
    edit = p.file("edit.yaml", own.read_text(encoding="utf-8").replace("Catch me!", "Catch me now!"))
    p.call("save: stale base", lib.save_file, edit, base=lib.history("v3-rival-ghost")[-1].hash[:12])

    snap = next((p.variants / "versions" / "v1-fast-sprint").glob("*.yaml"))
    snap.write_text(snap.read_text(encoding="utf-8").replace("View full leaderboard", "Hacked"), encoding="utf-8")
    p.call("tampered saved version", validate, p.variants / "v1-fast-sprint.yaml")
    p.reset_library()

    exps = ExperimentLibrary(p.experiments, VariantLibrary(p.variants))
    spec = yaml.safe_load((p.experiments / "seed-v1-v2-v3.yaml").read_text(encoding="utf-8"))
    for label, (key, value) in {"hypothesis is a list": ("hypothesis", [1, 2]),
                                "ANSI hypothesis": ("hypothesis", "x\x1b[31m"),
                                "10 KB hypothesis": ("hypothesis", "h" * 10_000),
                                "seed is a mapping": ("seed", {"a": 1}),
                                "weights sum to 0.9": ("arms", [dict(a, weight=0.3) for a in spec["arms"]]),
                                "unknown field": ("owner", "dana"), "key with a path": ("key", "../x")}.items():
        path = p.root / "specs" / label.replace(" ", "-") / "seed-v1-v2-v3.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({**spec, key: value}, allow_unicode=True), encoding="utf-8")
        p.call(f"experiment: {label}", exps.load_file, path)
    p.call("valid: shipped experiment", exps.load, "seed-v1-v2-v3", expect="accept")


def outcome_files(p: Probe) -> None:
    """Counts and events files through ``highlight-lab analyze``."""
    import gzip

    head = "user_id,variant,timestamp,clicked\n"
    rows = "".join(f"u{i},{'v1' if i % 2 else 'v2'},2026-11-0{1 + i % 7} 08:00:00,{int(i % 3 == 0)}\n"
                   for i in range(40))
    files = {
        "not gzip.csv.gz": ("refuse", b"variant,impressions,clicks\nv1,10,1\n"),
        "year 0.csv": ("refuse", head + rows + "u99,v1,0000-01-01 00:00:00,1\n"),
        "duplicate user_id header.csv": ("refuse", "user_id,user_id,variant,timestamp,clicked\n"
                                         + "".join(f"u{i},x{i},v{1 + i % 2},2026-11-01 08:00:00,0\n"
                                                   for i in range(20))),
        "full-width digits.csv": ("refuse", "variant,impressions,clicks\nv1,１０００,230\nv2,1000,310\n"),
        "mixed CRLF and LF.csv": ("accept-or-line", "variant,impressions,clicks\r\nv1,1000,230\nv2,1000,310\r\n"),
        "negative count.csv": ("refuse", "variant,impressions,clicks\nv1,1000,-5\nv2,1000,310\n"),
        "clicks over impressions.csv": ("refuse", "variant,impressions,clicks\nv1,10,230\nv2,1000,310\n"),
        "NaN count.csv": ("refuse", "variant,impressions,clicks\nv1,nan,230\nv2,1000,310\n"),
        "empty file.csv": ("refuse", ""),
        "binary.csv": ("refuse", bytes(range(256)) * 40),
        "missing columns.csv": ("refuse", "variant,views\nv1,10\n"),
        "one arm.csv": ("refuse", "variant,impressions,clicks\nv1,1000,230\n"),
        "huge cell.csv": ("refuse", "variant,impressions,clicks\n" + "v" * 1_000_000 + ",1000,230\nv2,1000,310\n"),
        "valid counts.csv": ("accept", "variant,impressions,clicks\nv1,1000,230\nv2,1000,310\n"),
        "valid events.csv": ("accept", head + rows),
        "valid gzip.csv.gz": ("accept", gzip.compress(b"variant,impressions,clicks\nv1,1000,230\nv2,1000,310\n")),
    }
    for name, (expect, content) in files.items():
        p.cli(f"analyze: {name}", "analyze", str(p.file(name, content)), expect=expect)
    seg = head.strip() + ",platform\n" + "".join(
        f"u{i},{'v1' if i % 2 else 'v2'},2026-11-01 08:00:00,0,{'ios' if i % 3 else ''}\n" for i in range(30))
    p.cli("analyze --segment: empty segment value", "analyze", str(p.file("empty segment.csv", seg)),
          "--segment", "platform")
    # An experiment that declares a segment: an empty value in that column must be refused at ingest.
    import dataclasses

    from lab.experiments.outcomes import OutcomeStore
    from lab.experiments.spec import ExperimentLibrary
    from lab.library.versions import VariantLibrary

    exp = ExperimentLibrary(p.experiments, VariantLibrary(p.variants)).load("seed-v1-v2-v3")
    exp = dataclasses.replace(exp, segments=("platform",))
    arms = exp.arm_ids
    seg_rows = "".join(f"u{i},{arms[i % 3]},2026-11-01 08:00:00,0,{'ios' if i % 3 else ''}\n" for i in range(30))
    p.call("outcomes ingest: empty value in a declared segment", OutcomeStore(exp.key).ingest_together, exp,
           [p.file("declared segment.csv", head.strip() + ",platform\n" + seg_rows)])
    p.cli("analyze: not gzip (process)", "analyze", str(p.root / "inputs" / "not gzip.csv.gz"), process=True)


def cli_and_settings(p: Probe) -> None:
    """Command-line flags and environment settings."""
    from lab import config

    event = json.dumps(EVENT)
    lib = ("--dir", str(p.variants))
    exp = ("--experiments", str(p.experiments), *lib)
    out = str(p.root / "out.mp4")
    render = ("render", "--variant", "v1-fast-sprint", "--event", event, "--out", out, "--backend", "motion",
              "--level", "4", *lib)
    events_file = p.file("events.jsonl", json.dumps({**EVENT, "event_id": "e-1"}) + "\n")
    worker = ("worker", "--events", str(events_file), "--out", str(p.root / "videos"), "--backend", "motion",
              "--workers", "1", *lib)
    by_group = {"render": render, "worker": worker, "mlflow": ("experiments", "analyze", "seed-v1-v2-v3", *exp),
                "studio": ("studio", *lib, "--no-demo"), "paths": ("variants", "list", *lib),
                "warehouse": ("analyze", "--source", f"duckdb:///{p.root / 'none.duckdb'}")}
    for setting in config.SETTINGS.values():
        argv = by_group[setting.groups[0]]
        for text in ("abc", "１２", "nan", "-1", "9" * 5000, "\x1b[31m"):
            if _parses(setting, text):
                continue  # a value this setting takes (paths, URIs): not an attack on it
            p.cli(f"{setting.env}={text[:8]!r}", *argv, env={setting.env: text})
    p.cli("HIGHLIGHT_LAB_CACHE_BYTES=abc render (process)", *render, env={"HIGHLIGHT_LAB_CACHE_BYTES": "abc"},
          process=True)
    p.cli("HIGHLIGHT_LAB_MLFLOW_TIMEOUT=abc (process)", *by_group["mlflow"],
          env={"HIGHLIGHT_LAB_MLFLOW_TIMEOUT": "abc"}, process=True)
    flags = {
        "assign --user ''": ("assign", "--experiment", "seed-v1-v2-v3", "--user", "", *exp),
        "assign --user ANSI": ("assign", "--experiment", "seed-v1-v2-v3", "--user", "u\x1b[2J", *exp),
        "export --reason ANSI": ("export", "--experiment", "seed-v1-v2-v3", "--force", "--reason", "x\x1b[31m", *exp),
        "export --reason 10 KB": ("export", "--experiment", "seed-v1-v2-v3", "--force", "--reason", "r" * 10_000,
                                  *exp),
        "export --force without --reason": ("export", "--experiment", "seed-v1-v2-v3", "--force", *exp),
        "render --level -1": (*render[:-4], "--level", "-1", *lib),
        "render --seed 2**40": (*render, "--seed", str(2**40)),
        "render --budget nan": (*render, "--budget", "nan"),
        "render --out into a missing folder": (*render[:5], "--out", "/nonexistent/x.mp4", *render[7:]),
        "render --variant /etc/passwd": ("render", "--variant", "/etc/passwd", "--event", event, "--out", out),
        "render --event @/dev/zero": (*render[:3], "--event", "@/dev/zero", *render[5:]),
        "analyze --weights a,b": ("analyze", str(p.file("c.csv", "variant,impressions,clicks\nv1,10,1\nv2,10,2\n")),
                                  "--weights", "a,b"),
        "analyze --start year 0": ("analyze", str(p.root / "inputs" / "c.csv"), "--start", "0000-01-01"),
        "power --alpha 2": ("power", "--baseline", "0.2", "--mde-rel", "0.1", "--alpha", "2"),
        "studio --port 0": ("studio", "--port", "0", *lib),
        "studio --auth nocolon": ("studio", "--auth", "nocolon", *lib),
        "variants show ../../etc/passwd": ("variants", "show", "../../etc/passwd", *lib),
        "variants save --base zzzz": ("variants", "save", str(p.variants / "v1-fast-sprint.yaml"), "--base", "zzzz",
                                      *lib),
        "experiments status ../x": ("experiments", "status", "../x", "running", *exp),
        "100 KB argument": ("event", "validate", "x" * 100_000),
        "unknown command": ("frobnicate",),
        "worker --level 99": (*worker, "--level", "99"),
        "worker --level -1": (*worker, "--level", "-1"),
        "worker --workers 0": (*worker, "--workers", "0"),
        "worker --workers -3": (*worker[:-3], "--workers", "-3", *lib),
        "experiments create --baseline nan": ("experiments", "create", "probe-nan", "--scenario", "rank_up", "--arms",
                                              "v1-fast-sprint=0.5,v3-rival-ghost=0.5", "--baseline", "nan", *exp),
        "experiments create --mde-rel inf": ("experiments", "create", "probe-inf", "--scenario", "rank_up", "--arms",
                                             "v1-fast-sprint=0.5,v3-rival-ghost=0.5", "--baseline", "0.2",
                                             "--mde-rel", "inf", *exp),
        "experiments create --arms 1 KB of commas": ("experiments", "create", "probe-commas", "--scenario", "rank_up",
                                                     "--arms", "," * 1000, "--baseline", "0.2", *exp),
        "simulate --ctr v1=nan": ("simulate", "--experiment", "seed-v1-v2-v3", "--ctr", "v1-fast-sprint=nan",
                                  "--out", str(p.root / "sim"), *exp),
    }
    for label, argv in flags.items():
        p.cli(label, *argv)
    p.cli("assign --user '' (process)", *flags["assign --user ''"], process=True)
    # A Celery worker that did start would wait for its broker: run it as a process, with a time limit.
    p.cli("worker --concurrency 0 (process)", "worker", "--celery", "--concurrency", "0", "--broker",
          "redis://127.0.0.1:9/0", process=True)
    p.cli("valid: assign", "assign", "--experiment", "seed-v1-v2-v3", "--user", "u-123", *exp, expect="accept")
    p.cli("valid: power", "power", "--baseline", "0.23", "--mde-rel", "0.1", expect="accept")
    p.cli("valid: event validate", "event", "validate", event, expect="accept")
    p.cli("valid: settings with spaces", "render", *render[1:], env={"HIGHLIGHT_LAB_CACHE_BYTES": " 1000000000 "},
          expect="accept")


class StudioPage:
    """A real studio (launched here, on a free local port) driven through ``gradio_client`` as a page would: each
    endpoint gets the page's values with some replaced by ``elem_id``."""

    def __init__(self, p: Probe) -> None:
        import socket

        from gradio_client import Client

        from lab.config import LabConfig
        from lab.studio.app import build_demo, launch_options

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cfg = LabConfig(variants_dir=p.variants, experiments_dir=p.experiments, port=port)
        self.demo = build_demo(cfg)
        self.demo.queue()
        self.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                         **launch_options(cfg.variants_dir))
        self.client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        self.by_id = {b.elem_id: b for b in self.demo.blocks.values() if getattr(b, "elem_id", None)}

    def call(self, api_name: str, **given: Any) -> dict[str, Any]:
        (fn,) = [f for f in self.demo.fns.values() if f.api_name == api_name]
        values = {self.by_id[k]._id: v for k, v in given.items()}
        args = [values.get(c._id, c.value) for c in fn.inputs if not c.skip_api]
        out = self.client.predict(*args, api_name=f"/{api_name}")
        outputs = [c for c in fn.outputs if not c.skip_api]
        out = out if len(outputs) > 1 else [out]
        shown = {}
        for c, v in zip(outputs, out, strict=True):
            if isinstance(v, dict) and v.get("__type__") == "update":
                v = v.get("value")
            shown[c.elem_id or ""] = v
        return shown

    def close(self) -> None:
        self.client.close()
        self.demo.close()


def studio_api(p: Probe) -> None:
    """The studio's served endpoints with bad input: each refusal is one line in the tab's message area (or beside
    its field), never a traceback or a bare "Error"."""
    from gradio_client import handle_file

    page = StudioPage(p)

    def hit(name: str, api: str, expect: str = "refuse", **given: Any) -> None:
        try:
            out = page.call(api, **given)
        except Exception as exc:  # noqa: BLE001 - gradio_client's AppError: the page would show a bare "Error"
            # A picker's check of its value (a value the page never offers) is a specific refusal: Gradio's own
            # message, or the studio's ``Choice`` (the field named, the value escaped).
            chosen = re.match(r"Value: .* is not in the list of choices|[^:\n]{1,60}: .* is not one of the choices; "
                              r"pick one from the list$", str(exc), re.S)
            p.record(name, expect, "refused" if chosen else "traceback", f"{type(exc).__name__}: {exc}"[:300])
            return
        said = [str(v) for k, v in out.items() if v and (k.endswith("-msg") or k.startswith("err-")
                                                          or k == "library-refused")]
        said += [str(v) for k, v in out.items() if k == "plan-info" and str(v).startswith("⚠")]
        said += [line for k, v in out.items() if k == "ingest-info" and v for line in str(v).splitlines()
                 if "refused" in line]
        message = " | ".join(said)
        p.record(name, expect, "refused" if message else "accepted", message,
                 leaked="Alice" in message or "<img" in message)

    try:
        huge, ansi, html_text = "x" * 10_000_000, "a\x1b[31mb", "<img src=x onerror=alert(1)>"
        for label, value in {"unknown id": "nope", "path": "../../etc/passwd", "HTML": html_text, "ANSI": ansi,
                             "1 MB": "v" * 1_000_000}.items():
            hit(f"load_variant: {label}", "load_variant", variant=value)
            hit(f"experiment: {label}", "experiment", **{"exp-key": value})
            hit(f"start: {label}", "start", **{"exp-key": value})
            if label != "unknown id":  # "nope" is a fine new id
                hit(f"clone id: {label}", "clone", **{"clone-src": "v1-fast-sprint", "clone-id": value})
        hit("clone source: unknown", "clone", **{"clone-src": "no-such-variant", "clone-id": "v9-probe"})
        design = {"variant": "v1-fast-sprint"}
        for label, given in {"template 10 MB": {"template": huge}, "template ANSI": {"template": ansi},
                             "title 10 MB": {"title": huge}, "CTA ANSI": {"cta-en": ansi},
                             "seconds 1e9": {"duration-s": 1e9}, "seconds -1": {"duration-s": -1},
                             "seconds as text": {"duration-s": "abc"}, "seed 2**80": {"seed": 2**80},
                             "rank as text": {"old-rank": "abc"}, "rank 10**30": {"new-rank": 10**30},
                             "rank -3": {"old-rank": -3}, "name ANSI": {"user": ansi},
                             "name 1 MB": {"user": "A" * 1_000_000}, "locale HTML": {"locale": html_text},
                             "size 0x0": {"size": "0×0"}, "size text": {"size": "big"}}.items():
            hit(f"check: {label}", "check", **design, **given)
        hit("preview: rank as text", "preview", **design, **{"old-rank": "two", "level": "4"})
        hit("preview: level 99", "preview", **design, level="99")
        for label, given in {"note ANSI": {"note": ansi}, "note 10 MB": {"note": huge},
                             "author HTML + ANSI": {"author": "<b>\x1b[2J"},
                             "author 1 MB": {"author": "a" * 10**6}}.items():
            hit(f"save: {label}", "save", **design, **given)
        plan = {"new-arms": ["v1-fast-sprint", "v2-slow-motion"]}
        for label, given in {"weights 0.7/0.2": {"new-weights": "0.7, 0.2"}, "weights text": {"new-weights": "a,b"},
                             "weights 10 MB": {"new-weights": "1," * 5_000_000}, "baseline text": {"new-baseline": "x"},
                             "baseline 7": {"new-baseline": 7}, "traffic -5": {"new-daily": -5}}.items():
            hit(f"power: {label}", "power", **plan, **given)
        for label, key in {"key HTML": html_text, "key ANSI": ansi, "key 1 MB": "k" * 10**6}.items():
            hit(f"create: {label}", "create_experiment", **plan, **{"new-key": key, "new-weights": "0.5, 0.5"})
        exp = {"exp-key": "seed-v1-v2-v3"}
        for label, given in {"CTR nan": {"sim-ctr": "v1-fast-sprint=nan"}, "CTR text": {"sim-ctr": "abc"},
                             "days 10**9": {"sim-days": 10**9}, "per day -5": {"sim-daily": -5}}.items():
            hit(f"simulate: {label}", "simulate", **exp, **given)
        for name, content in {"binary.csv": bytes(range(256)) * 40, "empty.csv": b"",
                              "not gzip.csv.gz": b"variant,impressions,clicks\nv1,10,1\n",
                              "HTML name <img>.csv": b"variant,impressions,clicks\nv1,10,1\n",
                              "one arm.csv": b"variant,impressions,clicks\nv1-fast-sprint,1000,230\n"}.items():
            path = p.file(name.replace("<img>", "img"), content)
            hit(f"ingest: {name}", "ingest", **exp, **{"outcome-files": [handle_file(str(path))]})
        ship = {"ship-exp": "seed-v1-v2-v3", "force": True, "export-arm": "v1-fast-sprint"}
        for label, reason in {"reason 10 MB": huge, "reason ANSI": ansi, "reason empty": ""}.items():
            hit(f"export: {label}", "export", **ship, reason=reason)
        hit("export: arm unknown", "export", **{**ship, "export-arm": "<b>nope"}, reason="why")
        hit("analyse: unknown experiment", "analyze_experiment", **{"analysis-exp": "../nope"})
        hit("valid: load_variant", "load_variant", expect="accept", variant="v2-slow-motion")
        hit("valid: power", "power", expect="accept", **plan, **{"new-weights": "0.5, 0.5"})
        hit("valid: check with a CJK name", "check", expect="accept", **design, user="小明")
    finally:
        page.close()


def worker(p: Probe) -> None:
    """The embedded worker (``run_batch``) with poison lines, one run per line: each bad line is set aside with a
    reason that quotes an excerpt (never a would-be name), valid events render; bad settings stop it at start."""
    from dataclasses import replace

    from lab.production.embedded import run_batch
    from lab.production.settings import WorkerSettings

    name = "Zorbina Probe-Sentinel"
    settings = WorkerSettings(output_url=str(p.root / "videos"), state_dir=p.root / "state",
                              variants_dir=p.variants, experiments_dir=p.experiments, backend="motion", level=4)
    ev = {**EVENT, "user": name}
    poison = {
        "huge rank": {**ev, "new_rank": 10**30}, "5000-digit rank": None, "rank as text": {**ev, "old_rank": "three"},
        "rank as bool": {**ev, "new_rank": True}, "rank float": {**ev, "new_rank": 2.5},
        "name in old_rank": {**ev, "old_rank": name}, "name in event": {**ev, "event": name},
        "name in locale": {**ev, "locale": name}, "name in user_id": {**ev, "user_id": name + "\x1b[2J"},
        "name in event_id": {**ev, "event_id": name * 40}, "control chars in user": {**ev, "user": "A\x00\x07B"},
        "ANSI in challenge": {**ev, "challenge": "\x1b[31mred"}, "user as list": {**ev, "user": [name]},
        "not an object": [ev], "event_id object": {**ev, "event_id": {"id": 1}}, "no user_id": {**ev, "user_id": ...},
    }
    for i, (label, obj) in enumerate(poison.items()):
        if obj is None:
            line = '{"event":"rank_up","user":"' + name + '","user_id":"u","old_rank":3,"new_rank":' + "9" * 5000 + "}"
        elif isinstance(obj, dict):
            line = json.dumps({k: v for k, v in {"event_id": f"poison-{i}", **obj}.items() if v is not ...})
        else:
            line = json.dumps(obj)
        _worker_line(p, label, line, settings, name)
    for label, raw in {"not JSON": "{not json " + name, "invalid UTF-8 escape": '{"user": "\\ud800"}',
                       "1 MB line": json.dumps({**ev, "challenge": "x" * 10**6}), "NUL bytes": "\x00" * 100}.items():
        _worker_line(p, label, raw, settings, name)
    for label, changes in {"level 99": {"level": 99}, "level -1": {"level": -1}, "backend nope": {"backend": "nope"},
                           "store ftp://": {"output_url": "ftp://127.0.0.1/x"},
                           "store in /proc": {"output_url": "/proc/nope"}}.items():
        p.call(f"settings: {label}", run_batch, [], replace(settings, **changes), workers=1)
    from lab.experiments.spec import ExperimentLibrary
    from lab.library.versions import VariantLibrary

    with contextlib.suppress(Exception):  # already running in some checkouts
        ExperimentLibrary(p.experiments, VariantLibrary(p.variants)).set_status("seed-v1-v2-v3", "running")
    for i, valid in enumerate(({**ev, "user": "李雷"}, {**ev, "rival": "Bo", "challenge": "Sprint"},
                               {**ev, "old_rank": 9, "new_rank": 1})):
        line = json.dumps({k: v for k, v in {**valid, "event_id": f"valid-{i}"}.items() if v is not None})
        _worker_line(p, f"valid: {valid['event']} {i}", line, settings, name, expect="accept")


def _worker_line(p: Probe, label: str, line: str, settings: Any, name: str, expect: str = "refuse") -> None:
    from lab.errors import LabError
    from lab.production.embedded import run_batch

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            s = run_batch([(line, f"probe:{label}")], settings, workers=1)
    except LabError as exc:
        p.record(label, expect, "refused", str(exc))
        return
    except Exception as exc:  # noqa: BLE001
        p.record(label, expect, "traceback", f"{type(exc).__name__}: {exc}"[:300])
        return
    dead = settings.state_dir / "dead-letter.jsonl"
    lines = dead.read_text(encoding="utf-8").splitlines() if dead.exists() else []
    leaked = name in " ".join(s.reasons) or bool(lines and name in lines[-1] and s.counts.get("invalid"))
    if s.rendered == 1:
        p.record(label, expect, "accepted", "", leaked)
    elif s.counts.get("invalid") == 1:
        p.record(label, expect, "refused", " ".join(s.reasons), leaked)
    else:
        p.record(label, expect, "traceback", f"neither rendered nor set aside: {dict(s.counts)} {s.reasons}"[:300])


def _parses(setting: Any, text: str) -> bool:
    try:
        setting.parse(text.strip())
        return True
    except (ValueError, OverflowError):
        return False


CATEGORIES: dict[str, Callable[[Probe], None]] = {
    "events": events,
    "variants and assets": variants_and_assets,
    "outcome files": outcome_files,
    "studio API": studio_api,
    "worker": worker,
    "CLI flags and settings": cli_and_settings,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", action="append", choices=list(CATEGORIES), help="run only these")
    parser.add_argument("--verbose", action="store_true", help="list every attempt with its message, not only "
                        "the ones that went wrong")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lab-probe-"))
    try:
        probe = Probe(root)
        for name in args.category or list(CATEGORIES):
            probe.category = name
            start = time.perf_counter()
            CATEGORIES[name](probe)
            print(f"[{name}: {time.perf_counter() - start:.0f} s]", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    verdicts = ("traceback", "wrongly accepted", "wrongly refused", "messy refusal")
    print(f"{'category':<24} {'attempts':>8} " + " ".join(f"{v:>16}" for v in verdicts))
    for name in args.category or list(CATEGORIES):
        mine = [a for a in probe.attempts if a.category == name]
        print(f"{name:<24} {len(mine):>8} " + " ".join(f"{sum(a.verdict == v for a in mine):>16}" for v in verdicts))
    total = probe.attempts
    print(f"{'total':<24} {len(total):>8} " + " ".join(f"{sum(a.verdict == v for a in total):>16}" for v in verdicts))
    wrong = [a for a in total if a.verdict != "ok"]
    for a in total if args.verbose else wrong:
        print(f"  {a.verdict}: [{a.category}] {a.name}: {a.message[:200]!r}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
