"""Mobile and fixed broadband build-out (remote, mountainous, border and island areas).

Effect path: closes share ``mobile_gap_closed`` of the distance between the remote stratum's mobile
coverage trend (``drivers.mobile_remote``) and its ceiling, and share ``fixed_gap_closed`` of the
distance between fixed-broadband availability and its ceiling in each stratum of ``strata``
(``drivers.fixed_<stratum>``), through logit shifts (``Province.shift``) recomputed every month.
Connectivity = mobile or fixed, never above electricity (a build-out does not reach households
without power: combine with the ``electricity`` lever). Urban and rural mobile coverage are constant
inputs near 100 % (``drivers.mobile_urban``, ``mobile_rural``) and are not moved.

Units: ``mobile_gap_closed``, ``fixed_gap_closed`` = share of the households not yet covered that
the build-out covers (0-1).

Cost (one-off): sites = newly covered people / people per village (one site per village,
ASSUMPTION: the last dead zones are single villages, 50 of the 88 powered ones had < 50
households), people per village = population / :data:`~sim.levers.common.VILLAGES`. No Vietnamese
cost per site is published (2,152 dead-zone villages were covered 2021-2022 mostly at the operators'
expense, ``dead_zone_villages_covered_2021_2022``), so comparator rows give the range:

* mobile, per site: low ASSUMPTION half of Indonesia's ``indonesia_bakti_cost_per_site`` (capital
  cost without its helicopter logistics), central ``indonesia_bakti_cost_per_site`` (2.62 bn IDR,
  ~0.18 m USD), high ``india_4g_cost_per_tower`` (1.6 crore INR, ~0.2 m USD, with 5 years of
  operation);
* fixed, per village passed: ``thailand_fibre_cost_per_village`` (0.4 m THB, ~12,000 USD), low and
  high from the 9-15 bn THB programme estimates in its definition (x 0.9 and x 1.525).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import Lever, LeverParams, _k
from sim.levers.quantities import VILLAGES, seed_cost, trend_at


@dataclass(kw_only=True)
class BroadbandParams(LeverParams):
    """Keys of a ``broadband`` lever (at least one of the two sizes should be above 0)."""

    mobile_gap_closed: float = _k(0.0, 0.0, 1.0, "share of remote households without mobile signal covered")
    fixed_gap_closed: float = _k(0.0, 0.0, 1.0, "share of households without fixed broadband passed")
    strata: list[str] = _k(["rural", "remote"], doc="strata of the fixed build-out: urban, rural, remote")


class Broadband(Lever):
    """Mobile sites and fibre to villages."""

    kind = "broadband"
    Params = BroadbandParams
    FIXED_RANGE = (9.0 / 10.0, 15.0 / 10.0)  # thailand_fibre_cost_per_village: 9-15 bn THB vs 10 bn

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        self.deliver_gap(model, "mobile_remote", frac * self.params.mobile_gap_closed)
        for s in self.params.strata:
            self.deliver_gap(model, f"fixed_{s}", frac * self.params.fixed_gap_closed)

    def newly_covered(self, cfg, observed) -> tuple[float, float]:
        """People newly covered by mobile signal and by fixed broadband at the start month."""
        facts = self.facts(cfg, observed)
        codes, ym = list(facts.index), self.params.start
        d = cfg.drivers
        s = trend_at(cfg, observed, "mobile_remote", ym, codes)
        spec = d.mobile_remote
        mobile = (facts["people"] * facts["w_remote"] * (spec.hi - spec.lo) * (1 - s)).sum()
        fixed = 0.0
        for stratum in self.params.strata:
            spec = getattr(d, f"fixed_{stratum}")
            s = trend_at(cfg, observed, f"fixed_{stratum}", ym, codes)
            fixed += (facts["people"] * facts[f"w_{stratum}"] * (spec.hi - spec.lo) * (1 - s)).sum()
        return mobile * self.params.mobile_gap_closed, fixed * self.params.fixed_gap_closed

    def cost_basis(self, cfg, observed):
        people_per_village = observed.provinces["pop_census2019"].sum() / VILLAGES
        mobile, fixed = self.newly_covered(cfg, observed)
        sites, villages = mobile / people_per_village, fixed / people_per_village
        site = seed_cost(observed, "indonesia_bakti_cost_per_site")
        mobile_unit = (0.5 * site, site, seed_cost(observed, "india_4g_cost_per_tower"))
        village = seed_cost(observed, "thailand_fibre_cost_per_village")
        fixed_unit = (village * self.FIXED_RANGE[0], village, village * self.FIXED_RANGE[1])
        total = sites + villages
        if total == 0:
            return 0.0, (0.0, 0.0, 0.0)
        # one quantity (sites + villages) at the quantity-weighted unit cost
        unit = tuple((sites * m + villages * f) / total for m, f in zip(mobile_unit, fixed_unit, strict=True))
        return total, unit
