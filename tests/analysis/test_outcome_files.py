"""Outcome files that used to give a traceback or be wrongly accepted (issue 22), and the ingest's file reads
(issue 19): each case failed on the code before its fix."""

import gzip
import os
import shutil
import subprocess
import sys

import pytest

from analysis.ingest import OutcomeError, load
from tests.conftest import REPO

HEAD = "user_id,variant,timestamp,clicked\n"


def write(tmp_path, name, text, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def error(path, **kw):
    with pytest.raises(OutcomeError) as info:
        load(path, **kw)
    return info.value


def test_a_gz_file_that_is_not_gzip_is_named(tmp_path):
    p = write(tmp_path, "fake.csv.gz", HEAD + "u1,v1,2026-11-01 10:00:00,1\n")
    assert str(error(p)) == f"{p}: is named .gz but is not gzip-compressed; compress it with gzip, or drop the .gz"


def test_a_real_gzip_csv_still_loads(tmp_path):
    p = write(tmp_path, "ok.csv.gz", gzip.compress((HEAD + "u1,v1,2026-11-01 10:00:00,1\nu2,v2,2026-11-01 10:00:00,0\n"
                                                     ).encode()), "wb")
    assert [a.variant for a in load(p).arms] == ["v1", "v2"]


def test_the_cli_names_a_fake_gzip_without_a_traceback(tmp_path):
    p = write(tmp_path, "fake.csv.gz", "variant,impressions,clicks\nv1,10,1\n")
    out = subprocess.run([sys.executable, "-m", "lab", "analyze", str(p)], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "is not gzip-compressed" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_year_zero_timestamp_is_a_bad_row(tmp_path):
    p = write(tmp_path, "e.csv", HEAD + "u1,v1,2026-11-01 10:00:00,1\nu2,v2,0000-01-01 00:00:00,0\n")
    assert str(error(p)) == (f"{p}: row 2, column timestamp: '0000-01-01 00:00:00' is outside the years 1 to 9999; "
                             "give the real date of the impression")


def test_a_header_naming_user_id_twice_is_refused(tmp_path):
    p = write(tmp_path, "e.csv", "user_id,variant,timestamp,clicked,user_id\nu1,v1,2026-11-01 10:00:00,1,x\n")
    assert str(error(p)) == (f"{p}: the header names column 'user_id' twice (columns 1 and 5); give each column "
                             "one name")


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_value_in_a_declared_segment_column_is_a_bad_row(tmp_path, value):
    p = write(tmp_path, "e.csv", HEAD.replace("\n", ",platform\n") + "u1,v1,2026-11-01 10:00:00,1,ios\n"
              f"u2,v2,2026-11-01 10:00:00,0,{value}\n")
    assert str(error(p, labels=["platform"])) == f"{p}: row 2, column platform: is empty"
    counts = write(tmp_path, "c.csv", f"variant,platform,impressions,clicks\nv1,ios,10,1\nv2,{value},10,2\n")
    assert str(error(counts, labels=["platform"])) == f"{counts}: row 2, column platform: is empty; every row needs its platform"


def test_full_width_digits_are_not_counts(tmp_path):
    p = write(tmp_path, "c.csv", "variant,impressions,clicks\nv1,１２,1\n")
    assert str(error(p)) == f"{p}: row 1, column impressions: '１２' is not a whole number written with the digits 0-9"


def test_mixed_line_endings_are_read_or_the_line_is_named(tmp_path):
    body = (HEAD + "u1,v1,2026-11-01 10:00:00,1\r\nu2,v2,2026-11-01 10:00:00,0\nu3,v1,2026-11-01 10:00:00,0\n")
    p = write(tmp_path, "e.csv", body)
    try:
        data = load(p)
    except OutcomeError as exc:
        assert str(exc) == (f"{p}: line 2 ends with CR LF but line 1 ends with LF; save the file with one kind of "
                            "line ending")
    else:
        assert data.rows == 3 and sum(a.stat.impressions for a in data.arms) == 3


def test_an_empty_user_id_is_listed_among_the_bad_rows(tmp_path):
    p = write(tmp_path, "e.csv", HEAD + "u1,v1,2026-11-01 10:00:00,7\n,v2,2026-11-01 10:00:00,0\n"
                                        "u3,v1,yesterday,1\n")
    exc = error(p)
    assert exc.errors == [f"{p}: row 1, column clicked: '7' is not 0 or 1",
                          f"{p}: row 2, column user_id: is empty",
                          f"{p}: row 3, column timestamp: 'yesterday' is not a timestamp; use ISO 8601 such as "
                          "2026-11-25T09:30:00"]


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (Debian package strace, in APT_PACKAGES)")
def test_outcomes_ingest_opens_an_events_csv_at_most_three_times(lab_env, tmp_path):
    arms = ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")
    p = write(tmp_path, "events.csv", HEAD + "".join(
        f"u{i},{arms[i % 3]},2026-11-0{1 + i % 5} 10:00:00,{i % 2}\n" for i in range(300)))
    log = tmp_path / "trace.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIGHLIGHT_LAB_EXPERIMENTS": str(lab_env.root)}
    out = subprocess.run(["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=open,openat,openat2", "-o", str(log),
                          sys.executable, "-m", "lab", "outcomes", "ingest", "--experiment", "seed-v1-v2-v3", str(p)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "added 300 rows" in out.stdout
    opens = [line for line in log.read_text().splitlines() if f'"{p}"' in line]
    assert 1 <= len(opens) <= 3, opens


@pytest.mark.parametrize("kind", ["counts", "events variant", "events segment"])
def test_a_megabyte_label_is_refused_with_its_length(tmp_path, kind):
    huge = "v" * 1_000_000
    if kind == "counts":
        p = write(tmp_path, "c.csv", f"variant,impressions,clicks\n{huge},1000,230\nv2,1000,310\n")
        kw = {}
    elif kind == "events variant":
        p = write(tmp_path, "e.csv", HEAD + f"u1,{huge},2026-11-01 10:00:00,1\nu2,v2,2026-11-01 10:00:00,0\n")
        kw = {}
    else:
        p = write(tmp_path, "s.csv", "user_id,variant,timestamp,clicked,platform\n"
                  f"u1,v1,2026-11-01 10:00:00,1,{huge}\nu2,v2,2026-11-01 10:00:00,0,ios\n")
        kw = {"segment": "platform"}
    message = str(error(p, **kw))
    assert "1,000,000 characters long" in message and "at most 200" in message and len(message) < 400
