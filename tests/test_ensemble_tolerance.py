"""Monte-Carlo error of P(target met): the ensemble grows until it is below a tolerance."""

from __future__ import annotations

import numpy as np

from sim.config import load_config
from sim.ensemble import mc_halfwidth, run_ensemble

BASE = [
    "population=tiny",
    "timeline.start=2024-01",
    "timeline.end=2025-12",
    "ensemble.n_jobs=1",
    "params=default",
    "ensemble.n_draws=0",
]


def test_runs_are_added_until_the_half_width_is_below_the_tolerance(observed):
    grown = run_ensemble(load_config(BASE + ["ensemble.n_reps=2", "ensemble.p_tolerance=0.2"]), observed, False)
    n = len(grown.results)
    assert n > 2 and n % 2 == 0  # batches of n_reps
    assert mc_halfwidth(grown.targets(observed)) <= 0.2
    # one run fewer batch would not have reached it (the loop stops as soon as it can)
    smaller = run_ensemble(load_config(BASE + [f"ensemble.n_reps={n - 2}"]), observed, False)
    assert mc_halfwidth(smaller.targets(observed)) > 0.2
    # the grown ensemble is exactly the plain ensemble of the same size (same replicate streams)
    plain = run_ensemble(load_config(BASE + [f"ensemble.n_reps={n}"]), observed, False)
    a, b = grown.indicators(), plain.indicators()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert grown.cfg.ensemble.n_reps == n


def test_the_loop_counts_give_the_tables_half_width(observed):
    """The loop counts each run's met targets as it arrives; its half-width is the table's."""
    from sim.ensemble import EnsembleResult, _MetCounts

    cfg = load_config(BASE + ["ensemble.n_reps=6"])
    ens = run_ensemble(cfg, observed, False)
    counts = _MetCounts(observed)
    widths = []
    for k, result in enumerate(ens.results, start=1):
        counts.add([result])
        table = EnsembleResult(cfg, ens.results[:k]).targets(observed)
        widths.append(mc_halfwidth(table))
        assert counts.halfwidth() == widths[-1]
    assert len(set(widths)) > 1  # the half-width moved as runs came in


def test_posterior_batches_on_one_pool_match_the_serial_ensemble(observed):
    """Growing by posterior draws on two worker processes gives the serial ensemble of that size."""
    over = ["population=tiny", "timeline.start=2024-01", "timeline.end=2025-12", "ensemble.n_reps=1"]
    grown = run_ensemble(
        load_config(over + ["ensemble.n_draws=2", "ensemble.p_tolerance=0.3", "ensemble.n_jobs=2"]), observed, False
    )
    n = len(grown.results)
    assert n > 2 and grown.cfg.ensemble.n_draws == n
    plain = run_ensemble(load_config(over + [f"ensemble.n_draws={n}", "ensemble.n_jobs=1"]), observed, False)
    a, b = grown.indicators(), plain.indicators()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_posterior_batches_stop_at_the_cap(observed):
    """The last batch of draws is cut to fit ``ensemble.max_runs``, never run past it."""
    over = ["population=tiny", "timeline.start=2024-01", "timeline.end=2025-12", "ensemble.n_reps=1"]
    over += ["ensemble.n_draws=2", "ensemble.p_tolerance=0.0001", "ensemble.max_runs=5", "ensemble.n_jobs=1"]
    grown = run_ensemble(load_config(over), observed, False)
    assert len(grown.results) == 5 and grown.cfg.ensemble.n_draws == 5
