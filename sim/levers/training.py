"""Training officials for digital processing of dossiers (the seeds' 10,000-officials target).

Effect path: closes share ``officials / pool`` of the distance between the share of dossier-handling
officials trained (``drivers.officials_trained``) and its ceiling, in every targeted province,
through monthly logit shifts; trained officials raise back-office capacity and so
P(dossier completed fully online | submitted online).

Unit: ``officials`` = officials trained beyond the trend, shared among the targeted provinces (all 63
when a run simulates only some) by population. seeds/targets.csv ``officials_trained_dx_2022``:
10,000 by end-2022; about 1,000 trained in 2022-Q1 (``officials_trained_dx``).

Conversion: ASSUMPTION: the pool of officials who handle administrative-procedure dossiers is
:data:`POOL` = 100,000 (about 5 one-stop-shop and specialist officials in each of ~10,600 communes,
~30 in each of ~700 districts, ~250 in each of 63 provinces, rounded; no published count in seeds/),
shared among provinces by population.

Cost (one-off) per official trained: no Vietnamese figure (the MIC 2022 plan publishes none). Low:
India's online Mission Karmayogi, ``india_mission_karmayogi_budget`` (510.86 crore INR) / 4.6 m
employees (its scope) ~ 1,110 INR ~ 0.34 m VND; central ASSUMPTION 3 m VND (a 3-5 day in-person
course with trainer, materials, per diem and travel for commune officials, like Nghệ An's in-person
classes of ~100 officials); high ASSUMPTION 6 m VND.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import Lever, LeverParams, _req
from sim.levers.quantities import seed_cost

POOL = 100_000
"""ASSUMPTION: officials handling administrative-procedure dossiers nationwide (see module docstring)."""


@dataclass(kw_only=True)
class TrainingParams(LeverParams):
    """Keys of a ``training`` lever."""

    officials: float = _req(0.0, POOL, f"officials trained beyond the trend (0-{POOL:,}), shared by population")


class Training(Lever):
    """Train dossier-handling officials."""

    kind = "training"
    Params = TrainingParams
    CENTRAL_VND, HIGH_VND = 3e6, 6e6  # ASSUMPTION, see module docstring
    KARMAYOGI_EMPLOYEES = 4.6e6  # india_mission_karmayogi_budget scope: ~4.6 million employees

    def gap(self) -> float:
        """Share of the untrained officials of each targeted province trained at full effect."""
        if self.target_pop_share == 0.0:
            return 0.0
        return min(self.params.officials / (POOL * self.target_pop_share), 1.0)

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        self.deliver_gap(model, "officials_trained", frac * self.gap())

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        national = observed.provinces["pop_census2019"].sum()
        simulated_share = facts["people"].sum() / national / self.target_pop_share if self.target_pop_share else 0.0
        officials = self.params.officials * simulated_share
        low = seed_cost(observed, "india_mission_karmayogi_budget") / self.KARMAYOGI_EMPLOYEES
        return officials, (low, self.CENTRAL_VND, self.HIGH_VND)
