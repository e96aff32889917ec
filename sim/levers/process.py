"""Process re-engineering of administrative procedures (MIC framework for online public services,
31/8/2024: "tái cấu trúc quy trình, thành phần hồ sơ").

Effect path: closes share ``gap_closed`` of the distance between the share of procedures offered
fully online (``drivers.supply_<tier>``) and its ceiling for each tier in ``tiers``, and share
``quality_gap_closed`` of the distance between usability (``drivers.quality``) and its ceiling
(fewer dossier components, simpler forms), through monthly logit shifts (``Province.shift``).

Units: share of the procedures not yet offered fully online that are re-engineered to be (0-1); share
of the usability gap closed (0-1).

Cost (one-off): procedures touched = procedures of the tier x ``max(gap_closed x (1 - offered share
at start), quality_gap_closed)``; procedures per tier = (4,400 online services = 70 % of all
procedures in 2024-08, seeds/observations.csv ``npsp_services`` and ``share_procedures_on_npsp``)
/ 2 (ASSUMPTION: half ministry, half local procedures). No Vietnamese cost figure exists. ASSUMPTION:
a ministry procedure costs 500 m VND (200 m-1.5 bn: legal review, new dossier components, workflow
and system integration), done once for the country (counted in full when any targeted province is
simulated); a local procedure costs 20 m VND (10-60 m) per province to configure in its one-stop
information system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import Lever, LeverParams, _k, _req
from sim.levers.quantities import trend_at


@dataclass(kw_only=True)
class ProcessParams(LeverParams):
    """Keys of a ``process`` lever."""

    gap_closed: float = _req(0.0, 1.0, "share of procedures not yet fully online that are re-engineered (0-1)")
    quality_gap_closed: float = _k(0.0, 0.0, 1.0, "share of the usability gap closed (0-1)")
    tiers: list[str] = _k(["ministries", "localities"], doc="tiers: ministries, localities")


class Process(Lever):
    """Re-engineer procedures so they can be done fully online, and simplify them."""

    kind = "process"
    Params = ProcessParams
    UNIT_VND = {"ministries": (200e6, 500e6, 1.5e9), "localities": (10e6, 20e6, 60e6)}  # ASSUMPTION

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        for tier in self.params.tiers:
            self.deliver_gap(model, f"supply_{tier}", frac * self.params.gap_closed)
        self.deliver_gap(model, "quality", frac * self.params.quality_gap_closed)

    def procedures_per_tier(self, observed) -> float:
        """Administrative procedures per tier (see module docstring)."""
        obs = observed.observations
        services = float(obs[(obs.indicator == "npsp_services") & (obs.period_end == "2024-08")]["value"].iloc[0])
        share = float(obs[obs.indicator == "share_procedures_on_npsp"]["share"].iloc[0])
        return services / share / 2.0

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        if facts.empty:
            return 0.0, (0.0, 0.0, 0.0)
        n = self.procedures_per_tier(observed)
        total = np.zeros(3)
        for tier in self.params.tiers:
            s = trend_at(cfg, observed, f"supply_{tier}", self.params.start, list(facts.index))
            spec = getattr(cfg.drivers, f"supply_{tier}")
            offered = spec.lo + (spec.hi - spec.lo) * s
            touched = np.maximum(self.params.gap_closed * (1.0 - offered), self.params.quality_gap_closed) * n
            count = touched.mean() if tier == "ministries" else touched.sum()
            total += count * np.array(self.UNIT_VND[tier])
        return 1.0, tuple(total)
