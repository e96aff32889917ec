"""Community digital technology teams and assisted use (tổ công nghệ số cộng đồng).

Effect path: adds ``teams_per_unit`` x frac to ``Province.teams_extra``; the province's outreach
capacity ``assisted`` (teams per village or commune: trend ``drivers.assisted`` plus this) sets both
P(assisted use | no own access) = ``assisted x params.assisted_max`` (capped at 1) and the awareness
rate ``params.awareness_outreach_per_year x assisted``. The trend reaches one team per village or
commune by 2024 (fitted to 27,200 teams in 2022-06 and 42,469 in 2022-08), so this lever adds teams
beyond that: a second team per unit doubles the help available.

Unit: ``teams_per_unit`` = extra teams per village or commune (0-2).

Cost (per year of effect): teams = ``teams_per_unit`` x villages and communes of the simulated
targeted provinces (national ~94,300 shared by population, :func:`~sim.levers.common.province_facts`)
x yearly support per team from the provincial policies in seeds/lever_costs.csv: low
``funding_danang_per_team`` (3 m VND per team per year, a maximum), central the median of the four
policies (Đà Nẵng 3.0 m, Bình Dương ``funding_binhduong_per_member`` 60,000 VND per member per month
x 4.9 members (``teams_2022_08``/``members_2022_08``) = 3.5 m, Yên Bái ``funding_yenbai_per_team``
6.0 m, Hà Tĩnh ``funding_hatinh_per_team`` 7.2 m), high Hà Tĩnh. Allowances only: devices and
training of members are not costed (none published).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.levers.common import Lever, LeverParams, _req
from sim.levers.quantities import seed_cost


@dataclass(kw_only=True)
class TeamsParams(LeverParams):
    """Keys of a ``teams`` lever."""

    teams_per_unit: float = _req(0.0, 2.0, "extra community digital teams per village or commune (0-2)")


class Teams(Lever):
    """More community digital teams (assisted use and outreach)."""

    kind = "teams"
    Params = TeamsParams
    MEMBERS_PER_TEAM = 208_000 / 42_469  # members_2022_08 / teams_2022_08

    def recurring(self) -> bool:
        return True

    def effect(self, model, idx: np.ndarray, frac: float) -> None:
        def add(p, d: float) -> None:
            p.teams_extra += d

        self.deliver(model, "teams_extra", np.full(len(idx), frac * self.params.teams_per_unit), add)

    def cost_basis(self, cfg, observed):
        facts = self.facts(cfg, observed)
        teams = self.params.teams_per_unit * facts["units"].sum()
        per_year = [
            seed_cost(observed, "funding_danang_per_team"),
            seed_cost(observed, "funding_binhduong_per_member") * 12 * self.MEMBERS_PER_TEAM,
            seed_cost(observed, "funding_yenbai_per_team") * 12,
            seed_cost(observed, "funding_hatinh_per_team") * 12,
        ]
        return teams, (min(per_year), float(np.median(per_year)), max(per_year))
