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
