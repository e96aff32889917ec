"""Local IT budget share (from ~0.3 % towards the 1 % MIC proposed in 2020).

Effect path: sets ``Province.it_budget_share`` (share of the local budget spent on IT) from the
baseline ``drivers.it_budget_share`` to ``share`` over the ramp. Above the baseline the province
shifts the logits of local fully-online service supply (``supply_localities``: the budget pays for
the provincial one-stop information systems) and of interoperability (back-office systems) by
:data:`sim.provinces.IT_BUDGET_LOGIT_PER_DOUBLING` per doubling (ASSUMPTION, see there).

Unit: ``share`` = IT spending / local budget (0-1, e.g. 0.01 for 1 %; seeds/lever_costs.csv
``local_it_share_of_budget_2020`` 0.3 %, ``local_it_share_proposed`` 1 %).

Cost (per year of effect): ``(share - baseline)`` x local budget. Local budgets: the 2023 local
spending envelope ``local_spending_envelope_2023_approx`` (1,193,381 bn VND = local revenue + central
transfers) shared among provinces by population (ASSUMPTION: the two biggest cities spend more per
head, e.g. Hà Nội had 11.8 % of 2015 planned provincial spending with 8.4 % of the people, so this
under-costs them and over-costs the rest). Low = central (the envelope is a plan figure); high adds
the 30 trn VND of local borrowing and carry-overs the row's definition says the envelope leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import Lever, LeverParams, _req
from sim.levers.quantities import seed_cost


@dataclass(kw_only=True)
class ItBudgetParams(LeverParams):
    """Keys of an ``it_budget`` lever."""

    share: float = _req(0.0, 0.2, "IT spending as a share of the local budget (0-0.2, e.g. 0.01 = 1 %)")


class ItBudget(Lever):
    """Raise the share of local budgets spent on IT."""

    kind = "it_budget"
    Params = ItBudgetParams
    ENVELOPE_EXTRA_VND = 30_000e9  # local_spending_envelope_2023_approx: excludes ~10-30 trn VND

    def recurring(self) -> bool:
        return True

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        extra = max(self.params.share - self.base_it_budget, 0.0)

        def add(p, d: float) -> None:
            p.it_budget_share += d

        self.deliver(model, "it_budget_share", np.full(len(idx), frac * extra), add)

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        envelope = seed_cost(observed, "local_spending_envelope_2023_approx")
        share_of_people = facts["people"].sum() / observed.provinces["pop_census2019"].sum()
        extra = max(self.params.share - cfg.drivers.it_budget_share, 0.0)
        budget = envelope * share_of_people
        high = (envelope + self.ENVELOPE_EXTRA_VND) / envelope
        return extra * budget, (1.0, 1.0, high)
