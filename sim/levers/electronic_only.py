"""Mandatory electronic-only procedures (paper submission withdrawn for some procedures).

Effect path: adds ``share x utility_per_share`` to the adoption utility of the tiers in ``tiers``
(``Province.utility_shift``). It acts only where a procedure is offered online and the citizen has
access or assisted help: a citizen who cannot go online still files on paper (at the one-stop shop)
in the model.

Unit: ``share`` = share of the dossier volume offered online that becomes electronic-only (0-1).

Conversion: ASSUMPTION ``utility_per_share`` = 3.0, the same as ``params.beta_ministry``, the utility
advantage of ministry-tier procedures, many of which (business and professional users) are already
effectively online-only.

Cost (per year of effect): an assisted-submission point in every commune of the simulated targeted
provinces (communes: ~10,600 shared by population), scaled by ``share``. No Vietnamese figure.
ASSUMPTION: 60 m VND per commune per year (30-120 m: a part-time official's allowance and a kiosk
with a scanner).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import TIERS, Lever, LeverParams, _k, _req


@dataclass(kw_only=True)
class ElectronicOnlyParams(LeverParams):
    """Keys of an ``electronic_only`` lever."""

    share: float = _req(0.0, 1.0, "share of the online-offered dossier volume made electronic-only (0-1)")
    tiers: list[str] = _k(["ministries", "localities"], doc="tiers: ministries, localities")
    utility_per_share: float = _k(3.0, 0.0, 10.0, "utility gain when every offered procedure is electronic-only")


class ElectronicOnly(Lever):
    """Withdraw the paper channel for some procedures."""

    kind = "electronic_only"
    Params = ElectronicOnlyParams
    UNIT_VND = (30e6, 60e6, 120e6)  # ASSUMPTION, per commune per year

    def recurring(self) -> bool:
        return True

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        for tier in self.params.tiers:
            k = TIERS.index(tier)

            def add(p, d: float, k: int = k) -> None:
                p.utility_shift[k] += d

            self.deliver(
                model, f"utility:{k}", np.full(len(idx), frac * self.params.share * self.params.utility_per_share), add
            )

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        return facts["communes"].sum() * self.params.share, self.UNIT_VND
