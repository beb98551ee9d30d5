"""Published reference values (../shared/reference) and statsmodels / scipy computed here."""


import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analysis.bayesian import gaussian_lift
from analysis.frequentist import adjust_p_values, compare, omnibus_chi2, srm_test, wilson_interval
from analysis.power import n_per_arm, power_plan
from analysis.statistics import ProportionStatistic as P
from tests.conftest import shared_reference


def case(source_start: str) -> dict:
    """A published case from shared/reference (the test skips, saying why, when the folder is missing)."""
    cases = shared_reference("proportions_cases.json")["cases"]
    return next(c for c in cases if c["source"].startswith(source_start))


def test_statsmodels_published_ztest():
    c = case("statsmodels")
    (k1, k2), (n1, n2) = c["clicks"], c["impressions"]
    result = compare(control=P(n2, k2), treatment=P(n1, k1))
    assert result.z == pytest.approx(c["z"], rel=1e-12)
    assert result.p_value == pytest.approx(c["p_value"], rel=1e-12)


def test_r_power_prop_test():
    c = case("R power.prop.test")
    assert n_per_arm(c["p1"], c["p2"], c["alpha"], c["power"]) == pytest.approx(c["n_per_arm"], abs=0.05)
    assert power_plan(c["p1"], mde_abs=c["p2"] - c["p1"], alpha=c["alpha"], power=c["power"]).n_per_arm == 77


def test_growthbook_srm():
    c = case("GrowthBook back-end")
    assert srm_test(c["users"], c["weights"]).p_value == pytest.approx(c["p_value"], abs=1e-9)


def test_growthbook_gaussian_lift():
    c = case("GrowthBook packages/stats")
    (kc, kt), (nc, nt) = c["clicks"], c["impressions"]
    g = gaussian_lift(P(nc, kc), P(nt, kt))
    assert g.lift == pytest.approx(c["lift"], abs=1e-5)
    assert g.ci == pytest.approx(tuple(c["ci"]), abs=1e-5)
    assert g.chance_to_win == pytest.approx(c["chance_to_win"], abs=1e-5)


@pytest.mark.parametrize("k1, n1, k2, n2", [(230, 1000, 310, 1000), (1, 50, 9, 61), (4000, 20000, 4150, 20500)])
def test_ztest_equals_statsmodels(k1, n1, k2, n2):
    z, p = proportions_ztest([k2, k1], [n2, n1])
    r = compare(control=P(n1, k1), treatment=P(n2, k2))
    assert (r.z, r.p_value) == (pytest.approx(z, rel=1e-10), pytest.approx(p, rel=1e-10))


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (230, 1000), (7, 123456)])
def test_wilson_equals_statsmodels(k, n):
    assert wilson_interval(k, n) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)


def test_omnibus_equals_scipy_without_correction():
    counts = [(230, 1000), (310, 1000), (380, 1000)]
    table = [[k, n - k] for k, n in counts]
    chi2, p, df, _ = stats.chi2_contingency(table, correction=False)
    r = omnibus_chi2([P(n, k) for k, n in counts])
    assert (r.chi2, r.p_value, r.df) == (pytest.approx(chi2), pytest.approx(p), df)


def test_srm_equals_scipy_chisquare():
    obs, w = [5100, 4900, 10400], [0.25, 0.25, 0.5]
    chi2, p = stats.chisquare(obs, np.array(w) * sum(obs))
    r = srm_test(obs, w)
    assert (r.chi2, r.p_value) == (pytest.approx(chi2), pytest.approx(p))


@pytest.mark.parametrize("method, sm", [("holm", "holm"), ("bh", "fdr_bh")])
def test_corrections_equal_statsmodels(method, sm):
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.uniform(0, 0.2, size=rng.integers(1, 8))
        assert adjust_p_values(p, method) == pytest.approx(list(multipletests(p, method=sm)[1]), abs=1e-12)
