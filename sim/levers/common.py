"""What every lever shares: key validation, schedule, targeting, state deltas and cost bookkeeping.

A lever entry in a scenario is a mapping such as::

    {kind: electricity, start: "2025-01", ramp_months: 12, gap_closed: 0.5, areas: [border]}

:class:`Lever.from_entry` validates it against the lever's params dataclass (unknown key, wrong type,
out-of-range value or unknown name -> one-line :class:`~sim.errors.SimInputError` naming
``scenario.levers[i].<key>`` and what is allowed). :meth:`Lever.apply` is called by the model at the
start of every month; it computes the lever's contribution to province inputs for that month
(0 before ``start``, rising linearly over ``ramp_months``) and adds only the change since the last
month, so levers combine additively and a lever of size 0 never writes anything (bit-identical to
the baseline).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from sim.config import from_dict
from sim.errors import SimInputError
from sim.levers.quantities import province_facts
from sim.observed import PROVINCE_CODES, SEEDS_DIR
from sim.rng import Stream, generator
from sim.timeline import parse_ym

if TYPE_CHECKING:
    from sim.config import RunConfig
    from sim.model import AdoptionModel
    from sim.observed import ObservedData

STRATA = ("urban", "rural", "remote")
TIERS = ("ministries", "localities")
AREAS = ("all", "mountain", "border", "island")


def _k(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A lever key with a default and an inclusive range."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"range": (lo, hi), "doc": doc})
    return field(default=default, metadata={"range": (lo, hi), "doc": doc})


def _req(lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A lever key every entry must give."""
    return field(metadata={"range": (lo, hi), "doc": doc, "required": True})


@dataclass(kw_only=True)
class LeverParams:
    """Keys of every lever: schedule and province targeting (see module docstring).

    ``provinces``, ``regions`` and ``areas`` each narrow the target (a province must pass every key
    that is given; within one key any listed name counts); none given = every province.
    """

    kind: str = _k("", doc="lever kind")
    start: str = _req(doc="first month the lever acts, YYYY-MM")
    ramp_months: int = _k(0, 0, 240, "months over which the effect rises linearly to its full size")
    provinces: list[str] = field(
        default_factory=list, metadata={"code_digits": 2, "doc": "2-digit GSO codes (seeds/provinces.csv)"}
    )
    regions: list[str] = _k([], doc="GSO regions (region_gso6 in seeds/provinces.csv)")
    areas: list[str] = _k([], doc="all, mountain, border, island")


@functools.lru_cache(maxsize=8)
def province_table(observed_dir: str = "") -> pd.DataFrame:
    """``provinces.csv`` (codes as text) for targeting before the observed data are loaded."""
    path = Path(observed_dir or SEEDS_DIR) / "provinces.csv"
    table = pd.read_csv(path, dtype={"gso_code": str, "region_gso6": str}).set_index("gso_code")
    return table.sort_index()


def _flag(table: pd.DataFrame, column: str) -> np.ndarray:
    return table[column].astype(str).str.lower().eq("true").to_numpy()


def area_mask(table: pd.DataFrame, area: str) -> np.ndarray:
    """Provinces in an area class: ``mountain`` (GSO mountain/highland regions,
    ``is_mountain_region_proxy``), ``border`` (land border, Decree 34/2014), ``island`` (island
    districts), ``all``."""
    if area == "mountain":
        return _flag(table, "is_mountain_region_proxy")
    if area == "border":
        return _flag(table, "is_land_border")
    if area == "island":
        return table["n_island_districts"].to_numpy(float) > 0
    return np.ones(len(table), bool)


def check_names(values: list[str], allowed: tuple[str, ...] | list[str], key: str) -> None:
    """Raise a one-line error for the first value not in ``allowed``."""
    for v in values:
        if v not in allowed:
            raise SimInputError(f"{key}: '{v}' is not allowed; allowed: {', '.join(allowed)}")


# --- the lever base class ---------------------------------------------------------------------


@dataclass
class _ModelState:
    """What one lever remembers about one model: its target indices and last contributions."""

    idx: np.ndarray
    prev: dict = field(default_factory=dict)


class Lever(ABC):
    """Base of every lever: schedule, targeting, monthly state deltas and cost bookkeeping.

    Subclasses set ``kind`` and ``Params`` and implement :meth:`effect` and :meth:`cost_basis`.
    """

    kind: ClassVar[str]
    Params: ClassVar[type[LeverParams]]

    def __init__(self, params: LeverParams, where: str, codes: tuple[str, ...], cfg: RunConfig) -> None:
        self.params, self.where, self.codes = params, where, codes
        self.simulated = tuple(sorted(set(cfg.population.provinces)))  # empty: all provinces
        self.start = parse_ym(params.start, f"{where}.start")
        self.base_it_budget = cfg.drivers.it_budget_share
        table = province_table(cfg.observed_dir)
        pop = table["pop_census2019"].astype(float)
        self.target_pop_share = float(pop.loc[list(codes)].sum() / pop.sum()) if codes else 0.0
        self._models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_models"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._models = weakref.WeakKeyDictionary()

    @classmethod
    def from_entry(cls, entry: dict, where: str, cfg: RunConfig) -> Lever:
        """Validate one scenario entry and build the lever.

        Raises:
            SimInputError: one line naming ``<where>.<key>`` and what is allowed.
        """
        try:
            names = sorted(f.name for f in dataclasses.fields(cls.Params))
            unknown = sorted(set(entry) - set(names))
            if unknown:
                raise SimInputError(f"{where}.{unknown[0]}: unknown key; allowed: {', '.join(names)}")
            for f in dataclasses.fields(cls.Params):
                if f.metadata.get("required") and f.name not in entry:
                    raise SimInputError(f"{where}.{f.name}: missing; allowed: {f.metadata.get('doc', '')}")
            params = from_dict(cls.Params, dict(entry), f"{where}.")
            if parse_ym(params.start, f"{where}.start") > parse_ym(cfg.timeline.end):
                raise SimInputError(
                    f"{where}.start: {params.start} is after the run's end (timeline.end {cfg.timeline.end}), "
                    "so the lever would do nothing; allowed: a month up to timeline.end"
                )
            codes = resolve_targets(params, where, cfg)
            cls.check(params, where)
        except SimInputError as exc:
            raise SimInputError(f"{exc} ({cls.kind} lever)") from None
        return cls(params, where, codes, cfg)

    @classmethod
    def check(cls, params: LeverParams, where: str) -> None:
        """Check the names in a lever's ``strata`` and ``tiers`` keys, where it has them."""
        if hasattr(params, "strata"):
            check_names(params.strata, STRATA, f"{where}.strata")
        if hasattr(params, "tiers"):
            check_names(params.tiers, TIERS, f"{where}.tiers")

    # schedule -------------------------------------------------------------------------------
    def fraction_at(self, absolute_month: int) -> float:
        """Share of the full effect in a month: 0 before ``start``, linear over ``ramp_months``."""
        if absolute_month < self.start:
            return 0.0
        ramp = self.params.ramp_months
        return 1.0 if ramp == 0 else min(1.0, (absolute_month - self.start + 1) / ramp)

    def fractions(self, cfg: RunConfig) -> np.ndarray:
        """``fraction_at`` for every month of the run, ``(T,)``."""
        first, last = parse_ym(cfg.timeline.start), parse_ym(cfg.timeline.end)
        return np.array([self.fraction_at(m) for m in range(first, last + 1)])

    # monthly application --------------------------------------------------------------------
    def _state(self, model: AdoptionModel) -> _ModelState:
        st = self._models.get(model)
        if st is None:
            wanted = set(self.codes)
            st = _ModelState(np.array([i for i, c in enumerate(model.codes) if c in wanted], np.int64))
            self._models[model] = st
        return st

    def apply(self, model: AdoptionModel) -> None:
        """Set this month's contribution to the targeted provinces' inputs (called every month)."""
        frac = self.fraction_at(model.timeline.first + model.t)
        st = self._state(model)
        if frac == 0.0 and not st.prev or len(st.idx) == 0:
            return
        self.effect(model, st.idx, frac)

    @abstractmethod
    def effect(self, model: AdoptionModel, idx: np.ndarray, frac: float) -> None:
        """Deliver the lever's contributions for this month (through :meth:`deliver`).

        Args:
            model: the model being stepped (``model.t`` is this month).
            idx: indices of the targeted provinces in ``model.provinces``, ``(n,)``.
            frac: share of the full effect this month (0-1).
        """

    def deliver(self, model: AdoptionModel, slot: str, values: np.ndarray, add: Callable[[Any, float], None]) -> None:
        """Add to each targeted province the change of this lever's contribution ``slot``.

        Args:
            slot: name of the contribution (one per province input the lever touches).
            values: this month's contribution per targeted province, ``(n,)``.
            add: ``add(province, delta)`` applies a change to the province input.
        """
        st = self._state(model)
        prev = st.prev.setdefault(slot, np.zeros(len(st.idx)))
        values = np.broadcast_to(np.asarray(values, float), prev.shape)
        delta = values - prev
        for j in np.flatnonzero(delta):
            add(model.provinces[st.idx[j]], float(delta[j]))
        prev[:] = values

    def deliver_shift(self, model: AdoptionModel, key: str, values: np.ndarray) -> None:
        """:meth:`deliver` into ``Province.shift[key]``."""

        def add(p, d: float) -> None:
            p.shift[key] += d

        self.deliver(model, f"shift:{key}", values, add)

    def deliver_gap(self, model: AdoptionModel, trend: str, gap: float, key: str | None = None) -> None:
        """Close share ``gap`` of the distance between trend ``trend`` and its ceiling ``hi``.

        The logit shift that does so is recomputed every month from the trend's baseline logit.
        """
        x = model.trend_logits[trend][model.t, self._state(model).idx]
        self.deliver_shift(model, key or trend, gap_shift(x, gap))

    # costs ----------------------------------------------------------------------------------
    @abstractmethod
    def cost_basis(self, cfg: RunConfig, observed: ObservedData) -> tuple[float, tuple[float, float, float]]:
        """``(quantity, (low, central, high) VND per unit))`` of the run, before the schedule."""

    def recurring(self) -> bool:
        """True when the cost is per year of operation (budget, allowances, revenue foregone)."""
        return False

    def cost_range(self, cfg: RunConfig, observed: ObservedData) -> tuple[float, float, float]:
        """Cost of the lever within the run (simulated provinces, up to ``timeline.end``), VND.

        One-off costs are scaled by the share of the full effect reached by the last month;
        recurring costs (per year) by the years of effect, ``sum(fraction) / 12``.

        Returns:
            ``(low, central, high)`` in VND.
        """
        qty, unit = self.cost_basis(cfg, observed)
        f = self.fractions(cfg)
        scale = f.sum() / 12.0 if self.recurring() else (f[-1] if len(f) else 0.0)
        lo, mid, hi = (qty * u * scale for u in unit)
        return float(lo), float(mid), float(hi)

    def cost_draw(self, cfg: RunConfig, observed: ObservedData, draw: int, index: int) -> float:
        """One cost for replicate or posterior draw ``draw``: triangular(low, central, high).

        The stream is ``Stream.COST`` keyed by ``(rng_seed, draw)`` with the lever's ``index`` in the
        month slot, so each lever's draws are independent of the others and of the model's streams.
        """
        lo, mid, hi = self.cost_range(cfg, observed)
        if hi <= lo:
            return mid
        return float(generator(cfg.rng_seed, draw, Stream.COST, index).triangular(lo, mid, hi))

    def describe_targets(self) -> str:
        """Targeting in words, e.g. ``areas=border; strata=remote (13 provinces)``."""
        p = self.params
        parts = [f"{k}={'|'.join(getattr(p, k))}" for k in ("provinces", "regions", "areas") if getattr(p, k)]
        parts = parts or ["all provinces"]
        for k in ("strata", "tiers"):
            if hasattr(p, k):
                parts.append(f"{k}={'|'.join(getattr(p, k))}")
        n = len(self.codes)
        count = f"{n} province{'s' if n != 1 else ''}"
        if self.simulated:  # a run of some provinces: say how many of the targeted ones it holds
            count = f"{len(set(self.codes) & set(self.simulated))} of the {count} in this run"
        return f"{'; '.join(parts)} ({count})"

    # shared quantities for costs ------------------------------------------------------------
    def facts(self, cfg: RunConfig, observed: ObservedData) -> pd.DataFrame:
        """Targeted provinces that the run simulates, with ``people``, ``adults``, ``households``,
        ``units`` (villages + communes), ``communes`` and stratum weights ``w_urban/w_rural/w_remote``."""
        table = province_facts(cfg, observed)
        return table.loc[[c for c in table.index if c in set(self.codes)]]


def gap_shift(x: np.ndarray, gap: float) -> np.ndarray:
    """Logit shift that closes share ``gap`` of the distance to the ceiling of a logistic trend.

    With ``s = sigmoid(x)`` the trend's position between ``lo`` and ``hi``, the shifted position is
    ``s' = 1 - (1 - gap) (1 - s)``; the shift is ``logit(s') - x`` (0 exactly when ``gap`` is 0).

    Args:
        x: baseline logits, ``(n,)``.
        gap: share of the remaining distance closed, 0-1 (1 is capped at 1 - 1e-9).
    """
    x = np.asarray(x, float)
    if gap <= 0.0:
        return np.zeros_like(x)
    g = min(gap, 1.0 - 1e-9)
    softplus_neg = np.logaddexp(0.0, -x)  # -log(s)
    s_new = 1.0 - (1.0 - g) * np.exp(-np.logaddexp(0.0, x))  # 1 - (1 - g) * sigmoid(-x)
    return np.log(s_new) - math.log1p(-g) + softplus_neg


def resolve_targets(params: LeverParams, where: str, cfg: RunConfig) -> tuple[str, ...]:
    """Province codes a lever targets (among all 63 provinces).

    Raises:
        SimInputError: unknown code, region or area, or a combination that matches no province.
    """
    table = province_table(cfg.observed_dir)
    for code in params.provinces:
        if code not in PROVINCE_CODES:
            raise SimInputError(
                f"{where}.provinces: '{code}' is not a province code; allowed: 2-digit GSO codes "
                f"{', '.join(PROVINCE_CODES[:3])} ... {PROVINCE_CODES[-1]} (see seeds/provinces.csv)"
            )
    regions = sorted(table["region_gso6"].unique())
    check_names(params.regions, regions, f"{where}.regions")
    check_names(params.areas, AREAS, f"{where}.areas")
    keep = np.ones(len(table), bool)
    if params.provinces:
        keep &= table.index.isin(params.provinces)
    if params.regions:
        keep &= table["region_gso6"].isin(params.regions).to_numpy()
    if params.areas:
        keep &= np.logical_or.reduce([area_mask(table, a) for a in params.areas])
    if not keep.any():
        raise SimInputError(
            f"{where}.areas: provinces, regions and areas together match no province; "
            "allowed: a combination that selects at least one"
        )
    return tuple(table.index[keep])
