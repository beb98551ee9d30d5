"""The versioned library: immutable versions, history, diffs, conflicts and crash-safe writes."""

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from lab.errors import VariantError, VersionConflict
from lab.library.schema import with_changes
from lab.library.versions import VariantLibrary
from lab.storage import atomic_path
from tests.conftest import REPO


def test_saving_an_edit_makes_a_new_immutable_version(library):
    lib = VariantLibrary(library)
    v1 = lib.load("v3-rival-ghost")
    info = lib.save(with_changes(v1, cta__en="Catch me!"), base=v1.version, author="dana", note="punchier CTA")
    assert info.parent == v1.content_hash
    assert lib.load("v3-rival-ghost").cta["en"] == "Catch me!"
    history = lib.history("v3-rival-ghost")
    assert [h.hash for h in history][:2] == [info.hash, v1.content_hash]  # newest first, then the shipped one
    assert lib.load_version("v3-rival-ghost", v1.version) == v1  # the old version is still there, unchanged
    assert (history[0].author, history[0].note) == ("dana", "punchier CTA")


def test_saving_the_same_content_again_is_a_no_op(library):
    lib = VariantLibrary(library)
    v = lib.load("v1-fast-sprint")
    before = lib.history(v.id)
    assert lib.save(v, base=v.version).hash == v.content_hash
    assert lib.history(v.id) == before


def test_diff_is_readable(library):
    lib = VariantLibrary(library)
    v1 = lib.load("v3-rival-ghost")
    lib.save(with_changes(v1, cta__en="Catch me!"), base=v1.version)
    diff = lib.diff("v3-rival-ghost", v1.version)
    assert "-  en: I'll overtake!\n+  en: Catch me!\n" in diff
    assert diff.startswith(f"--- v3-rival-ghost@{v1.version}\n")
    assert lib.diff("v3-rival-ghost", "current", "current") == ""


def test_two_people_saving_over_the_same_base_conflict(library):
    lib = VariantLibrary(library)
    base = lib.load("v3-rival-ghost")
    shipped = len(lib.history("v3-rival-ghost"))
    lib.save(with_changes(base, cta__en="Catch me!"), base=base.version, author="dana")
    mine = with_changes(base, effects__intensity=0.2)
    with pytest.raises(VersionConflict) as info:
        lib.save(mine, base=base.version, author="lee")
    current = lib.load("v3-rival-ghost")
    assert str(info.value) == (
        f"variant 'v3-rival-ghost': was saved as version {current.version} since your edit of version "
        f"{base.version}; reload it, re-apply your change and save again; nothing was written"
    )
    assert current.cta["en"] == "Catch me!" and current.effects.intensity == base.effects.intensity
    assert len(lib.history("v3-rival-ghost")) == shipped + 1


def test_creating_over_an_existing_variant_conflicts(library):
    lib = VariantLibrary(library)
    v = lib.load("v1-fast-sprint")
    with pytest.raises(VersionConflict, match="already exists at version"):
        lib.save(with_changes(v, title="mine"), base=None)


def test_concurrent_saves_from_processes_lose_no_edit(library):
    """Many writers load the same base at once: exactly one wins, the rest get a conflict."""
    lib = VariantLibrary(library)
    base = lib.load("v2-slow-motion")
    shipped = len(lib.history("v2-slow-motion"))
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    edits = [with_changes(base, effects__intensity=i / 10) for i in range(1, 7)]
    # Each process saves against the same base version; the lock serialises the check-and-write.
    procs = [ctx.Process(target=_save_one, args=(library, v, base.version, results)) for v in edits]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["conflict"] * 5 + ["saved"]
    assert len(lib.history("v2-slow-motion")) == shipped + 1


def _save_one(root, variant, base, results):
    try:
        VariantLibrary(root).save(variant, base=base)
        results.put("saved")
    except VersionConflict:
        results.put("conflict")


CRASH = textwrap.dedent(
    """
    import os, signal, sys
    from lab.library.schema import with_changes
    from lab.library.versions import VariantLibrary
    lib = VariantLibrary(sys.argv[1])
    v = lib.load("v3-rival-ghost")
    edit = with_changes(v, title="half-written " * 9)
    calls = {"n": 0}

    def dying_fsync(fd):
        # The process dies after the bytes reach the temporary file, before it is renamed into place.
        calls["n"] += 1
        if calls["n"] == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_fsync(fd)

    real_fsync = os.fsync
    os.fsync = dying_fsync
    lib.save(edit, base=v.version)
    """
)


@pytest.mark.parametrize("die_at_fsync", [1, 3])
def test_a_write_killed_midway_leaves_the_previous_version_intact(library, die_at_fsync):
    """fsync 1 is the snapshot's temp file, 3 the current file's: either way the library stays valid."""
    before = (library / "v3-rival-ghost.yaml").read_bytes()
    proc = subprocess.run([sys.executable, "-c", CRASH, str(library), str(die_at_fsync)], cwd=REPO)
    assert proc.returncode == -signal.SIGKILL
    assert (library / "v3-rival-ghost.yaml").read_bytes() == before
    lib = VariantLibrary(library)
    v = lib.load("v3-rival-ghost")
    assert lib.is_recorded(v)
    # No partial file is visible as a variant; temp files are dot-files the library never reads.
    assert sorted(p.name for p in library.glob("*.yaml")) == sorted(f"{i}.yaml" for i in lib.ids())
    for info in lib.history(v.id):
        lib.load_version(v.id, info.hash)
    leftovers = [p for p in library.rglob(".*.tmp")]
    assert leftovers and all(p.name.startswith(".") for p in leftovers)  # the killed save's temp file
    # The next save removes it: its writer is dead, so nobody holds its lock any more.
    lib.save(with_changes(v, title="the next save"), base=v.version)
    assert not list(library.rglob("*.tmp"))
    assert [p.name for p in library.glob(".*")] == [".lock"]


def test_a_live_writers_temp_file_and_files_not_ours_are_left_alone(library):
    lib = VariantLibrary(library)
    v = lib.load("v3-rival-ghost")
    not_ours = [".notes.tmp", "draft.tmp", ".v1.yaml.abcdefghi.tmp", ".v1.yaml.ABCDEFGH.tmp", ".v1.yaml.abcdefgh.bak"]
    for name in not_ours:
        (library / name).write_text("keep", encoding="utf-8")
    os.symlink("/etc/hostname", library / ".v1.yaml.abcdefgh.tmp")  # our pattern, but a link: not our file
    (library / ".v2.yaml.abcdefgh.tmp").mkdir()
    with atomic_path(library / "v1-fast-sprint.yaml") as tmp:  # a save in progress, in another "process"
        tmp.write_text("being written", encoding="utf-8")
        lib.save(with_changes(v, title="meanwhile"), base=v.version)
        assert tmp.read_text(encoding="utf-8") == "being written"
    assert (library / "v1-fast-sprint.yaml").read_text(encoding="utf-8") == "being written"  # renamed into place
    for name in [*not_ours, ".v1.yaml.abcdefgh.tmp", ".v2.yaml.abcdefgh.tmp"]:
        assert os.path.lexists(library / name), name


def test_the_cleaner_takes_only_unlocked_temp_files(tmp_path):
    from lab.storage import clean_stale_temps

    stale = tmp_path / ".a.yaml.abc_1234.tmp"
    stale.write_text("left by a killed writer", encoding="utf-8")
    with atomic_path(tmp_path / "b.yaml") as live:
        live.write_text("being written", encoding="utf-8")
        assert clean_stale_temps(tmp_path) == [stale]
        assert live.exists() and not stale.exists()
    assert (tmp_path / "b.yaml").read_text(encoding="utf-8") == "being written"
    assert clean_stale_temps(tmp_path / "missing") == []


def test_a_hand_edit_is_recorded_with_its_parent(library):
    lib = VariantLibrary(library)
    old = lib.load("defend-shield")
    path = library / "defend-shield.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Defend again", "Hold the line"), encoding="utf-8")
    edited = lib.load("defend-shield")
    assert not lib.is_recorded(edited)
    info = lib.record("defend-shield", author="git")
    assert info.parent == old.content_hash and lib.is_recorded(lib.load("defend-shield"))


def test_a_tampered_snapshot_is_detected(library):
    lib = VariantLibrary(library)
    v = lib.load("v1-fast-sprint")
    snap = library / "versions" / v.id / f"{v.version}.yaml"
    snap.write_text(snap.read_text(encoding="utf-8").replace("View full leaderboard", "Hacked"), encoding="utf-8")
    with pytest.raises(VariantError, match="content does not match its hash"):
        lib.load_version(v.id, v.version)


def test_unknown_versions_and_variants_say_what_to_do(library):
    lib = VariantLibrary(library)
    with pytest.raises(VariantError) as info:
        lib.load_version("v1-fast-sprint", "abcdef1")
    assert str(info.value) == (
        "variant 'v1-fast-sprint': has no saved version abcdef1; see `highlight-lab variants history v1-fast-sprint`"
    )
    with pytest.raises(VariantError, match="not found in .*; known variants: comeback-replay, "):
        lib.load("v9")
    with pytest.raises(VariantError, match="is not a version hash; give 7 or more hex digits"):
        lib.load_version("v1-fast-sprint", "xyz")


def test_no_lock_or_temp_file_is_left_in_git(library):
    lib = VariantLibrary(library)
    v = lib.load("v1-fast-sprint")
    lib.save(with_changes(v, title="x"), base=v.version)
    assert not list(library.rglob("*.tmp"))
    # What a killed save can leave, in the library and in its versions, and the experiments' lock: all ignored.
    paths = ["variants/.lock", "variants/.v1-fast-sprint.yaml.k3j_9x2a.tmp",
             "variants/versions/v1-fast-sprint/.daae8fc80b7d.yaml.abcd1234.tmp", "experiments/.lock",
             "experiments/.seed-v1-v2-v3.yaml.abcd1234.tmp"]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True)
    assert ignored.stdout.split() == paths
    assert os.path.exists(library / ".lock")


def test_validate_reads_each_saved_version_once(library, monkeypatch):
    """Validation checks every version's hash, reading each snapshot once: linear in the history (264 versions
    took 180 s when each check re-read the whole history). benchmarks/validate_history.py times it."""
    from lab.library import versions

    lib = VariantLibrary(library)
    v = lib.load("v1-fast-sprint")
    for i in range(12):
        v_next = with_changes(v, title=f"take {i}")
        lib.save(v_next, base=v.version)
        v = v_next
    snapshots = sorted((library / "versions" / "v1-fast-sprint").glob("*.yaml"))
    assert len(snapshots) >= 13
    reads: list[str] = []
    real = versions.read_text
    monkeypatch.setattr(versions, "read_text", lambda path, *a, **k: reads.append(str(path)) or real(path, *a, **k))
    results, errors = versions.validate_paths([library / "v1-fast-sprint.yaml"])
    assert not errors and results[0]["ok"]
    assert sorted(r for r in reads if "/versions/" in r) == [str(p) for p in snapshots]


def test_validate_still_finds_a_tampered_or_misplaced_snapshot(library):
    from lab.library.versions import validate_paths

    folder = library / "versions" / "v1-fast-sprint"
    snap = next(folder.glob("*.yaml"))
    original = snap.read_text(encoding="utf-8")
    snap.write_text(original.replace("View full leaderboard", "Hacked"), encoding="utf-8")
    assert validate_paths([library / "v1-fast-sprint.yaml"])[1] == [
        f"{snap}: content does not match its hash; the file was edited by hand; restore it from git"]
    snap.write_text(original, encoding="utf-8")
    copy = library / "versions" / "v2-slow-motion" / snap.name  # v1's version filed under v2
    copy.write_text(original, encoding="utf-8")
    assert validate_paths([library / "v2-slow-motion.yaml"])[1] == [
        f"{copy}: holds version {snap.stem} of 'v1-fast-sprint'; a saved version is named <hash>.yaml in its "
        "variant's folder; restore it from git"]
