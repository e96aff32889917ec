"""Quantities that lever costs scale with: sourced unit costs, province facts and conversions.

Unit costs come from ``seeds/lever_costs.csv`` rows (named by their ``item``); comparator rows from
other countries are converted to VND through the USD equivalents the rows themselves quote.
Province facts (people, households, adults, villages and communes, stratum shares) are derived from
``seeds/provinces.csv`` with the labelled assumptions below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.errors import SimInputError
from sim.timeline import parse_ym

if TYPE_CHECKING:
    from sim.config import RunConfig
    from sim.observed import ObservedData

PEOPLE_PER_HOUSEHOLD = 3.6
"""ASSUMPTION: 3.6 persons per household, the national average of the 2019 Population and Housing
Census (GSO, completed results); seeds/ has no household table ("Gaps" in seeds/README.md). Used to
turn province population (``pop_census2019``) into households."""

VILLAGES = 226 / 0.0027
"""DERIVED: ~83,700 villages (thôn/bản), from 226 villages without mobile signal = 0.27 % of villages
(seeds/lever_costs.csv ``dead_zone_villages_remaining_2022_q3``), as in conf/drivers/default.yaml."""

COMMUNES = 10_600
"""ASSUMPTION: ~10,600 commune-level units before July 2025 (the same figure conf/drivers/default.yaml
uses for the community-team trend)."""

VND_PER_USD = 300e9 / 12.2e6
"""DERIVED: 24,590 VND per USD (2024) from seeds/lever_costs.csv ``viettel_4g_phone_giveaway_cost_per_device``
(300 bn VND = 12.2 m USD). Used only to convert comparator rows."""

USD_PER = {
    "INR": 0.2e6 / 1.6e7,  # DERIVED: india_4g_cost_per_tower, 1.6 crore INR ~ 0.2 m USD (2022)
    "IDR": 0.18e6 / 2.62e9,  # DERIVED: indonesia_bakti_cost_per_site, 2.62 bn IDR ~ 0.18 m USD (2021-22)
    "THB": 12_000 / 0.4e6,  # DERIVED: thailand_fibre_cost_per_village, 0.4 m THB ~ 12,000 USD (2017)
    "USD": 1.0,
}
"""USD per unit of each comparator currency, from the USD equivalents the rows themselves give."""

UNIT_FACTOR = {
    "billion VND": 1e9,
    "trillion VND": 1e12,
    "million VND per household": 1e6,
    "VND per household": 1.0,
    "VND per card (midpoint of 10,000-20,000)": 1.0,
    "VND per team per year (max)": 1.0,
    "VND per team per month": 1.0,
    "VND per member per month": 1.0,
    "billion VND per year (more than)": 1e9,
    "billion VND (6 months)": 1e9,
    "crore INR per tower": 1e7,
    "crore INR": 1e7,
    "billion IDR per BTS site": 1e9,
    "million THB per village": 1e6,
}
"""Multipliers from a ``lever_costs.csv`` unit to units of its currency."""


def seed_cost(observed: ObservedData, item: str, scope: str | None = None) -> float:
    """A ``seeds/lever_costs.csv`` row's value in VND (comparators converted through USD).

    Args:
        observed: the observed data (table ``lever_costs``).
        item: the row's ``item``; ``scope`` picks one row when an item repeats (e.g. a province).

    Raises:
        SimInputError: the row or its unit is missing (the seeds were changed).
    """
    rows = observed.tables["lever_costs"]
    rows = rows[rows["item"] == item]
    if scope is not None:
        rows = rows[rows["scope"].str.contains(scope, regex=False)]
    if len(rows) != 1:
        raise SimInputError(
            f"seeds/lever_costs.csv: item '{item}' ({scope or 'any scope'}) has {len(rows)} rows; needs 1"
        )
    row = rows.iloc[0]
    unit, currency = str(row["unit"]), str(row["currency"])
    if unit not in UNIT_FACTOR or (currency != "VND" and currency not in USD_PER):
        raise SimInputError(f"seeds/lever_costs.csv: item '{item}': unit '{unit}' {currency} is not convertible")
    value = float(row["value"]) * UNIT_FACTOR[unit]
    return value if currency == "VND" else value * USD_PER[currency] * VND_PER_USD


def province_facts(cfg: RunConfig, observed: ObservedData) -> pd.DataFrame:
    """Quantities that costs scale with, for the provinces the run simulates.

    Columns: ``people`` (2019 Census), ``households`` (people / :data:`PEOPLE_PER_HOUSEHOLD`),
    ``adults`` (people x (1 - ``population.age_shares[0]``)), ``units`` (villages + communes,
    national :data:`VILLAGES` + :data:`COMMUNES` shared by population: ASSUMPTION, remote provinces
    have smaller and more villages than this gives) and ``communes`` (the same for communes), and
    ``w_urban, w_rural, w_remote`` (stratum population shares, :func:`sim.geography.strata_shares`).
    """
    from sim.geography import strata_shares
    from sim.model import select_provinces

    table = select_provinces(observed.provinces, cfg.population.provinces)
    pc = cfg.population
    weights = strata_shares(table, pc.remote_share_of_minority, pc.remote_floor_mountain, pc.remote_share_island)
    people = table["pop_census2019"].to_numpy(float)
    national = observed.provinces["pop_census2019"].to_numpy(float).sum()
    out = pd.DataFrame(
        {
            "people": people,
            "households": people / PEOPLE_PER_HOUSEHOLD,
            "adults": people * (1.0 - pc.age_shares[0]),
            "units": (VILLAGES + COMMUNES) * people / national,
            "communes": COMMUNES * people / national,
            "w_urban": weights[:, 0],
            "w_rural": weights[:, 1],
            "w_remote": weights[:, 2],
        },
        index=table.index,
    )
    return out


def trend_at(cfg: RunConfig, observed: ObservedData, name: str, ym: str, codes: list[str]) -> np.ndarray:
    """Baseline position ``s`` (0-1 between ``lo`` and ``hi``) of trend ``name`` in month ``ym``."""
    from sim.drivers import Z_INDEX, province_indices

    z_all = province_indices(observed.provinces, observed.tables["province_papi_egov"])
    pos = observed.provinces.index.get_indexer(codes)
    spec = getattr(cfg.drivers, name)
    year = parse_ym(ym) / 12.0 + 1.0 / 24.0
    x = (year - spec.mid_year) / spec.scale_years + spec.spread * z_all[Z_INDEX[name]][pos]
    return 1.0 / (1.0 + np.exp(-x))
