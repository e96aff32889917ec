"""The Province agent: owns its infrastructure, service supply, back office, budget and outreach.

63 :class:`Province` agents live in the :class:`~sim.model.AdoptionModel`. Each month a province
moves its state along the observed trends (:mod:`sim.drivers`, values in ``conf/drivers``; the
model tabulates the trends' baseline logits for every month once, ``model.trend_logits``) plus
whatever levers have added (``shift``: logit shifts per state variable; ``electricity_gap_cut``:
extra share of the unelectrified gap closed, by stratum; ``utility_shift``: added to citizens'
adoption utility by tier; ``teams_extra``: community digital teams per village or commune beyond the
trend; ``it_budget_share``: share of the local budget spent on IT, which raises local fully-online
service supply and interoperability through :func:`it_budget_logit`). Levers write only those
attributes; everything else is derived here.
"""

from __future__ import annotations

import math

import mesa
import numpy as np


SHIFT_KEYS = (
    "mobile_remote",
    "fixed",
    "fixed_urban",
    "fixed_rural",
    "fixed_remote",
    "device",
    "supply_online",
    "supply_ministries",
    "supply_localities",
    "quality",
    "officials_trained",
    "interoperability",
    "assisted",
    "eid",
    "awareness",
)
"""State inputs a lever may shift (logit shift for trends; a rate per year for awareness). ``fixed``
shifts fixed broadband in every stratum, ``fixed_<stratum>`` in one stratum only."""

IT_BUDGET_LOGIT_PER_DOUBLING = 0.5
"""Logit shift of local fully-online supply and of interoperability per doubling of the IT budget
share above the baseline (``drivers.it_budget_share``, ~0.3 % of local budgets, MIC 26/8/2020).

ASSUMPTION: no Vietnamese estimate links provincial IT spending to service supply or back-office
systems. 0.5 per doubling means the MIC-proposed 1 % (3.3 times the baseline, 1.74 doublings) moves
a province in the middle of these trends by about 21 percentage points of their range; the trends
themselves (``conf/drivers``) were fitted with the baseline budget, so the baseline budget adds 0."""


def it_budget_logit(share: float, baseline: float) -> float:
    """Logit shift bought by an IT budget ``share`` of the local budget above ``baseline`` (both 0-1).

    Returns:
        ``IT_BUDGET_LOGIT_PER_DOUBLING * log2(share / baseline)`` when ``share > baseline``, else 0
        (a budget below the baseline is not modelled as a cut). A zero baseline counts as 0.01 %.
    """
    if share <= baseline:
        return 0.0
    return IT_BUDGET_LOGIT_PER_DOUBLING * math.log2(share / max(baseline, 1e-4))


class Province(mesa.Agent):
    """One of the 63 provinces (pre-July-2025 boundaries).

    State (shares in 0-1; ``(3,)`` arrays are by stratum urban/rural/remote, ``(2,)`` by tier
    ministries/localities):
        electricity, mobile, fixed, connectivity (3,): household coverage; connectivity =
            mobile or fixed, never above electricity.
        device (3,): adults owning a smartphone/computer with data.
        supply (2,): share of procedures offered fully online; supply_online (2,): offered online
            at any level (online submission, possibly paper result); offered_volume and
            offered_online_volume (2,): the shares of dossier volume they carry.
        quality: usability of offered services.
        officials_trained, interoperability: back-office capacity inputs; backoffice (2,):
            P(dossier completed fully online | submitted online).
        it_budget_share: share of the local budget spent on IT (above the baseline it shifts
            local fully-online supply and interoperability, :func:`it_budget_logit`).
        assisted: outreach capacity, community digital teams per village or commune (trend, 0-1, plus
            ``teams_extra`` from levers; capped so that ``assisted * params.assisted_max <= 1``).
        eid: share of adults with an activated e-ID.
        awareness (3,): share of adults aware of online services (mean field).
    """

    def __init__(
        self,
        model: mesa.Model,
        index: int,
        code: str,
        name: str,
        population: float,
        strata_weights: np.ndarray,
        initial_awareness: float,
        it_budget_share: float,
    ) -> None:
        super().__init__(model)
        self.index, self.code, self.name, self.population = index, code, name, population
        self.strata_weights = np.asarray(strata_weights, float)
        self.shift: dict[str, float] = dict.fromkeys(SHIFT_KEYS, 0.0)
        self.electricity_gap_cut = np.zeros(3)
        self.teams_extra = 0.0
        self.utility_shift = np.zeros(2)
        self.it_budget_share = float(it_budget_share)
        self.awareness = np.full(3, float(initial_awareness))
        self.update_infrastructure()
        self.update_services()

    def step(self) -> None:
        """Monthly update: infrastructure, services and back office, then awareness."""
        self.update_infrastructure()
        self.update_services()
        self.update_awareness()

    def trend(self, name: str, shift_key: str | tuple[str, ...] | None = None, extra: float = 0.0) -> float:
        """This month's value of trend ``name`` (``conf/drivers``), with the levers' logit shifts
        (``shift_key``: one key of ``SHIFT_KEYS`` or several, summed; default ``name``) and ``extra``."""
        x = extra
        for key in (shift_key,) if isinstance(shift_key, str) else shift_key or (name,):
            x = x + self.shift[key]
        if x == 0.0:  # no lever acts on it: the tabulated baseline value
            return float(self.model.trend_values[name][self.model.t, self.index])
        spec = getattr(self.model.cfg.drivers, name)
        x = x + self.model.trend_logits[name][self.model.t, self.index]
        return spec.lo + (spec.hi - spec.lo) / (1.0 + math.exp(-max(min(x, 700.0), -700.0)))

    def update_infrastructure(self) -> None:
        """Electricity, mobile and fixed broadband, connectivity and devices by stratum."""
        d, cut = self.model.cfg.drivers, np.clip(self.electricity_gap_cut, 0.0, 1.0)
        gaps = self.model.electricity_gaps[self.model.t, self.index]
        self.electricity = 1.0 - gaps * (1.0 - cut)
        self.mobile = np.array([d.mobile_urban, d.mobile_rural, self.trend("mobile_remote")])
        self.fixed = np.array(
            [
                self.trend("fixed_urban", ("fixed", "fixed_urban")),
                self.trend("fixed_rural", ("fixed", "fixed_rural")),
                self.trend("fixed_remote", ("fixed", "fixed_remote")),
            ]
        )
        either = 1.0 - (1.0 - self.mobile) * (1.0 - self.fixed)
        self.connectivity = np.minimum(either, self.electricity)
        self.device = np.minimum(self.trend("device_adult", "device") * self.model.device_stratum_factor, 1.0)

    def update_services(self) -> None:
        """Service supply, usability, back-office capacity, outreach and e-ID."""
        p = self.model.cfg.params
        budget = it_budget_logit(self.it_budget_share, self.model.cfg.drivers.it_budget_share)
        self.supply = np.array([self.trend("supply_ministries"), self.trend("supply_localities", extra=budget)])
        self.supply_online = np.maximum(self.trend("supply_online"), self.supply)
        self.offered_volume = self.supply**p.supply_volume_exponent
        self.offered_online_volume = self.supply_online**p.supply_volume_exponent
        self.quality = self.trend("quality")
        self.officials_trained = self.trend("officials_trained")
        self.interoperability = self.trend("interoperability", extra=budget)
        capacity = self.backoffice_capacity
        self.backoffice = np.array(
            [
                p.backoffice_lo_ministries + (p.backoffice_hi_ministries - p.backoffice_lo_ministries) * capacity,
                p.backoffice_lo_localities + (p.backoffice_hi_localities - p.backoffice_lo_localities) * capacity,
            ]
        )
        self.assisted = self.trend("assisted") + self.teams_extra
        if self.teams_extra > 0.0 and p.assisted_max > 0.0:
            self.assisted = min(self.assisted, 1.0 / p.assisted_max)
        self.eid = self.trend("eid")

    def update_awareness(self) -> None:
        """Mean-field awareness: ``A += (1 - A) * (1 - exp(-rate / 12))`` with
        ``rate = base + social * F_local + outreach * assisted`` (+ campaign shift), per stratum."""
        p = self.model.cfg.params
        local = self.model.adopter_share[self.index]
        rate = (
            p.awareness_base_per_year
            + p.awareness_social_per_year * local
            + p.awareness_outreach_per_year * self.assisted
            + self.shift["awareness"]
        )
        self.awareness = self.awareness - (1.0 - self.awareness) * np.expm1(-np.maximum(rate, 0.0) / 12.0)

    @property
    def backoffice_capacity(self) -> float:
        """Capacity index in 0-1 (trained officials and interoperability)."""
        w = self.model.cfg.params.backoffice_weight_training
        return w * self.officials_trained + (1.0 - w) * self.interoperability


def to_threshold(share: np.ndarray) -> np.ndarray:
    """Convert shares in 0-1 into integer thresholds comparable with uint16 ranks."""
    return np.floor(np.clip(share, 0.0, 1.0) * 65536.0).astype(np.int32)
