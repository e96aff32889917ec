"""Electricity extension to unelectrified households (rural and remote strata by default).

Effect path: ``Province.electricity_gap_cut[stratum] = frac * gap_closed`` for the targeted strata;
the province's electricity coverage is ``1 - gap * (1 - cut)`` (gap = baseline unelectrified share,
GSO/VHLSS 2016 shrinking at ``drivers.electricity_gap_decay_per_year``), and connectivity can never
exceed electricity, so households that get power can also get broadband.

Unit: ``gap_closed`` = share of the remaining unelectrified households connected (0-1).

Cost: households connected = ``gap_closed`` x unelectrified households of the targeted strata in the
start month (people x stratum share x baseline gap / :data:`~sim.levers.common.PEOPLE_PER_HOUSEHOLD`),
one-off, x VND per household (seeds/lever_costs.csv):

* low: ``cost_per_household_evn_poor_districts_2014`` (16.5 m, EVN grid for Resolution 30a poor
  districts) + ``cost_per_household_in_house_wiring_2014`` (2.1 m) = 18.6 m VND;
* central: ``cost_per_household_programme_2016_2020`` (28.5 m, Decision 1740/QĐ-TTg envelope over
  its household target);
* high: ASSUMPTION twice the central value: the households still without power are the most
  scattered (148 of the 226 villages without mobile signal in 2022-Q3 had no grid power), and the
  ADB remote-communes project (comparator-like, ~3,390 USD per household with mini-hydro) shows remote
  costs can be far higher than the programme average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import STRATA, Lever, LeverParams, _k, _req
from sim.levers.quantities import seed_cost


@dataclass(kw_only=True)
class ElectricityParams(LeverParams):
    """Keys of an ``electricity`` lever."""

    gap_closed: float = _req(0.0, 1.0, "share of the remaining unelectrified households connected (0-1)")
    strata: list[str] = _k(["rural", "remote"], doc="strata reached: urban, rural, remote")


class Electricity(Lever):
    """Grid connection of unelectrified households."""

    kind = "electricity"
    Params = ElectricityParams
    HIGH_FACTOR = 2.0  # ASSUMPTION, see module docstring

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        for s in self.params.strata:
            k = STRATA.index(s)

            def add(p, d: float, k: int = k) -> None:
                p.electricity_gap_cut[k] += d

            self.deliver(model, f"cut:{s}", np.full(len(idx), frac * self.params.gap_closed), add)

    def cost_basis(self, cfg, observed):
        from sim.drivers import electricity_gaps

        facts = self.facts(cfg, observed)
        table = observed.provinces.loc[facts.index]
        weights = facts[["w_urban", "w_rural", "w_remote"]].to_numpy()
        year = self.start / 12.0 + 1.0 / 24.0
        d = cfg.drivers
        gaps = electricity_gaps(
            table["hh_electricity_2016"].to_numpy(float),
            weights,
            np.array([year]),
            d.electricity_gap_decay_per_year,
            d.electricity_gap_ratio_urban,
            d.electricity_gap_ratio_remote,
        )[0]
        cols = [STRATA.index(s) for s in self.params.strata]
        households = (facts["households"].to_numpy()[:, None] * weights[:, cols] * gaps[:, cols]).sum()
        low = seed_cost(observed, "cost_per_household_evn_poor_districts_2014") + seed_cost(
            observed, "cost_per_household_in_house_wiring_2014"
        )
        central = seed_cost(observed, "cost_per_household_programme_2016_2020")
        return households * self.params.gap_closed, (low, central, self.HIGH_FACTOR * central)
