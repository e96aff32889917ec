"""Fee incentives: lower fees for dossiers submitted online.

Effect path: adds ``fee_cut x utility_per_full_cut`` to the adoption utility of the tiers in
``tiers`` (``Province.utility_shift``). Provincial examples in seeds/lever_costs.csv:
Hồ Chí Minh City halved online fees in 2021 (``hcmc_online_fee_cut_2021``), Hải Dương charges 50 %
(``haiduong_online_fee_rate_2023``), Huế 60 % (``hue_online_fee_rate_2023``).

Unit: ``fee_cut`` = share of the fee waived for online submission (0-1; 0.5 = half price).

Conversion: ASSUMPTION ``utility_per_full_cut`` = 0.5: a full waiver is worth somewhat less than
holding an e-ID (``params.beta_eid`` = 0.7); the fees concerned are small next to the time a
procedure takes.

Cost (per year of effect): revenue foregone = ``fee_cut`` x fee revenue per person x people of the
simulated targeted provinces, per tier. Central: Hà Nội's fees collected through online services in
2022 (``hanoi_online_fee_revenue_2022``, 36.5 bn VND) / its population (2019 Census); low
ASSUMPTION half of that (Hà Nội's fee base per person is among the largest); high: the national
fee cuts of H2 2023 (``mof_fee_cuts_h2_2023_value``, 700 bn VND in 6 months, all channels) per person
and year. Fee revenue grows with online use; the central value holds 2022's volume fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import TIERS, Lever, LeverParams, _k, _req
from sim.levers.quantities import seed_cost


@dataclass(kw_only=True)
class FeesParams(LeverParams):
    """Keys of a ``fees`` lever."""

    fee_cut: float = _req(0.0, 1.0, "share of the fee waived for online submission (0-1)")
    tiers: list[str] = _k(["localities"], doc="tiers: ministries, localities")
    utility_per_full_cut: float = _k(0.5, 0.0, 5.0, "utility gain of a full fee waiver (ASSUMPTION)")


class Fees(Lever):
    """Cheaper online submission."""

    kind = "fees"
    Params = FeesParams

    def recurring(self) -> bool:
        return True

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        for tier in self.params.tiers:
            k = TIERS.index(tier)

            def add(p, d: float, k: int = k) -> None:
                p.utility_shift[k] += d

            self.deliver(
                model,
                f"utility:{k}",
                np.full(len(idx), frac * self.params.fee_cut * self.params.utility_per_full_cut),
                add,
            )

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        people = observed.provinces["pop_census2019"]
        central = seed_cost(observed, "hanoi_online_fee_revenue_2022") / float(people.loc["01"])
        high = 2 * seed_cost(observed, "mof_fee_cuts_h2_2023_value") / float(people.sum())
        qty = facts["people"].sum() * self.params.fee_cut * len(self.params.tiers)
        return qty, (0.5 * central, central, high)
