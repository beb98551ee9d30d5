"""Ways to write the per-user query, timed on one events file (wall and CPU seconds, every thread), each in a
fresh DuckDB connection with the lab's 1 GB cap and two threads: what each piece of the per-user row costs.

    .venv/bin/python benchmarks/per_user_forms.py EVENTS_FILE [FORM ...] [--repeats N]

The file is one that ``benchmarks/analysis_scale.py --dir DIR`` makes (arms v1, v2, v3; ``clicked`` 0 or 1).
Every form but ``count_only`` and ``n_and_c`` returns the same per-arm sums as the lab's query (``mask``); a
line says whether it agrees. Forms:

- ``timeline``: the lab's first scan (rows and clicks per day and arm), for scale.
- ``count_only``: ``GROUP BY hash(user_id)`` with ``count(*)``: the floor of any per-user pass.
- ``n_and_c``: impressions and clicks per user in one packed 64-bit ``sum`` (no arm: not a full answer).
- ``mask``: the lab's form (impressions, clicks, ``bit_or`` of the arm bits).
- ``sum_clicked``: the same with ``sum(clicked)`` instead of a filtered count.
- ``packed_mask``: one packed 64-bit ``sum`` for impressions and clicks, and the mask.
- ``huge``: one 128-bit ``sum`` carrying impressions, clicks, the sum of the arm index and of its square (a
  user is in one arm exactly when (sum a)^2 = n * sum a^2).
- ``two_sums``: the same in two 64-bit sums.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import duckdb

ARM = "list_position(['v1', 'v2', 'v3'], variant)"
PER_ARM = "count(*), sum(c), sum(c * c), sum(n), sum(n * n), sum(c * n)"
UNPACK_HUGE = """x AS (SELECT CAST(p & 268435455 AS BIGINT) AS n, CAST((p >> 28) & 268435455 AS BIGINT) AS c,
                       CAST((p >> 56) & 1073741823 AS BIGINT) AS s1, CAST(p >> 86 AS BIGINT) AS s2 FROM per_user),
    y AS (SELECT *, CASE WHEN s1 * s1 = n * s2 THEN s1 // n + 1 END AS m FROM x)
    SELECT m, """ + PER_ARM + " FROM y GROUP BY m"
FORMS = {
    "timeline": "SELECT CAST(timestamp AS DATE) AS d, variant, count(*), count(*) FILTER (WHERE clicked = 1) "
                "FROM read_parquet($p) GROUP BY ALL",
    "count_only": "WITH per_user AS (SELECT hash(user_id) AS u, count(*) AS n FROM read_parquet($p) GROUP BY u) "
                  "SELECT count(*), sum(n), sum(n * n) FROM per_user",
    "n_and_c": """WITH per_user AS (SELECT hash(user_id) AS u,
                      sum(CAST(1 AS UBIGINT) + (CAST(clicked AS UBIGINT) << 32)) AS p FROM read_parquet($p) GROUP BY u),
        x AS (SELECT p & 4294967295 AS n, p >> 32 AS c FROM per_user)
        SELECT """ + PER_ARM + " FROM x",
    "mask": f"""WITH per_user AS (SELECT hash(user_id) AS u, count(*) AS n, count(*) FILTER (WHERE clicked = 1) AS c,
                      bit_or(CAST(1 AS UTINYINT) << CAST({ARM} - 1 AS UTINYINT)) AS m FROM read_parquet($p) GROUP BY u)
        SELECT m, {PER_ARM} FROM per_user GROUP BY m""",
    "sum_clicked": f"""WITH per_user AS (SELECT hash(user_id) AS u, count(*) AS n, sum(clicked) AS c,
                      bit_or(CAST(1 AS UTINYINT) << CAST({ARM} - 1 AS UTINYINT)) AS m FROM read_parquet($p) GROUP BY u)
        SELECT m, {PER_ARM} FROM per_user GROUP BY m""",
    "packed_mask": f"""WITH per_user AS (SELECT hash(user_id) AS u,
                      sum(CAST(1 AS UBIGINT) + (CAST(clicked AS UBIGINT) << 32)) AS p,
                      bit_or(CAST(1 AS UTINYINT) << CAST({ARM} - 1 AS UTINYINT)) AS m FROM read_parquet($p) GROUP BY u),
        x AS (SELECT m, p & 4294967295 AS n, p >> 32 AS c FROM per_user)
        SELECT m, {PER_ARM} FROM x GROUP BY m""",
    "huge": f"""WITH r AS (SELECT hash(user_id) AS u, {ARM} - 1 AS a, clicked FROM read_parquet($p)),
        per_user AS (SELECT u, sum(CAST(1 AS HUGEINT) + (CAST(clicked AS HUGEINT) << 28) + (CAST(a AS HUGEINT) << 56)
                                   + (CAST(a * a AS HUGEINT) << 86)) AS p FROM r GROUP BY u),
        {UNPACK_HUGE}""",
    "two_sums": f"""WITH r AS (SELECT hash(user_id) AS u, CAST({ARM} - 1 AS UBIGINT) AS a, clicked
                   FROM read_parquet($p)),
        per_user AS (SELECT u, sum(CAST(1 AS UBIGINT) + (CAST(clicked AS UBIGINT) << 32)) AS p,
                            sum(a + (a * a << 32)) AS q FROM r GROUP BY u),
        x AS (SELECT CAST(p & 4294967295 AS BIGINT) AS n, CAST(p >> 32 AS BIGINT) AS c,
                     CAST(q & 4294967295 AS BIGINT) AS s1, CAST(q >> 32 AS BIGINT) AS s2 FROM per_user),
        y AS (SELECT *, CASE WHEN s1 * s1 = n * s2 THEN s1 // n + 1 END AS m FROM x)
        SELECT m, {PER_ARM} FROM y GROUP BY m""",
}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def per_arm(rows: list[tuple], masked: bool) -> dict[int, tuple]:
    """Rows keyed by arm number 1, 2, 3: from the mask (1, 2, 4) or from the arm index + 1."""
    return {({1: 1, 2: 2, 4: 3}.get(m, -1) if masked else m): tuple(int(s) for s in sums) for m, *sums in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("forms", nargs="*", default=list(FORMS))
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    reference = None
    print(f"{'form':12}  {'wall s (median)':>15}  {'CPU s':>7}  agrees with mask")
    for name in args.forms:
        walls, cpus, rows = [], [], None
        for _ in range(args.repeats):
            con = duckdb.connect(config={"memory_limit": "1GB", "threads": 2})
            con.execute("SET preserve_insertion_order = false")
            t, c = time.perf_counter(), cpu()
            try:
                rows = con.execute(FORMS[name], {"p": args.path}).fetchall()
            except duckdb.OutOfMemoryException:
                rows = None
            walls.append(time.perf_counter() - t)
            cpus.append(cpu() - c)
            con.close()
        agrees = "-"
        if rows is None:
            agrees = "out of memory"
        elif name in ("mask", "sum_clicked", "packed_mask", "huge", "two_sums"):
            got = per_arm(rows, masked=name in ("mask", "sum_clicked", "packed_mask"))
            if name == "mask":
                reference = got
            agrees = "yes" if reference is None or got == reference else "NO"
        print(f"{name:12}  {statistics.median(walls):>15.2f}  {statistics.median(cpus):>7.2f}  {agrees}", flush=True)


if __name__ == "__main__":
    main()
