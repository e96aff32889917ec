"""Unit tests with exact values on hand-made inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.config import Logistic
from sim.drivers import electricity, logistic, standardize
from sim.errors import SimInputError
from sim.geography import crosswalk_matrix, strata_shares
from sim.manifest import RunFolder, atomic_write, read_status
from sim.population import split_ages
from sim.reporting.labels import integer, label, percent
from sim.results import _ytd, p_met_interval, targets_table


def test_logistic_midpoint_limits_and_shift():
    spec = Logistic(lo=0.1, hi=0.9, mid_year=2020.0, scale_years=2.0, spread=0.5)
    assert logistic(spec, 2020.0) == pytest.approx(0.5)
    assert logistic(spec, 1900.0) == pytest.approx(0.1)
    assert logistic(spec, 2200.0) == pytest.approx(0.9)
    assert logistic(spec, 2020.0, z=2.0) == pytest.approx(0.1 + 0.8 / (1 + np.exp(-1.0)))
    assert logistic(spec, 2020.0, shift=-1.0) == pytest.approx(logistic(spec, 2018.0))


def test_electricity_splits_the_gap_and_keeps_the_province_average():
    weights = np.array([[0.5, 0.3, 0.2]])
    cov = electricity(np.array([0.9]), weights, 2016.5, 0.31, 0.1, 5.0)
    assert (weights @ (1 - cov[0])) == pytest.approx(0.1)
    gap = 1 - cov[0]
    assert gap[0] / gap[1] == pytest.approx(0.1) and gap[2] / gap[1] == pytest.approx(5.0)
    later = electricity(np.array([0.9]), weights, 2019.5, 0.31, 0.1, 5.0)
    assert (weights @ (1 - later[0])) == pytest.approx(0.1 * np.exp(-0.93))
    cut = electricity(np.array([0.9]), weights, 2016.5, 0.31, 0.1, 5.0, extra_gap_cut=1.0)
    assert np.allclose(cut[0, 1:], 1.0)


def test_standardize_handles_missing_values():
    z = standardize(np.array([1.0, 2.0, 3.0, np.nan]))
    assert z[3] == 0.0 and z[1] == pytest.approx(0.0) and z[2] == pytest.approx(1.224744871)


def test_strata_shares_carve_remote_out_of_rural():
    table = pd.DataFrame(
        {
            "urban_share_2019": [0.4, 0.9],
            "ethnic_minority_share": [0.6, 0.5],
            "is_mountain_region_proxy": [True, False],
            "n_island_districts": [0, 1],
        }
    )
    w = strata_shares(table, 0.5, 0.05, 0.02)
    np.testing.assert_allclose(w[0], [0.4, 0.25, 0.35])
    np.testing.assert_allclose(w[1], [0.9, 0.0, 0.1])  # capped at the rural share


def test_split_ages_keeps_totals():
    sizes = np.array([[10, 7, 0], [3, 1, 1]])
    out = split_ages(sizes, np.array([0.243, 0.31, 0.33, 0.117]))
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.sum(axis=2), sizes)
    np.testing.assert_array_equal(out[0, 0], [3, 3, 3, 1])  # 2.43, 3.1, 3.3, 1.17: the 0.43 remainder wins


def test_crosswalk_matrix():
    merger = pd.DataFrame({"old_gso_code": ["01", "02", "04"], "new_code_2025": ["01", "08", "08"]})
    new, m = crosswalk_matrix(["01", "02", "04"], merger)
    assert new == ["01", "08"]
    np.testing.assert_array_equal(m, [[1, 0, 0], [0, 1, 1]])


def test_year_to_date_restarts_each_january():
    x = np.arange(1, 25, dtype=float)
    year = np.repeat([2017, 2018], 12)
    ytd = _ytd(x, year)
    assert ytd[11] == sum(range(1, 13)) and ytd[12] == 13 and ytd[23] == sum(range(13, 25))


def test_jeffreys_interval():
    lo, hi = p_met_interval(0, 10)
    assert lo == 0.0 and 0.1 < hi < 0.3
    lo, hi = p_met_interval(10, 10)
    assert hi == 1.0 and 0.7 < lo < 0.9
    lo, hi = p_met_interval(5, 10)
    assert lo < 0.5 < hi and lo == pytest.approx(1 - hi)


def test_targets_table_counts_replicates_at_the_deadline():
    dates = ["2025-11", "2025-12"]
    stacked = {
        ("share_dossiers_full_online_ytd", "localities"): np.array([[0.1, 0.69], [0.1, 0.70], [0.1, 0.8], [0.1, 0.2]])
    }
    targets = pd.DataFrame(
        {
            "target_id": ["t"],
            "indicator": ["share_dossiers_full_online"],
            "scope": ["localities"],
            "deadline": ["2025-12"],
            "threshold": [0.70],
            "modelled": [True],
        }
    )
    out = targets_table(stacked, dates, targets, "s")
    assert out.loc[0, "p_met"] == 0.5 and out.loc[0, "p_met_lo"] < 0.5 < out.loc[0, "p_met_hi"]


def test_labels_and_number_formats():
    assert percent(0.175, "vi", 1) == "17,5 %" and percent(0.175, "en", 1) == "17.5 %"
    assert integer(1234567, "vi") == "1.234.567" and integer(1234567, "en") == "1,234,567"
    assert "Địa phương" in label("localities", "vi")


def test_run_folder_status_and_no_overwrite(tmp_path):
    folder = RunFolder(tmp_path / "run")
    assert read_status(tmp_path / "run") == "running"
    folder.finish("ok")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["wall_time_s"] >= 0 and "git_commit" in manifest
    with pytest.raises(SimInputError, match="never overwritten"):
        RunFolder(tmp_path / "run")


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write(tmp_path / "a.txt", "hello")
    atomic_write(tmp_path / "a.txt", b"bytes")
    assert (tmp_path / "a.txt").read_bytes() == b"bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_nan_quantiles_match_numpy():
    from sim.results import nan_quantiles

    rng = np.random.default_rng(3)
    arr = rng.random((5, 7, 11))
    arr[0, :3, 2] = np.nan
    arr[1, :, 4] = np.nan  # a column with no value
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    got = nan_quantiles(arr, qs, axis=1)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        want = np.nanquantile(arr, qs, axis=1)
    np.testing.assert_allclose(got, want, equal_nan=True)
