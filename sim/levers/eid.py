"""Electronic identification (VNeID) rollout.

Effect path: closes share ``gap_closed`` of the distance between the share of adults with an
activated e-ID (``drivers.eid``) and its ceiling, through monthly logit shifts; a citizen holding an
e-ID gains ``params.beta_eid`` in adoption utility (login and pre-identified dossiers).

Unit: ``gap_closed`` = share of the adults who would not yet have an activated e-ID who activate one
(0-1).

Cost (one-off) per activation, for the adults newly activated at the start month (adults x (hi - lo)
x (1 - trend position)): accounts are free for citizens (``vneid_account_fee_citizen``), so the cost
is the state's. Low ``chip_card_extra_unit_cost`` (15,000 VND, the chip over a barcode card); central
the chip ID card project ``chip_citizen_id_card_project`` (2,696 bn VND) / its 50 million cards
(seeds/targets.csv ``chip_id_cards_2021``) ~ 53,900 VND; high ASSUMPTION twice that (level-2
registration needs police staff time that the project envelope does not include).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import Lever, LeverParams, _req
from sim.levers.quantities import seed_cost, trend_at


@dataclass(kw_only=True)
class EidParams(LeverParams):
    """Keys of an ``eid`` lever."""

    gap_closed: float = _req(0.0, 1.0, "share of adults without an activated e-ID who activate one (0-1)")


class Eid(Lever):
    """More activated e-IDs."""

    kind = "eid"
    Params = EidParams
    HIGH_FACTOR = 2.0  # ASSUMPTION, see module docstring

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        self.deliver_gap(model, "eid", frac * self.params.gap_closed)

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        spec = cfg.drivers.eid
        s = trend_at(cfg, observed, "eid", self.params.start, list(facts.index))
        activations = (facts["adults"].to_numpy() * (spec.hi - spec.lo) * (1.0 - s)).sum() * self.params.gap_closed
        tg = observed.targets
        cards = float(tg[tg.target_id == "chip_id_cards_2021"]["threshold"].iloc[0])
        central = seed_cost(observed, "chip_citizen_id_card_project") / cards
        return activations, (seed_cost(observed, "chip_card_extra_unit_cost"), central, self.HIGH_FACTOR * central)
