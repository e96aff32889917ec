"""The fitted trends in conf/drivers/default.yaml reproduce the observations they were fitted to.

Each check reads the anchor figures from seeds/observations.csv, so a change to either the data or
the config that breaks the fit fails here. Tolerances are the fit residuals seen when the values were
chosen, rounded up (a logistic cannot pass exactly through three or more points).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import load_config
from sim.drivers import electricity, logistic
from sim.geography import strata_shares


@pytest.fixture(scope="module")
def drivers():
    return load_config().drivers


def mid_year(row) -> float:
    """Decimal mid-point of an observation's period."""
    start = int(row.period_start[:4]) + (int(row.period_start[5:]) - 1) / 12
    end = int(row.period_end[:4]) + int(row.period_end[5:]) / 12
    return (start + end) / 2


def series(observed, indicator, scope="national", series=None):
    rows = observed.observation_series(indicator, scope)
    return rows if series is None else rows[rows.series == series]


def test_online_supply_follows_level34_shares(observed, drivers):
    for r in series(observed, "share_services_level34").itertuples():
        assert abs(logistic(drivers.supply_online, mid_year(r)) - r.share) < 0.09, r


def test_fully_online_supply_matches_2024_by_tier(observed, drivers):
    for scope, spec in (("ministries", drivers.supply_ministries), ("localities", drivers.supply_localities)):
        (r,) = series(observed, "share_procedures_offered_full_online", scope).itertuples()
        assert abs(logistic(spec, mid_year(r)) - r.share) < 0.03, scope


def test_devices_follow_internet_users(observed, drivers):
    rows = series(observed, "internet_users", series="itu")
    rows = rows[rows.period_start >= "2017-01"]
    assert len(rows) >= 6
    for r in rows.itertuples():
        assert abs(logistic(drivers.device_adult, mid_year(r)) - r.share) < 0.05, r


def test_remote_mobile_coverage_follows_dead_zones(observed, drivers):
    # coverage of the 20,176 extremely difficult villages (Decision 582/QĐ-TTg) = 1 - dead zones / 20,176
    for r in series(observed, "mobile_dead_zone_villages").itertuples():
        want = 1 - r.value / 20_176
        assert abs(logistic(drivers.mobile_remote, mid_year(r)) - want) < 0.01, r


def test_outreach_follows_community_teams(observed, drivers):
    for r in series(observed, "community_digital_teams").itertuples():
        assert abs(logistic(drivers.assisted, mid_year(r)) - r.value / 94_300) < 0.01, r


def test_eid_matches_the_2022_activations(observed, drivers):
    (r,) = series(observed, "vneid_accounts_activated").itertuples()
    adults = observed.provinces["pop_census2019"].sum() * (1 - 0.243)
    assert abs(logistic(drivers.eid, mid_year(r)) - r.value / adults) < 0.005


def test_national_electricity_reaches_the_2019_level(observed, drivers):
    table = observed.provinces
    weights = strata_shares(table, 0.5, 0.05, 0.02)
    cov = electricity(
        table["hh_electricity_2016"].to_numpy(float),
        weights,
        2019.5,
        drivers.electricity_gap_decay_per_year,
        drivers.electricity_gap_ratio_urban,
        drivers.electricity_gap_ratio_remote,
    )
    people = table["pop_census2019"].to_numpy(float)
    national = float(np.sum(people[:, None] * weights * cov) / people.sum())
    (r,) = series(observed, "share_households_electricity", series="moit").itertuples()
    assert abs(national - r.share) < 0.003
