"""Same config and seed give identical numbers, serial or parallel; seeds matter."""

from __future__ import annotations

import numpy as np
import pandas as pd

import sim


def test_same_seed_same_numbers_serial_or_parallel(observed):
    base = ["population=tiny", "ensemble.n_reps=1", "ensemble.n_draws=2", "timeline.end=2021-12"]
    serial = sim.run(base + ["ensemble.n_jobs=1"], observed).summary()
    again = sim.run(base + ["ensemble.n_jobs=1"], observed).summary()
    parallel = sim.run(base + ["ensemble.n_jobs=2"], observed).summary()
    pd.testing.assert_frame_equal(serial, again)
    pd.testing.assert_frame_equal(serial, parallel)


def test_leaving_out_the_province_state_changes_no_number(observed):
    """The command line runs without each run's province state by month (no output uses it; it is
    two thirds of a run's tables): the same indicators and tables, serial or parallel, and the state
    still comes by default from the Python API."""
    from sim.results import STATE_VARS

    base = ["population=tiny", "ensemble.n_reps=2", "ensemble.n_draws=0", "timeline.end=2019-12"]
    kept = sim.run(base + ["ensemble.n_jobs=1"], observed)
    assert set(kept.results[0].state) == set(STATE_VARS)
    assert kept.results[0].state["awareness"].shape == (36, 63, 3)
    for jobs in (1, 2):
        lean = sim.run(base + [f"ensemble.n_jobs={jobs}"], observed, keep_state=False)
        assert [r.state for r in lean.results] == [{}, {}]
        for key, values in kept.indicators().items():
            assert np.array_equal(lean.indicators()[key], values, equal_nan=True), key
        pd.testing.assert_frame_equal(lean.targets(observed), kept.targets(observed))


def test_different_seed_different_numbers(observed):
    base = ["population=tiny", "ensemble=single", "timeline.end=2021-12"]
    a = sim.run(base + ["rng_seed=1"], observed).indicators()
    b = sim.run(base + ["rng_seed=2"], observed).indicators()
    key = ("share_citizens_using_ops", "national")
    assert not np.array_equal(a[key], b[key])


def test_python_api_returns_arrays_and_frames(observed):
    res = sim.run(
        ["population=tiny", "ensemble.n_reps=2", "ensemble.n_draws=0", "ensemble.n_jobs=1", "timeline.end=2020-12"],
        observed,
    )
    arrays = res.indicators()
    arr = arrays[("share_dossiers_full_online", "localities")]
    assert arr.shape == (2, 48)
    assert res.dates[0] == "2017-01" and res.dates[-1] == "2020-12"
    frame = res.summary()
    assert len(frame) == len(arrays) * 48
    assert set(res.targets(observed).columns) >= {"p_met", "p_met_lo", "p_met_hi"}


def test_a_province_subset_runs_alone(observed):
    overrides = ['population.provinces=["02","04"]', "population.scale=200", "ensemble=single", "timeline.end=2019-12"]
    res = sim.run(overrides, observed)
    assert res.results[0].codes == ["02", "04"]
    people = observed.provinces.loc[["02", "04"], "pop_census2019"].sum()
    assert abs(res.results[0].adults.sum() * 200 / people - (1 - 0.243)) < 0.01  # adults at scale 200
    assert ("share_dossiers_full_online", "02") in res.indicators()
    assert ("share_dossiers_full_online", "01") not in res.indicators()
