"""Data interoperability and the national data centre: shared data, fewer documents, pre-filled forms.

Effect path: (1) closes share ``gap_closed`` of the distance between interoperability
(``drivers.interoperability``, back-office capacity) and its ceiling, through monthly logit shifts;
(2) adds ``documents_removed x utility_per_documents`` to the citizens' adoption utility at both tiers
(``Province.utility_shift``): a form that is pre-filled from shared data and needs fewer uploaded
documents takes less effort (the leaders' diagnosis: data "not shared", need for a national data
centre, seed article 000, 31/8/2024).

Units: ``gap_closed`` = share of the remaining interoperability gap closed (0-1); ``documents_removed``
= share of the documents citizens no longer have to submit (0-1).

Conversion: ASSUMPTION ``utility_per_documents`` = 1.0: removing every document is worth as much as
half the range of usability (``params.beta_quality`` = 2 per unit of usability).

Cost (one-off): ``max(gap_closed, documents_removed)`` x the National Population Database project
(``national_population_database_project``, 3,085 bn VND, 2018-2021) x the simulated targeted
provinces' share of the population. ASSUMPTION: closing all of the remaining gap costs one more
national project of that size (range x 0.5-2: the national data centre is a larger build, but much
of the database and network exists; special data network at 96.73 % of communes in 2022-Q1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import Lever, LeverParams, _k
from sim.levers.quantities import seed_cost


@dataclass(kw_only=True)
class DataParams(LeverParams):
    """Keys of a ``data`` lever."""

    gap_closed: float = _k(0.0, 0.0, 1.0, "share of the remaining interoperability gap closed (0-1)")
    documents_removed: float = _k(0.0, 0.0, 1.0, "share of documents citizens no longer submit (0-1)")
    utility_per_documents: float = _k(1.0, 0.0, 5.0, "utility gain when every document is removed (ASSUMPTION)")


class Data(Lever):
    """Interoperable data and pre-filled forms."""

    kind = "data"
    Params = DataParams
    RANGE = (0.5, 1.0, 2.0)  # ASSUMPTION, see module docstring

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        p = self.params
        self.deliver_gap(model, "interoperability", frac * p.gap_closed)
        for k in range(2):

            def add(prov, d: float, k: int = k) -> None:
                prov.utility_shift[k] += d

            self.deliver(
                model, f"utility:{k}", np.full(len(idx), frac * p.documents_removed * p.utility_per_documents), add
            )

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        share = facts["people"].sum() / observed.provinces["pop_census2019"].sum()
        size = max(self.params.gap_closed, self.params.documents_removed)
        project = seed_cost(observed, "national_population_database_project")
        return size * share, tuple(project * r for r in self.RANGE)
