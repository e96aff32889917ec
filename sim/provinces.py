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

The state of all provinces lives in one :class:`ProvinceArrays` (struct of arrays, province on the
first axis) that the model updates for every province at once each month; a :class:`Province`
agent reads and writes its own row. The per-province loop this replaces cost ~60 % of a
calibration-size run (2.6 times slower per run at 1 agent per 1,000 people).
"""

from __future__ import annotations

from collections.abc import MutableMapping

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


def it_budget_logit(share, baseline: float):
    """Logit shift bought by an IT budget ``share`` of the local budget above ``baseline`` (both 0-1;
    ``share`` a number or an array of provinces).

    Returns:
        ``IT_BUDGET_LOGIT_PER_DOUBLING * log2(share / baseline)`` where ``share > baseline``, else 0
        (a budget below the baseline is not modelled as a cut). A zero baseline counts as 0.01 %.
    """
    share = np.asarray(share, float)
    ratio = np.maximum(share, 1e-300) / max(baseline, 1e-4)
    out = np.where(share > baseline, IT_BUDGET_LOGIT_PER_DOUBLING * np.log2(ratio), 0.0)
    return float(out) if out.ndim == 0 else out


STATE_WIDTHS = {
    "electricity": 3,
    "mobile": 3,
    "fixed": 3,
    "connectivity": 3,
    "device": 3,
    "awareness": 3,
    "supply": 2,
    "supply_online": 2,
    "offered_volume": 2,
    "offered_online_volume": 2,
    "backoffice": 2,
    "quality": 0,
    "officials_trained": 0,
    "interoperability": 0,
    "assisted": 0,
    "eid": 0,
}
"""Derived province state: name -> width (3 = by stratum, 2 = by tier, 0 = one value per province)."""

INPUT_WIDTHS = {"electricity_gap_cut": 3, "utility_shift": 2, "teams_extra": 0, "it_budget_share": 0}
"""Province inputs levers write besides ``shift`` (same convention as :data:`STATE_WIDTHS`)."""


class ProvinceArrays:
    """State and lever inputs of all provinces as arrays (first axis: province, model order).

    Every attribute named in :data:`STATE_WIDTHS` and :data:`INPUT_WIDTHS` is an array of shape
    ``(P,)``, ``(P, 2)`` or ``(P, 3)``; ``shift`` maps each key of :data:`SHIFT_KEYS` to a ``(P,)``
    array of logit shifts. :meth:`update` advances the derived state one month for all provinces at
    once; the :class:`Province` agents read and write their own row of these arrays.
    """

    def __init__(self, n: int, initial_awareness: float, it_budget_share: float) -> None:
        self.n = n
        self.shift = {k: np.zeros(n) for k in SHIFT_KEYS}
        for name, width in {**STATE_WIDTHS, **INPUT_WIDTHS}.items():
            setattr(self, name, np.zeros((n, width) if width else n))
        self.it_budget_share[:] = it_budget_share
        self.awareness[:] = initial_awareness

    def trend(self, model, name: str, shift_keys: tuple[str, ...] | None = None, extra=None) -> np.ndarray:
        """This month's value of trend ``name`` (``conf/drivers``) for every province, ``(P,)``, with the
        levers' logit shifts (``shift_keys``, summed; default ``(name,)``) and ``extra`` (``(P,)``).
        Provinces without any shift take the tabulated baseline value (bit-identical to no lever)."""
        x = extra
        for key in shift_keys or (name,):
            x = self.shift[key] if x is None else x + self.shift[key]
        base = model.trend_values[name][model.t]
        moved = x != 0.0
        if not moved.any():
            return base.copy()
        spec = getattr(model.cfg.drivers, name)
        z = np.clip(x + model.trend_logits[name][model.t], -700.0, 700.0)
        return np.where(moved, spec.lo + (spec.hi - spec.lo) / (1.0 + np.exp(-z)), base)

    def update(self, model, awareness: bool = True) -> None:
        """Monthly update of every province: infrastructure, services and back office, then (when
        ``awareness``) mean-field awareness from last month's adopter shares."""
        self.update_infrastructure(model)
        self.update_services(model)
        if awareness:
            self.update_awareness(model)

    def update_infrastructure(self, model) -> None:
        """Electricity, mobile and fixed broadband, connectivity and devices by stratum."""
        d = model.cfg.drivers
        cut = np.clip(self.electricity_gap_cut, 0.0, 1.0)
        self.electricity = 1.0 - model.electricity_gaps[model.t] * (1.0 - cut)
        self.mobile = np.empty((self.n, 3))
        self.mobile[:, 0], self.mobile[:, 1] = d.mobile_urban, d.mobile_rural
        self.mobile[:, 2] = self.trend(model, "mobile_remote")
        self.fixed = np.stack(
            [
                self.trend(model, "fixed_urban", ("fixed", "fixed_urban")),
                self.trend(model, "fixed_rural", ("fixed", "fixed_rural")),
                self.trend(model, "fixed_remote", ("fixed", "fixed_remote")),
            ],
            axis=1,
        )
        either = 1.0 - (1.0 - self.mobile) * (1.0 - self.fixed)
        self.connectivity = np.minimum(either, self.electricity)
        device = self.trend(model, "device_adult", ("device",))
        self.device = np.minimum(device[:, None] * model.device_stratum_factor[None, :], 1.0)

    def update_services(self, model) -> None:
        """Service supply, usability, back-office capacity, outreach and e-ID."""
        p = model.cfg.params
        budget = it_budget_logit(self.it_budget_share, model.cfg.drivers.it_budget_share)
        self.supply = np.stack(
            [self.trend(model, "supply_ministries"), self.trend(model, "supply_localities", extra=budget)], axis=1
        )
        self.supply_online = np.maximum(self.trend(model, "supply_online")[:, None], self.supply)
        self.offered_volume = self.supply**p.supply_volume_exponent
        self.offered_online_volume = self.supply_online**p.supply_volume_exponent
        self.quality = self.trend(model, "quality")
        self.officials_trained = self.trend(model, "officials_trained")
        self.interoperability = self.trend(model, "interoperability", extra=budget)
        w = p.backoffice_weight_training
        capacity = w * self.officials_trained + (1.0 - w) * self.interoperability
        self.backoffice = np.stack(
            [
                p.backoffice_lo_ministries + (p.backoffice_hi_ministries - p.backoffice_lo_ministries) * capacity,
                p.backoffice_lo_localities + (p.backoffice_hi_localities - p.backoffice_lo_localities) * capacity,
            ],
            axis=1,
        )
        self.assisted = self.trend(model, "assisted") + self.teams_extra
        if p.assisted_max > 0.0:
            capped = (self.teams_extra > 0.0) & (self.assisted > 1.0 / p.assisted_max)
            self.assisted = np.where(capped, 1.0 / p.assisted_max, self.assisted)
        self.eid = self.trend(model, "eid")

    def update_awareness(self, model) -> None:
        """Mean-field awareness: ``A += (1 - A) * (1 - exp(-rate / 12))`` with
        ``rate = base + social * F_local + outreach * assisted`` (+ campaign shift), per stratum."""
        p = model.cfg.params
        rate = (
            p.awareness_base_per_year
            + p.awareness_social_per_year * model.adopter_share
            + (p.awareness_outreach_per_year * self.assisted)[:, None]
            + self.shift["awareness"][:, None]
        )
        self.awareness = self.awareness - (1.0 - self.awareness) * np.expm1(-np.maximum(rate, 0.0) / 12.0)


class _ShiftRow(MutableMapping):
    """One province's row of :attr:`ProvinceArrays.shift` as a ``{key: float}`` mapping."""

    __slots__ = ("_shift", "_i")

    def __init__(self, shift: dict[str, np.ndarray], i: int) -> None:
        self._shift, self._i = shift, i

    def __getitem__(self, key: str) -> float:
        return float(self._shift[key][self._i])

    def __setitem__(self, key: str, value: float) -> None:
        self._shift[key][self._i] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError("shift keys are fixed (SHIFT_KEYS)")

    def __iter__(self):
        return iter(self._shift)

    def __len__(self) -> int:
        return len(self._shift)


def _row_property(name: str, width: int, writable: bool) -> property:
    """Attribute ``name`` of one province: its row of the model's :class:`ProvinceArrays`."""

    def get(self):
        value = getattr(self.model.province_arrays, name)[self.index]
        return value if width else float(value)

    def set_(self, value) -> None:
        getattr(self.model.province_arrays, name)[self.index] = value

    doc = f"Row {name} of the model's ProvinceArrays" + (" (levers write it)." if writable else " (derived).")
    return property(get, set_ if writable else None, doc=doc)


class Province(mesa.Agent):
    """One of the 63 provinces (pre-July-2025 boundaries).

    A province owns its row of the model's :class:`ProvinceArrays` (state of all provinces in
    arrays, so one vectorized update moves all 63 each month); its attributes read and write that row.

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
        assisted: outreach capacity, community digital teams per village or commune (trend, 0-1, plus
            ``teams_extra`` from levers; capped so that ``assisted * params.assisted_max <= 1``).
        eid: share of adults with an activated e-ID.
        awareness (3,): share of adults aware of online services (mean field).

    Lever inputs (writable): ``shift`` (``{key: logit shift}``, keys :data:`SHIFT_KEYS`),
    ``electricity_gap_cut`` (3,), ``utility_shift`` (2,), ``teams_extra``, ``it_budget_share`` (share of
    the local budget spent on IT; above the baseline it shifts local fully-online supply and
    interoperability, :func:`it_budget_logit`).
    """

    def __init__(
        self, model: mesa.Model, index: int, code: str, name: str, population: float, strata_weights: np.ndarray
    ) -> None:
        super().__init__(model)
        self.index, self.code, self.name, self.population = index, code, name, population
        self.strata_weights = np.asarray(strata_weights, float)
        self.shift = _ShiftRow(model.province_arrays.shift, index)

    @property
    def backoffice_capacity(self) -> float:
        """Capacity index in 0-1 (trained officials and interoperability)."""
        w = self.model.cfg.params.backoffice_weight_training
        return w * self.officials_trained + (1.0 - w) * self.interoperability


for _name, _width in STATE_WIDTHS.items():
    setattr(Province, _name, _row_property(_name, _width, writable=False))
for _name, _width in INPUT_WIDTHS.items():
    setattr(Province, _name, _row_property(_name, _width, writable=True))


def to_threshold(share: np.ndarray) -> np.ndarray:
    """Convert shares in 0-1 into integer thresholds comparable with uint16 ranks."""
    return np.floor(np.clip(share, 0.0, 1.0) * 65536.0).astype(np.int32)
