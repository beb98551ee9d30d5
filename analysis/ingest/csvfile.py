"""What Python checks in a CSV before DuckDB reads it, and the diagnosis of a CSV DuckDB refused.

DuckDB's own messages count lines, not rows, and some faults it does not see at all (a header that names a
column twice gets renamed ``user_id_1``), so the header is read here, and a refused file is streamed through
Python's strict csv reader to name the first bad row.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
GZIP_MAGIC = b"\x1f\x8b"
HEADER_MAX_BYTES = 1 << 20  # a header longer than this is not a header


def suffix_of(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()


def _delimiter(path: Path) -> str:
    return "\t" if suffix_of(path) == ".tsv" else ","


def header_of(first: bytes, path: Path) -> list[str] | None:
    """The header record from the first bytes of a CSV (decompressed), refusing a column named twice; None when
    Python's reader cannot tell (DuckDB and ``diagnose_csv`` then judge the file)."""
    line = first.split(b"\n", 1)[0]
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("row 0 (the header): is not UTF-8 text; save the file as UTF-8") from None
    try:
        names = next(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(path), strict=True), [])
    except csv.Error:
        return None
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise ValueError(f"the header names column {name[:60]!r} twice (columns {seen[name]} and {i}); "
                             "give each column one name")
        seen[name] = i
    return names


def first_bytes(chunks: Iterator[bytes], path: Path, limit: int = HEADER_MAX_BYTES) -> bytes:
    """The first line's worth of a file's (decompressed) content, from its raw ``chunks``.

    A ``.gz`` file must be gzip: anything else is refused by name rather than with a decompressor's traceback.
    """
    gz = path.suffix.lower() == ".gz"
    inflate = zlib.decompressobj(wbits=31) if gz else None
    out = b""
    started = False
    for chunk in chunks:
        if gz and not started:
            if not chunk.startswith(GZIP_MAGIC):
                raise ValueError("is named .gz but is not gzip-compressed; compress it with gzip, or drop the .gz")
            started = True
        try:
            out += inflate.decompress(chunk, limit - len(out)) if inflate else chunk
        except zlib.error:
            raise ValueError("is a damaged gzip file (it does not decompress); compress it again") from None
        if b"\n" in out or len(out) >= limit:
            break
    return out


def check_header(path: Path) -> list[str] | None:
    """Read a CSV's header (one open), refusing what DuckDB would misread; raises ``OutcomeError``."""
    from analysis.ingest.errors import OutcomeError

    try:
        with open(path, "rb") as handle:
            first = first_bytes(iter(lambda: handle.read(1 << 16), b""), path)
        return header_of(first, path)
    except ValueError as exc:
        raise OutcomeError(f"{path}: {exc}") from None
    except OSError as exc:
        raise OutcomeError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None


def _text(path: Path) -> io.TextIOBase:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    return opener(path, "rt", encoding="utf-8", newline="")


def diagnose_csv(path: Path) -> str | None:
    """Find the first row of a CSV that a strict reader refuses (wrong field count, unclosed quote, bad
    UTF-8, mixed line endings), streaming it with Python's csv module."""
    row = 0
    try:
        with _text(path) as handle:
            records = csv.reader(handle, delimiter=_delimiter(path), quotechar='"', doublequote=True, strict=True)
            try:
                header = next(records)
            except StopIteration:
                return None
            for record in records:
                if not record:
                    continue  # a blank line is not a row
                row += 1
                if len(record) != len(header):
                    return (f"row {row}: has {len(record)} fields but the header has {len(header)}; quote a value "
                            "that holds a comma")
    except UnicodeDecodeError:
        return f"row {row + 1}: is not UTF-8 text; save the file as UTF-8"
    except csv.Error as exc:
        if "end of data" in str(exc) or "EOF" in str(exc):
            return f"row {row + 1}: a quoted value is never closed (unterminated quote)"
        return f"row {row + 1}: is not valid CSV ({exc})"
    except (OSError, EOFError, zlib.error):
        return "is a damaged gzip file (it does not decompress); compress it again"
    return mixed_line_endings(path)


def mixed_line_endings(path: Path) -> str | None:
    """Which line first ends differently from the first line (CR LF against LF), or None."""
    try:
        with (gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")) as handle:
            first: str | None = None
            for number, raw in enumerate(handle, start=1):
                if not raw.endswith(b"\n"):
                    break  # the last line, without an ending
                ending = "CR LF" if raw.endswith(b"\r\n") else "LF"
                first = first or ending
                if ending != first:
                    return (f"line {number} ends with {ending} but line 1 ends with {first}; save the file "
                            "with one kind of line ending")
    except (OSError, EOFError, zlib.error):
        return None
    return None
