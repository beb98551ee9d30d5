"""Property test for the lab's edge: any outcome file (random columns, values, encodings, truncations; CSV,
Parquet, JSON lines) is stored or refused with a ``LabError`` that names it, and a refusal stores nothing."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from lab.errors import LabError
from lab.experiments.outcomes import OutcomeStore
from lab.experiments.spec import ExperimentLibrary
from lab.library.versions import VariantLibrary
from tests.analysis.test_ingest_properties import outcome_file, write
from tests.conftest import REPO


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
