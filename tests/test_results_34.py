"""Province results: the 34 post-2025 provinces through the crosswalk, stage shares, bottlenecks, and
target probabilities that agree with the replicate outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.behaviour.adoption import FULL, STAGES
from sim.results import (
    P34_PREFIX,
    RunResult,
    bottleneck_table,
    p34_groups,
    p_met_interval,
    repository_crosswalk,
    stack_indicators,
    summary_table,
    targets_table,
)


def synthetic_result(observed, replicate: int = 0, codes=None, n_months: int = 24) -> RunResult:
    """A replicate with random dossier counts whose provinces differ widely in size (so a ratio of
    sums and a mean of shares disagree)."""
    codes = list(codes if codes is not None else observed.provinces.index)
    rng = np.random.default_rng(100 + replicate)
    size = rng.integers(1, 200, len(codes))[None, :, None, None]
    dossiers = rng.poisson(size * rng.uniform(0.2, 3.0, (n_months, len(codes), 2, len(STAGES))))
    adults = rng.integers(1_000, 50_000, (len(codes), 3)).astype(float)
    users = rng.uniform(0, 1, (n_months, len(codes))) * adults.sum(1)
    return RunResult(
        "2024-01", "2025-12", codes, adults, 1.0, replicate, 0, dossiers, users, users * 0.8, users * 0.5, {}
    )


def test_crosswalk_gives_34_scopes_that_cannot_be_confused_with_old_codes(observed):
    groups = p34_groups(list(observed.provinces.index))
    assert len(groups) == 34
    assert {s.removeprefix(P34_PREFIX) for s in groups} == set(observed.provinces_2025.index)
    assert all(s.startswith("p34:") for s in groups)
    assert sum(len(v) for v in groups.values()) == 63  # each old province in exactly one new one
    assert repository_crosswalk() == dict(
        zip(observed.merger["old_gso_code"], observed.merger["new_code_2025"], strict=True)
    )


def test_new_province_share_is_a_ratio_of_summed_counts_not_a_mean_of_shares(observed):
    res = synthetic_result(observed)
    ind = res.indicators()
    merger = observed.merger
    checked = 0
    for new, olds in merger.groupby("new_code_2025")["old_gso_code"]:
        idx = [res.codes.index(c) for c in olds]
        local = res.dossiers[:, idx, 1]  # (T, members, 7)
        expected = local[..., FULL].sum(1) / local.sum((1, 2))
        np.testing.assert_allclose(ind[("share_dossiers_full_online", P34_PREFIX + new)], expected, rtol=1e-12)
        users = res.users_12m[:, idx].sum(1) / res.adults[idx].sum()
        np.testing.assert_allclose(ind[("share_citizens_using_ops", P34_PREFIX + new)], users, rtol=1e-12)
        if len(idx) > 1:
            mean_of_shares = np.mean([ind[("share_dossiers_full_online", c)] for c in olds], axis=0)
            assert np.max(np.abs(mean_of_shares - expected)) > 1e-3  # the data can tell the two apart
            checked += 1
    assert checked == 23  # 34 new provinces, 11 of them unchanged


def test_stage_shares_and_full_online_sum_to_one_for_every_scope(observed):
    ind = synthetic_result(observed).indicators()
    scopes = {s for (i, s) in ind if i == "share_dossiers_full_online_ytd"}
    assert len(scopes) == 3 + 63 + 34
    for scope in scopes:
        total = ind[("share_dossiers_full_online_ytd", scope)].copy()
        for stage in STAGES[1:]:
            total += ind[(f"share_dossiers_stage_{stage}_ytd", scope)]
        np.testing.assert_allclose(total, 1.0, rtol=1e-12)


def test_partly_simulated_new_province_is_left_out(observed):
    # Hồ Chí Minh City (new code 79) = old 79, 74 and 77; simulate only 79 and 74.
    res = synthetic_result(observed, codes=["01", "74", "79"])
    scopes = {s for (_, s) in res.indicators() if s.startswith(P34_PREFIX)}
    assert scopes == {"p34:01"}


def _stacked(observed, n_reps=12):
    return stack_indicators([synthetic_result(observed, r) for r in range(n_reps)])


def test_targets_have_rows_for_63_and_34_provinces_with_consistent_probabilities(observed):
    n_reps = 12
    stacked = _stacked(observed, n_reps)
    dates = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    tg = observed.targets
    loc = tg[(tg["scope"] == "localities") & tg["modelled"].astype(bool)].iloc[0]
    extra = [(loc.target_id, loc.indicator, c, loc.deadline, float(loc.threshold)) for c in observed.provinces.index]
    # a threshold near the synthetic shares (1/7 in expectation: 7 equally likely stages), so that
    # p_met takes values strictly between 0 and 1
    tg = tg.assign(threshold=np.where(tg["scope"] == "localities", 0.145, tg["threshold"]))
    extra = [(t, i, s, d, 0.145) for t, i, s, d, _ in extra]
    table = targets_table(stacked, dates, tg, "s", extra)
    loc_rows = table[table["target"] == loc.target_id]
    assert len(loc_rows) == 1 + 63 + 34
    assert list(loc_rows["scope"].iloc[-34:]) == sorted(P34_PREFIX + c for c in observed.provinces_2025.index)
    strictly_between = 0
    for r in table.itertuples():
        values = stacked[(r.indicator + "_ytd", r.scope)][:, dates.index(r.deadline)]
        k = int(np.sum(values >= r.threshold))
        assert r.p_met == pytest.approx(k / n_reps)
        lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k + 0.5, n_reps - k + 0.5)
        hi = 1.0 if k == n_reps else stats.beta.ppf(0.975, k + 0.5, n_reps - k + 0.5)
        assert (r.p_met_lo, r.p_met_hi) == pytest.approx((lo, hi))
        assert r.p_met_lo <= r.p_met <= r.p_met_hi
        strictly_between += 0 < k < n_reps
    assert strictly_between >= 10  # the check above exercised real intervals, not only 0 and 1


def test_jeffreys_interval_covers_the_true_probability():
    # Exact coverage (no simulation): sum over k of Binomial(k; n, p) * [lo_k <= p <= hi_k]. Known
    # behaviour of the Jeffreys interval (Brown, Cai & DasGupta 2001, Statistical Science 16:101):
    # mean coverage close to the nominal 95 % with dips near 88 % at some p for small n. Computed
    # here for n = 8, 20, 50: means 0.956, 0.949, 0.948 and minima 0.882, 0.896, 0.885; the bounds
    # below fail if the level, the Beta parameters or the 0/n end rules change.
    ps = np.linspace(0.02, 0.98, 97)
    for n in (8, 20, 50):
        iv = [p_met_interval(k, n) for k in range(n + 1)]
        cov = np.array([sum(stats.binom.pmf(k, n, p) for k, (lo, hi) in enumerate(iv) if lo <= p <= hi) for p in ps])
        assert 0.94 < cov.mean() < 0.965
        assert cov.min() > 0.87
    assert p_met_interval(0, 8)[0] == 0.0 and p_met_interval(8, 8)[1] == 1.0


def test_bottleneck_table_splits_the_gap_into_access_supply_backoffice_demand(observed):
    stacked = _stacked(observed, 4)
    dates = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    summary = summary_table(stacked, dates, "s")
    table = bottleneck_table(summary, "2025-12", 0.7)
    assert len(table) == 63 + 34
    assert list(table["scope"].iloc[:63]) == sorted(observed.provinces.index)
    parts = table[["full_online", "access", "supply", "backoffice", "demand"]].sum(axis=1)
    np.testing.assert_allclose(parts, 1.0, rtol=1e-9)
    np.testing.assert_allclose(table["gap_pp"], 100 * np.clip(0.7 - table["full_online"], 0, None))
    split = table[[f"gap_{g}_pp" for g in ("access", "supply", "backoffice", "demand")]].sum(axis=1)
    np.testing.assert_allclose(split, table["gap_pp"], rtol=1e-9, atol=1e-12)
    # access is exactly the no_access stage; supply is not_offered + not_full_process
    row = table[table["scope"] == "p34:79"].iloc[0]
    at = summary[(summary["date"] == "2025-12") & (summary["scope"] == "p34:79")].set_index("indicator")["mean"]
    assert row["access"] == pytest.approx(at["share_dossiers_stage_no_access_ytd"])
    expected_supply = at["share_dossiers_stage_not_offered_ytd"] + at["share_dossiers_stage_not_full_process_ytd"]
    assert row["supply"] == pytest.approx(expected_supply)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, observed):
    """A real tiny run (4 replicates to 2025-12) written to a folder, without charts."""
    import sim
    from sim.outputs import write_run_outputs

    cfg = sim.load_config(
        ["population=tiny", "ensemble.n_reps=4", "ensemble.n_draws=0", "ensemble.n_jobs=1", "timeline.end=2025-12"]
    )
    ens = sim.run(cfg, observed)
    path = tmp_path_factory.mktemp("run")
    write_run_outputs(ens, observed, path, figures=False)
    return path


def test_targets_csv_agrees_with_the_replicates_in_outcomes_npz(tiny_run):
    targets = pd.read_csv(tiny_run / "targets.csv", dtype={"scope": str})
    outcomes = np.load(tiny_run / "outcomes.npz")
    dates = list(outcomes["dates"])
    assert len(targets) == 4 + 63 + 34
    assert targets["scope"].str.startswith(P34_PREFIX).sum() == 34
    for r in targets.itertuples():
        values = outcomes[f"{r.indicator}_ytd|{r.scope}"][:, dates.index(r.deadline)]
        k, n = int(np.sum(values >= r.threshold)), len(values)
        assert r.p_met == pytest.approx(k / n)
        assert (r.p_met_lo, r.p_met_hi) == pytest.approx(p_met_interval(k, n), abs=1e-6)
    bottlenecks = pd.read_csv(tiny_run / "bottlenecks.csv", dtype={"scope": str})
    assert len(bottlenecks) == 63 + 34 and bottlenecks["date"].eq("2025-12").all()
