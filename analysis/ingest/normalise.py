"""Read an outcome file once, into Parquet, and work from that copy.

The outcome store validates a file, aggregates it, hashes its rows and copies the columns it keeps. Against a
CSV each of those is a scan of the text (nine opens, counted); against the Parquet copy they are scans of
typed, columnar data. So a CSV or JSON-lines file is opened twice in all: once by Python (the SHA-256 of its
bytes and its header, in the same read) and once by DuckDB (text to Parquet, rows kept in file order so
messages still name the file's rows). A Parquet file is already that copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analysis.ingest.csvfile import CSV_SUFFIXES, diagnose_csv, first_bytes, header_of, suffix_of
from analysis.ingest.errors import OutcomeError
from analysis.ingest.source import JSON_SUFFIXES, Source, connect, describe

CHUNK = 1 << 20


@dataclass(frozen=True)
class Normalised:
    """A file's Parquet copy as a ``Source`` (messages name the original file) and the SHA-256 of its bytes."""

    source: Source
    bytes_sha: str


def read_bytes(path: Path) -> tuple[str, bytes]:
    """The SHA-256 of a file's bytes and its first line (decompressed), in one read."""
    digest = hashlib.sha256()

    def chunks():  # noqa: ANN202 - a local generator
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
            yield chunk

    try:
        with open(path, "rb") as handle:
            stream = chunks()
            first = first_bytes(stream, path) if suffix_of(path) in CSV_SUFFIXES else b""
            for _ in stream:  # the rest of the file, for the digest
                pass
    except FileNotFoundError:
        raise OutcomeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise OutcomeError(f"{path}: is a folder, not a file") from None
    except PermissionError:
        raise OutcomeError(f"{path}: cannot be read (permission denied)") from None
    except ValueError as exc:
        raise OutcomeError(f"{path}: {exc}") from None
    return digest.hexdigest(), first


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes (one read)."""
    return read_bytes(path)[0]


def normalise(path: Path, folder: Path) -> Normalised:
    """``path`` as a Parquet ``Source`` inside ``folder`` (which the caller removes), and its bytes' SHA-256."""
    path = Path(path)
    bytes_sha, first = read_bytes(path)
    return Normalised(to_parquet(path, first, folder), bytes_sha)


def to_parquet(path: Path, first: bytes, folder: Path) -> Source:
    """The Parquet copy of ``path`` (``first``: its first line, from ``read_bytes``) as a ``Source``."""
    if path.stat().st_size == 0:
        raise OutcomeError(f"{path}: the file is empty; it needs a header and at least one row")
    kind = suffix_of(path)
    if kind == ".parquet":
        return describe(Source((path,)))
    if kind not in CSV_SUFFIXES and kind not in JSON_SUFFIXES:
        Source((path,)).table()  # raises the unknown-type error
    width = None
    if kind in CSV_SUFFIXES:
        try:
            names = header_of(first, path)
        except ValueError as exc:
            raise OutcomeError(f"{path}: {exc}") from None
        width = len(names) if names is not None else None
    original = Source((path,))
    copy = Path(folder) / "normalised.parquet"
    con = connect(read=[path], write=[copy])
    try:
        con.execute("SET preserve_insertion_order = true")  # rows in file order: messages name them
        original.run(con, f"COPY (SELECT * FROM {original.table()}) TO {sql_path(copy)} (FORMAT parquet)")
    except duckdb.Error as exc:
        raise original.error(exc) from None
    finally:
        con.close()
    src = describe(dataclasses.replace(Source((copy,)), shown=str(path)))
    if width is not None and width != len(src.columns):
        raise OutcomeError(f"{path}: {diagnose_csv(path) or 'its rows do not match its header'}")
    return src


def sql_path(path: Path) -> str:
    """A path the code chose itself (never an input) as a strictly quoted SQL literal."""
    text = str(Path(path).resolve())
    if any(ord(ch) < 32 for ch in text):
        raise OutcomeError(f"{text}: the store path holds a control character; use a plain folder")
    return "'" + text.replace("'", "''") + "'"
