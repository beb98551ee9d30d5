"""``load``: an outcome file (or several, or a glob) to a ``Dataset``, told apart by its columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from analysis.ingest.counts import load_counts
from analysis.ingest.dataset import COUNT_COLUMNS, EVENT_COLUMNS, Dataset
from analysis.ingest.errors import OutcomeError, excerpt
from analysis.ingest.events import load_events
from analysis.ingest.source import PathLike, Source, detect_kind, open_source


def load(path: PathLike | Sequence[PathLike] | Source, segment: str | None = None,
         variants: Sequence[str] | None = None, start: dt.datetime | None = None, end: dt.datetime | None = None,
         labels: Sequence[str] = (), cuped: bool = False, pre_start: dt.datetime | None = None,
         guardrails: Sequence[str] = ()) -> Dataset:
    """Load counts or events (told apart by their columns), validated against ``variants`` if given.

    ``labels``: segment columns the experiment declares: never empty where present, and in a counts file
    they name a segment (besides ``segment``) instead of a guardrail count. ``cuped``: events only, with the
    pre-period from ``pre_clicks``/``pre_impressions`` columns or from ``[pre_start, start)``.
    ``guardrails``: events only, the count columns to sum per arm (a counts file's extra columns already are).
    """
    src = path if isinstance(path, Source) else open_source(path)
    cols = src.columns
    kind = detect_kind(cols)
    if kind == "events":
        required = [c for c in labels if c in cols]
        return load_events(src, segment=segment, variants=variants, start=start, end=end, required=required,
                           cuped=cuped, pre_start=pre_start, guardrails=guardrails)
    if kind == "counts":
        if start or end or pre_start:
            raise OutcomeError(f"{src.name}: a counts file has no timestamps, so --start/--end cannot apply")
        if cuped:
            raise OutcomeError(f"{src.name}: CUPED needs per-user events with pre-period covariates; a counts file "
                               "has no users")
        return load_counts(src, segment=segment, variants=variants, labels=labels)
    missing_events = [c for c in EVENT_COLUMNS if c not in cols]
    missing_counts = [c for c in COUNT_COLUMNS if c not in cols]
    raise OutcomeError(
        f"{src.name}: missing columns: a counts file needs {', '.join(COUNT_COLUMNS)} (missing "
        f"{', '.join(missing_counts)}); an events file needs {', '.join(EVENT_COLUMNS)} (missing "
        f"{', '.join(missing_events)}); found {excerpt(', '.join(cols), 200)}"
    )
