"""Outcome files as DuckDB sees them: the one way the lab opens DuckDB, and a ``Source`` that names a file's
columns by position, never by its (untrusted) header text."""

from __future__ import annotations

import atexit
import dataclasses
import glob
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from analysis.ingest.csvfile import CSV_SUFFIXES, check_header, diagnose_csv, suffix_of
from analysis.ingest.dataset import COUNT_COLUMNS, EVENT_COLUMNS
from analysis.ingest.errors import OutcomeError, excerpt

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz")
# DuckDB holds at most this much in memory and spills the rest of a large aggregation to disk.
MEMORY_LIMIT = "1GB"


def connect(read: Sequence[Path] = (), write: Sequence[Path] = (), pushdown: bool = True,
            spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The one way the lab opens DuckDB: no extension downloads or loads, no progress bar, and no file or
    network access except the files named in ``read`` and ``write`` (so a query can never reach anything else).

    Memory is capped at ``MEMORY_LIMIT``; with ``spill`` (a folder), a larger aggregation spills there instead
    of failing. ``pushdown=False`` turns DuckDB's ``type_pushdown`` off: it makes a ``TRY_CAST`` a strict cast
    inside the CSV scanner (twice as fast on valid files), which on a bad value loses its row and column
    ("Conversion Error: CSV Error on Line: N"). The loaders rerun a CSV that failed that way without it.
    """
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False,
              "memory_limit": MEMORY_LIMIT, "temp_directory": str(spill or spill_folder())}
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        # In Jupyter without ipywidgets DuckDB refuses to change any progress-bar setting; it cannot
        # draw the bar there either, so nothing reaches the output.
        pass
    con.execute("SET preserve_insertion_order = false")  # aggregates only; row numbers use one thread
    if not pushdown:
        con.execute("SET disabled_optimizers = 'type_pushdown'")
    allowed = [str(Path(p).resolve()) for p in (*read, *write)]
    con.execute("SET allowed_paths = $paths", {"paths": allowed})
    con.execute("SET enable_external_access = false")
    return con


_SPILL: list[Path] = []


def spill_folder() -> Path:
    """This process's own folder for DuckDB's spill files (removed at exit): a 100M-row aggregation larger than
    ``MEMORY_LIMIT`` goes to disk instead of failing, and two processes never share spill files."""
    if not _SPILL:
        folder = Path(tempfile.mkdtemp(prefix="highlight-lab-duckdb-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _SPILL.append(folder)
    return _SPILL[0]


@dataclass(frozen=True)
class Source:
    """One or more outcome files of one format, read by DuckDB with the paths as parameters.

    SQL never names a column by the file's own (untrusted) header: :meth:`col` maps a name, checked in
    Python against the header, to a positional alias ``c0``, ``c1``, ... that the code made.
    """

    paths: tuple[Path, ...]
    columns: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    pushdown: bool = True  # False after a strict CSV cast failed: rerun so the bad row can be named
    shown: str = ""  # how messages name the input, when it is not the path DuckDB reads (a normalised copy)
    spill: Path | None = None  # where a large aggregation may spill

    def retry_without_pushdown(self, exc: duckdb.Error) -> Source | None:
        """This source again without ``type_pushdown`` when ``exc`` is the scanner's strict cast failing."""
        if self.pushdown and isinstance(exc, duckdb.ConversionException) and self.suffix in CSV_SUFFIXES:
            return dataclasses.replace(self, pushdown=False)
        return None

    @property
    def name(self) -> str:
        """How messages name the input: the file, or the first file and how many there are."""
        if self.shown:
            return self.shown
        if len(self.paths) == 1:
            return str(self.paths[0])
        return f"{self.paths[0]} (and {len(self.paths) - 1} more files)"

    @property
    def suffix(self) -> str:
        return suffix_of(self.paths[0])

    @property
    def params(self) -> dict[str, Any]:
        return {"src": [str(p.resolve()) for p in self.paths]}

    def table(self) -> str:
        """The table function over ``$src``; its columns aliased by position once the header is known."""
        if self.suffix in CSV_SUFFIXES:
            delim = "\\t" if self.suffix == ".tsv" else ","
            fn = (f"read_csv($src, header=true, all_varchar=true, delim=E'{delim}', quote='\"', escape='\"', "
                  "strict_mode=true)")
        elif self.suffix == ".parquet":
            fn = "read_parquet($src, union_by_name=true)"
        elif self.suffix in JSON_SUFFIXES:
            fn = "read_json($src, format='newline_delimited', union_by_name=true)"
        else:
            raise OutcomeError(f"{self.paths[0]}: unknown file type {self.paths[0].suffix!r}; "
                               "use .csv, .parquet or .jsonl")
        if not self.columns:
            return fn
        return f"{fn} AS src({', '.join(f'c{i}' for i in range(len(self.columns)))})"

    def col(self, name: str) -> str:
        """The positional alias of column ``name`` (which must be one of the file's columns)."""
        return f"c{self.columns.index(name)}"

    def type_of(self, name: str) -> str:
        return self.types[self.columns.index(name)]

    def connect(self, write: Sequence[Path] = ()) -> duckdb.DuckDBPyConnection:
        return connect(read=self.paths, write=write, pushdown=self.pushdown, spill=self.spill)

    def run(self, con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
            ) -> duckdb.DuckDBPyConnection:
        """Run ``sql`` with ``$src`` and those of ``params`` it uses (DuckDB refuses unused parameters)."""
        given = {**self.params, **(params or {})}
        return con.execute(sql, {k: v for k, v in given.items() if f"${k}" in sql})

    def error(self, exc: duckdb.Error) -> OutcomeError:
        """A DuckDB error as an :class:`OutcomeError`; for CSV, the row and what is wrong with it."""
        if self.suffix in CSV_SUFFIXES:
            for path in self.paths:
                found = diagnose_csv(path)
                if found:
                    return OutcomeError(f"{path}: {found}")
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return OutcomeError(f"{self.name}: could not be read ({excerpt(first, 200)})")


def file_paths(path: PathLike | Sequence[PathLike]) -> tuple[Path, ...]:
    """A file, a list of files, or a glob (expanded here, so DuckDB only ever gets named files)."""
    if isinstance(path, (str, Path)):
        text = str(path)
        if any(ch in text for ch in "*?["):
            found = tuple(Path(p) for p in sorted(glob.glob(text)))
            if not found:
                raise OutcomeError(f"{text}: no files match")
            return found
        return (Path(path),)
    found = tuple(Path(p) for p in path)
    if not found:
        raise OutcomeError("no outcome files given")
    if len({suffix_of(p) for p in found}) > 1:
        raise OutcomeError(f"{found[0]}: files of different formats cannot be read together")
    return found


PathLike = Path | str


def open_source(path: PathLike | Sequence[PathLike], spill: Path | None = None) -> Source:
    """Check the files exist and are not empty, and read their header (names and types).

    A CSV's header is read in Python first (one open each): a file named ``.gz`` that is not gzip, a header
    that names a column twice, or a file that is not UTF-8 is refused there, with the reason.
    """
    paths = file_paths(path)
    widths: list[int | None] = []
    for p in paths:
        if not p.is_file():
            raise OutcomeError(f"{p}: no such file")
        if p.stat().st_size == 0:
            raise OutcomeError(f"{p}: the file is empty; it needs a header and at least one row")
        if suffix_of(p) in CSV_SUFFIXES:
            names = check_header(p)
            widths.append(len(names) if names is not None else None)
    return describe(Source(paths, spill=spill), widths)


def describe(bare: Source, widths: Sequence[int | None] = ()) -> Source:
    """``bare`` with its columns' names and types, as DuckDB reads them."""
    table = bare.table()  # refuses an unknown suffix before DuckDB sees the file
    con = bare.connect()
    try:
        described = bare.run(con, f"DESCRIBE SELECT * FROM {table}").fetchall()
    except duckdb.Error as exc:
        raise bare.error(exc) from None
    finally:
        con.close()
    src = dataclasses.replace(bare, columns=tuple(d[0] for d in described),
                              types=tuple(str(d[1]).upper() for d in described))
    # DuckDB's sniffer may take a longer row for the header; the first record is the header.
    for p, width in zip(bare.paths, widths, strict=False):
        if width is not None and width != len(src.columns):
            raise OutcomeError(f"{p}: {diagnose_csv(p) or 'its rows do not match its header'}")
    return src


def columns_of(path: PathLike | Sequence[PathLike]) -> list[str]:
    """Column names of a file, of a list of files or of a glob."""
    return list(open_source(path).columns)


def detect_kind(columns: Sequence[str]) -> str | None:
    """``events`` when the event columns are all there, else ``counts`` when the count columns are, else None."""
    if set(EVENT_COLUMNS) <= set(columns):
        return "events"
    if set(COUNT_COLUMNS) <= set(columns):
        return "counts"
    return None


def check_segment(src: Source, segment: str | None) -> None:
    if segment is not None and segment not in src.columns:
        raise OutcomeError(f"{src.name}: no column {excerpt(segment)!r} to segment by; columns are "
                           f"{excerpt(', '.join(src.columns), 200)}")
