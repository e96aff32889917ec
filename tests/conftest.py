"""Shared fixtures: a tiny synthetic world for mechanism tests and the shipped observed data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.config import load_config


def toy_observed(
    n_provinces: int = 1, urban: float = 1.0, minority: float = 0.0, electricity: float = 1.0, population: int = 100_000
) -> SimpleNamespace:
    """A hand-made observed-data stand-in with ``n_provinces`` identical provinces."""
    codes = [f"{i + 1:02d}" for i in range(n_provinces)]
    table = pd.DataFrame(
        {
            "name_vi": [f"Tỉnh {c}" for c in codes],
            "region_gso6": "Red River Delta",
            "pop_census2019": population,
            "urban_share_2019": urban,
            "ethnic_minority_share": minority,
            "is_mountain_region_proxy": False,
            "n_island_districts": 0,
            "hh_electricity_2016": electricity,
            "dti_2022_rank": np.arange(1, n_provinces + 1),
        },
        index=pd.Index(codes, name="gso_code"),
    )
    papi = pd.DataFrame({"gso_code": codes, "year": 2018, "internet_access": 0.5})
    return SimpleNamespace(provinces=table, tables={"province_papi_egov": papi})


def flat(value: float) -> str:
    """A logistic trend that is constant at ``value``."""
    return f"{{lo: {value}, hi: {value}, mid_year: 2020, scale_years: 1, spread: 0}}"


def homogeneous_overrides(p: float = 0.02, q: float = 0.5, need_rate: float = 24.0) -> list[str]:
    """Everyone can go online, every procedure is fully online, covariates switched off."""
    full = flat(1.0)
    return [
        "population.scale=1",
        "population.age_shares=[0,1,0,0]",
        "population.device_factor_by_age=[1,1,1,1]",
        "drivers.mobile_urban=1",
        "drivers.mobile_rural=1",
        f"drivers.mobile_remote={full}",
        f"drivers.fixed_urban={full}",
        f"drivers.fixed_rural={full}",
        f"drivers.fixed_remote={full}",
        f"drivers.device_adult={full}",
        "drivers.device_factor_urban=1",
        "drivers.device_factor_rural=1",
        "drivers.device_factor_remote=1",
        f"drivers.supply_online={full}",
        f"drivers.supply_ministries={full}",
        f"drivers.supply_localities={full}",
        f"drivers.eid={flat(0.0)}",
        f"params.need_rate_per_year={need_rate}",
        f"params.p_innovation={p}",
        f"params.q_imitation={q}",
        "params.beta_quality=0",
        "params.beta_ease=0",
        "params.beta_trust=0",
        "params.beta_eid=0",
        "params.beta_ministry=0",
        "params.habit_use=1",
        "params.lapse_rate_per_year=0",
        "params.initial_awareness=1",
        "params.initial_adopter_share=0",
        "params.supply_volume_exponent=1",
        "params.backoffice_lo_ministries=1",
        "params.backoffice_hi_ministries=1",
        "params.backoffice_lo_localities=1",
        "params.backoffice_hi_localities=1",
        "timeline.start=2017-01",
        "timeline.end=2019-12",
    ]


@pytest.fixture(scope="session")
def observed():
    """The shipped observed data (seeds/)."""
    from sim.observed import load_observed

    return load_observed()


@pytest.fixture(scope="session")
def tiny_cfg():
    """Default config on the tiny population, one replicate."""
    return load_config(["population=tiny", "ensemble=single"])
