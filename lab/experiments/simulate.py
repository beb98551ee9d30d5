"""Simulated traffic for demos and tests: clearly labelled, never mistaken for real outcomes.

Users are drawn from a pool, assigned with the same function production uses (GrowthBook hashing with
the experiment's weights), and click with the true CTR of their arm. Files carry ``source=simulated``
in a column, in their name and in the Parquet metadata.

The experiment's declared guardrails and segments are filled in too, so a demo shows them: each guardrail
count (``dismissals``) is 1 on an unclicked impression with ``guardrail_rate``, the same in every arm (no
arm harms it), and each user has one value per segment column (``platform``: ios or android). They come from
their own random stream, so the clicks are the same whatever the spec declares.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lab.errors import LabError
from lab.experiments.assignment import assign
from lab.experiments.spec import Experiment

SEGMENT_VALUES = {"platform": ("ios", "android"), "country": ("de", "fr", "br", "jp"), "tier": ("free", "plus")}
GUARDRAIL_RATE = 0.05


def segment_values(column: str) -> tuple[str, ...]:
    """The simulated values of a segment column: known ones for common names, else two labelled groups."""
    return SEGMENT_VALUES.get(column, (f"{column}-a", f"{column}-b"))


def simulate(exp: Experiment, true_ctr: dict[str, float], daily: int, days: int, out_dir: Path, seed: int = 0,
             start: dt.date = dt.date(2026, 11, 1), users_per_day: float = 0.5,
             guardrail_rate: float = GUARDRAIL_RATE) -> list[Path]:
    """One events file per day (``simulated-<key>-day<NN>.parquet``); returns their paths."""
    missing = [a for a in exp.arm_ids if a not in true_ctr]
    if missing:
        raise LabError("--ctr", f"no true CTR for arm {missing[0]}", f"give one per arm: {', '.join(exp.arm_ids)}")
    unknown = [a for a in true_ctr if a not in exp.arm_ids]
    if unknown:
        raise LabError("--ctr", f"{unknown[0]!r} is not an arm of {exp.key}", f"arms: {', '.join(exp.arm_ids)}")
    if any(not 0 <= p <= 1 for p in true_ctr.values()):
        raise LabError("--ctr", "CTRs must be between 0 and 1")
    if daily < 1 or days < 1:
        raise LabError("--daily/--days", "must be at least 1")
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 1])  # guardrails and segments: a stream of their own
    pool = max(int(daily * days * users_per_day / 2), 1)  # each user sees ~2 / users_per_day notifications
    ids = np.array([f"sim-{i:07d}" for i in range(pool)])
    arm_of = np.array([assign(exp.hash_seed, u, exp.arm_ids, exp.weights)[0] for u in ids])
    ctr = np.array([true_ctr[a] for a in arm_of])
    segment_of = {c: np.array(segment_values(c))[extra.integers(0, len(segment_values(c)), size=pool)]
                  for c in exp.segments}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in range(days):
        who = rng.integers(0, pool, size=daily)
        seconds = np.sort(rng.integers(0, 86400, size=daily))
        day0 = np.datetime64(start + dt.timedelta(days=d), "s")
        clicked = (rng.random(daily) < ctr[who]).astype(np.int8)
        columns = {
            "user_id": pa.array(ids[who]),
            "variant": pa.array(arm_of[who]),
            "timestamp": pa.array(day0 + seconds.astype("timedelta64[s]")),
            "clicked": pa.array(clicked),
            "source": pa.array(np.full(daily, "simulated")),
        }
        for g in exp.guardrails:
            columns[g] = pa.array(((clicked == 0) & (extra.random(daily) < guardrail_rate)).astype(np.int8))
        for c, values in segment_of.items():
            columns[c] = pa.array(values[who])
        table = pa.table(columns)
        table = table.replace_schema_metadata({"highlight_lab.source": "simulated", "experiment": exp.key})
        path = out_dir / f"simulated-{exp.key}-day{d + 1:02d}.parquet"
        pq.write_table(table, path)
        paths.append(path)
    return paths
