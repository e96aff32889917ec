"""Awareness campaigns about online public services.

Effect path: adds ``-ln(1 - reach_per_year)`` x frac to ``Province.shift["awareness"]``, a yearly
rate added to the awareness hazard of every stratum (``A <- A + (1 - A)(1 - exp(-rate / 12))``), so
that on its own the campaign makes share ``reach_per_year`` of the still-unaware adults aware each
year.

Unit: ``reach_per_year`` = share of unaware adults the campaign reaches per year (0-0.99).

Cost (per year of effect): adults of the simulated targeted provinces x ``reach_per_year`` x VND per
adult reached (an upper bound on people reached: it counts every adult, aware or not). No Vietnamese
figure. ASSUMPTION: central 10,000 VND per adult reached (local media, commune loudspeakers,
leaflets and team visits), low 3,000, high 30,000; the comparator India PMGDISHA
(``india_pmgdisha_cost_per_trainee``, 391.9 INR ~ 120,000 VND) buys a 20-hour course, far more than
awareness, and bounds it from above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.levers.common import Lever, LeverParams, _req


@dataclass(kw_only=True)
class AwarenessParams(LeverParams):
    """Keys of an ``awareness`` lever."""

    reach_per_year: float = _req(0.0, 0.99, "share of unaware adults made aware per year (0-0.99)")


class Awareness(Lever):
    """Information campaigns."""

    kind = "awareness"
    Params = AwarenessParams
    UNIT_VND = (3_000.0, 10_000.0, 30_000.0)  # ASSUMPTION, see module docstring

    def recurring(self) -> bool:
        return True

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        rate = -math.log1p(-self.params.reach_per_year)
        self.deliver_shift(model, "awareness", np.full(len(idx), frac * rate))

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        return facts["adults"].sum() * self.params.reach_per_year, self.UNIT_VND
