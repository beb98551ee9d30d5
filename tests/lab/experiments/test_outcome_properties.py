"""Property test for the lab's edge: any outcome file (random columns, values, encodings, truncations; CSV,
Parquet, JSON lines) is stored or refused with a ``LabError`` that names it, and a refusal stores nothing."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from analysis.ingest import columns_of
from lab.errors import LabError
from lab.experiments import privacy
from lab.experiments.outcomes import OutcomeStore
from lab.experiments.spec import ExperimentLibrary
from lab.library.versions import VariantLibrary
from tests.analysis.test_ingest_properties import outcome_file, write
from tests.conftest import REPO

SECRET = privacy.salt().encode()
KEPT = {"user_id", "variant", "timestamp", "clicked", "event_id", "impressions", "clicks", "dismissals", "segment"}


@settings(derandomize=True, max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcome_file())
def test_any_outcome_file_is_stored_or_refused_with_a_lab_error(file):
    exp = ExperimentLibrary(REPO / "experiments", VariantLibrary(REPO / "variants")).load("seed-v1-v2-v3")
    fmt, data = file
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, fmt, data)
        store = OutcomeStore(exp.key, root=Path(folder) / "store")
        try:
            store.ingest(exp, path)
        except LabError as exc:
            assert str(path) in str(exc)
            assert store.manifest() == []
        else:
            assert len(store.manifest()) == 1
            (stored,) = (f for f in store.root.rglob("*") if f.suffix in (".csv", ".parquet"))
            assert SECRET not in stored.read_bytes()
            # no column name ever ran as SQL: the store holds the lab's columns and nothing else
            assert set(columns_of(stored)) <= KEPT
