"""The planner's inputs (``conf/planner/``): mode, budget or required probability, targets,
deadline, allowed levers with their bounds, province groups and constraints.

:func:`load_plan` composes ``conf/plan.yaml`` with Hydra-style overrides and validates both the
model configuration (:class:`~sim.config.RunConfig`) and the ``planner`` node; every bad input
raises a one-line :class:`~sim.errors.SimInputError` naming the dotted key and what is allowed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import RunConfig, _d, compose_plain, from_dict
from sim.errors import SimInputError
from sim.observed import SEEDS_DIR
from sim.timeline import parse_ym

MODES = ("max_probability", "min_cost")
OPTIMIZERS = ("de", "greedy")
GROUPINGS = ("national", "regions", "areas")
DEADLINES = ("", "2025", "2030")
LEVER_KEYS = ("kind", "bound", "key", "steps", "min", "scope", "start", "ramp_months", "fixed")
TARGETING_KEYS = ("provinces", "regions", "areas", "kind", "start", "ramp_months")

SIZE_KEY = {
    "electricity": "gap_closed",
    "broadband": "fixed_gap_closed",
    "it_budget": "share",
    "process": "gap_closed",
    "training": "officials",
    "data": "gap_closed",
    "teams": "teams_per_unit",
    "awareness": "reach_per_year",
    "eid": "gap_closed",
    "electronic_only": "share",
    "fees": "fee_cut",
}
"""The size key a lever is planned on unless its entry names another (``key``)."""


@dataclass
class PlanSpec:
    """The ``planner`` node of ``conf/plan.yaml`` (one-line docs are the allowed values)."""

    mode: str = _d("max_probability", doc="max_probability (for a budget) or min_cost (for a probability)")
    budget_vnd: float = _d(
        0.0, 0.0, 1e16, "budget in VND (max_probability); cost ceiling explored (min_cost, 0 = bounds)"
    )
    required_probability: float = _d(0.8, 0.0, 1.0, "P(every target met) required in min_cost mode")
    targets: list[str] = field(
        default_factory=lambda: ["full_online_ministries_2025", "full_online_localities_2025"],
        metadata={"doc": "target_id rows of seeds/targets.csv that must all be met"},
    )
    deadline: str = field(
        default="",
        metadata={"doc": "'' = each target's own deadline; 2025 or 2030 = December of that year", "code_digits": 4},
    )
    groups: str = _d("areas", doc="province groups: national, regions (6 GSO regions), areas (remote vs other)")
    start: str = _d("2025-01", doc="first month of every planned lever (YYYY-MM)")
    ramp_months: int = _d(12, 0, 240, "months over which each lever rises to its size")
    levers: list[dict] = field(default_factory=list, metadata={"doc": "allowed levers with bounds"})
    equity_max_gap_pp: float = _d(
        0.0, 0.0, 100.0, "largest gap between regions' local shares a step may leave (pp, 0 = off)"
    )
    search_scale: float = _d(20000.0, 1.0, 1e7, "people per agent while searching")
    search_n_reps: int = _d(4, 1, 10000, "replicates per parameter draw while searching")
    search_n_draws: int = _d(0, 0, 100000, "posterior draws while searching (at most ensemble.n_draws)")
    temperature_pp: float = _d(2.0, 0.01, 100.0, "smoothing of the search objective (percentage points)")
    frontier: list[float] = field(
        default_factory=lambda: [0.0, 0.25, 0.5, 1.0], metadata={"range": (0.0, 1.0), "doc": "budget fractions"}
    )
    cost_factor: float = _d(1.5, 1.0, 10.0, "lever costs are multiplied by this in the robustness check")
    optimizer: str = _d("de", doc="de (greedy, then differential evolution from its optimum) or greedy (greedy only)")
    de_maxiter: int = _d(4, 1, 1000, "differential evolution: most generations after the initial population")
    de_popsize: int = _d(2, 1, 100, "differential evolution: population = de_popsize x decision variables (at least 5)")


@dataclass
class LeverSpec:
    """One allowed lever: planned on ``key`` in ``[min, bound]`` in ``steps`` equal increments."""

    kind: str
    key: str
    bound: float
    steps: int
    min: float
    scope: str  # "groups" (sized per province group) or "national" (one size for all provinces)
    start: str
    ramp_months: int
    fixed: dict

    def size(self, k: int) -> float:
        """Size at increment ``k`` (0 = ``min``)."""
        return self.min + (self.bound - self.min) * k / self.steps


@dataclass
class Group:
    """A named set of simulated provinces that share one size per lever."""

    name: str
    codes: tuple[str, ...]


@dataclass
class Plan:
    """Validated planner inputs: the spec, its levers, the province groups and the targets."""

    spec: PlanSpec
    levers: list[LeverSpec]
    groups: list[Group]
    targets: pd.DataFrame  # target_id, indicator, scope, deadline, threshold
    end: str  # last month simulated (the latest deadline)

    def groups_of(self, lever: LeverSpec) -> list[Group]:
        """Groups a lever is sized over (one national group for ``scope: national``)."""
        if lever.scope == "national":
            return [Group("all", tuple(c for g in self.groups for c in g.codes))]
        return self.groups


def province_groups(table: pd.DataFrame, how: str) -> list[Group]:
    """Partition the simulated provinces (``table`` indexed by code) into groups.

    ``national``: one group; ``regions``: the 6 GSO regions (``region_gso6``); ``areas``: ``remote``
    (mountain region, land border or island districts: the lever targeting classes of
    :func:`sim.levers.common.area_mask`) and ``other``.
    """
    from sim.levers.common import area_mask

    codes = np.array([str(c) for c in table.index], dtype=object)
    if how == "national":
        return [Group("all", tuple(str(c) for c in codes))]
    if how == "regions":
        regions = table["region_gso6"].astype(str)
        return [Group(r, tuple(str(c) for c in codes[regions.eq(r).to_numpy()])) for r in sorted(regions.unique())]
    remote = np.logical_or.reduce([area_mask(table, a) for a in ("mountain", "border", "island")])
    out = [Group("remote", tuple(str(c) for c in codes[remote])), Group("other", tuple(str(c) for c in codes[~remote]))]
    return [g for g in out if g.codes]


def _lever(entry: dict, i: int, spec: PlanSpec, cfg: RunConfig) -> LeverSpec:
    """Validate one ``planner.levers[i]`` entry (see ``conf/planner/default.yaml``)."""
    from sim.levers import REGISTRY

    where = f"planner.levers[{i}]"
    if not isinstance(entry, dict):
        raise SimInputError(f"{where}: expected a mapping with kind and bound, got '{entry}'")
    unknown = sorted(set(entry) - set(LEVER_KEYS))
    if unknown:
        raise SimInputError(f"{where}.{unknown[0]}: unknown key; allowed: {', '.join(LEVER_KEYS)}")
    kind = entry.get("kind")
    if kind not in REGISTRY:
        raise SimInputError(f"{where}.kind: '{kind}' is not a lever; allowed: {', '.join(sorted(REGISTRY))}")
    params = {f.name: f for f in dataclasses.fields(REGISTRY[kind].Params)}
    sizes = _size_keys(kind)
    key = entry.get("key", SIZE_KEY[kind])
    if key not in sizes:
        raise SimInputError(f"{where}.key: '{key}' is not a size of the {kind} lever; allowed: {', '.join(sizes)}")
    lo, hi = params[key].metadata["range"]
    for name in ("bound", "min"):
        value = entry.get(name, 0.0 if name == "min" else None)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SimInputError(f"{where}.{name}: '{value}' is not a number; allowed: {lo} to {hi} ({kind}.{key})")
        if not lo <= value <= hi:
            raise SimInputError(f"{where}.{name}: {value} is out of range; allowed: {lo} to {hi} ({kind}.{key})")
    bound, low = float(entry["bound"]), float(entry.get("min", 0.0))
    if low > bound:
        raise SimInputError(f"{where}.min: {low} is above bound {bound}; allowed: 0 to the bound")
    steps = entry.get("steps", 4)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 50:
        raise SimInputError(f"{where}.steps: '{steps}' is not allowed; allowed: whole numbers 1 to 50")
    scope = entry.get("scope", "groups")
    if scope not in ("groups", "national"):
        raise SimInputError(f"{where}.scope: '{scope}' is not allowed; allowed: groups, national")
    fixed = dict(entry.get("fixed") or {})
    bad = sorted(set(fixed) & (set(TARGETING_KEYS) | {key}))
    if bad:
        raise SimInputError(f"{where}.fixed.{bad[0]}: set by the planner; allowed: other keys of the {kind} lever")
    ramp = entry.get("ramp_months", spec.ramp_months)
    lever = LeverSpec(kind, key, bound, steps, low, scope, str(entry.get("start", spec.start)), ramp, fixed)
    # the lever's own validation (unknown fixed keys, names, schedule) on a full-size entry
    REGISTRY[kind].from_entry(entry_for(lever, bound, ("01",)), where, cfg)
    return lever


def _size_keys(kind: str) -> tuple[str, ...]:
    """Keys that size a lever (ranged floats that are not utility coefficients)."""
    from sim.levers import REGISTRY

    return tuple(
        f.name
        for f in dataclasses.fields(REGISTRY[kind].Params)
        if f.type in (float, "float") and not f.name.startswith("utility_")
    )


def entry_for(lever: LeverSpec, size: float, codes: tuple[str, ...]) -> dict:
    """The scenario lever entry of ``lever`` at ``size`` for provinces ``codes``."""
    entry = {"kind": lever.kind, "start": lever.start, "ramp_months": lever.ramp_months, lever.key: float(size)}
    entry.update(lever.fixed)
    entry["provinces"] = list(codes)
    return entry


def _targets(spec: PlanSpec, cfg: RunConfig) -> pd.DataFrame:
    """The selected rows of ``seeds/targets.csv`` with the planner's deadline applied."""
    path = Path(cfg.observed_dir or SEEDS_DIR) / "targets.csv"
    table = pd.read_csv(path, dtype={"deadline": str, "scope": str})
    table = table[table["modelled"].astype(str).str.lower().eq("true")]
    allowed = list(table["target_id"])
    if not spec.targets:
        raise SimInputError(f"planner.targets: empty; allowed: one or more of {', '.join(allowed)}")
    for t in spec.targets:
        if t not in allowed:
            raise SimInputError(f"planner.targets: '{t}' is not a modelled target; allowed: {', '.join(allowed)}")
    rows = table.set_index("target_id").loc[list(dict.fromkeys(spec.targets))].reset_index()
    if spec.deadline:
        rows["deadline"] = f"{spec.deadline}-12"
    return rows[["target_id", "indicator", "scope", "deadline", "threshold"]].reset_index(drop=True)


def parse_plan(data: dict, cfg: RunConfig) -> Plan:
    """Validate the ``planner`` node against the model configuration ``cfg``.

    Raises:
        SimInputError: one line naming ``planner.<key>`` and what is allowed.
    """
    from sim.levers.common import province_table
    from sim.model import select_provinces

    spec: PlanSpec = from_dict(PlanSpec, data, "planner.")
    if spec.mode not in MODES:
        raise SimInputError(f"planner.mode: '{spec.mode}' is not allowed; allowed: {', '.join(MODES)}")
    if spec.optimizer not in OPTIMIZERS:
        raise SimInputError(f"planner.optimizer: '{spec.optimizer}' is not allowed; allowed: {', '.join(OPTIMIZERS)}")
    if spec.groups not in GROUPINGS:
        raise SimInputError(f"planner.groups: '{spec.groups}' is not allowed; allowed: {', '.join(GROUPINGS)}")
    if spec.deadline not in DEADLINES:
        raise SimInputError(
            f"planner.deadline: '{spec.deadline}' is not allowed; allowed: '' (each target's own), 2025, 2030"
        )
    parse_ym(spec.start, "planner.start")
    if not spec.levers:
        raise SimInputError(
            "planner.levers: empty; allowed: one or more {kind, bound} entries (see conf/planner/default.yaml)"
        )
    if spec.search_n_draws > cfg.ensemble.n_draws:
        raise SimInputError(
            f"planner.search_n_draws: {spec.search_n_draws} is more than ensemble.n_draws {cfg.ensemble.n_draws}; "
            f"allowed: 0 to {cfg.ensemble.n_draws}"
        )
    if cfg.ensemble.p_tolerance > 0:
        raise SimInputError("ensemble.p_tolerance: not used by the planner (its runs are fixed); allowed: 0")
    targets = _targets(spec, cfg)
    end = max(targets["deadline"], key=parse_ym)
    if parse_ym(end) > parse_ym("2030-12") or parse_ym(end) < parse_ym(cfg.timeline.start):
        raise SimInputError(f"planner.deadline: {end} is outside the model's years; allowed: 2025, 2030")
    if parse_ym(cfg.timeline.end) < parse_ym(end):
        raise SimInputError(
            f"timeline.end: {cfg.timeline.end} is before the planner's deadline {end}, to which the planner "
            f"simulates; allowed: {end} or later (or leave it unset)"
        )
    if parse_ym(spec.start) > parse_ym(end):
        raise SimInputError(f"planner.start: {spec.start} is after the deadline {end}; allowed: a month up to {end}")
    table = select_provinces(province_table(cfg.observed_dir), cfg.population.provinces)
    groups = province_groups(table, spec.groups)
    levers = [_lever(e, i, spec, cfg) for i, e in enumerate(spec.levers)]
    return Plan(spec, levers, groups, targets, end)


def load_plan(overrides: list[str] | None = None) -> tuple[RunConfig, Plan]:
    """Compose ``conf/plan.yaml`` with overrides; validate the model config and the planner.

    Raises:
        SimInputError: one line naming the dotted key and what is allowed.
    """
    plain = compose_plain(overrides, "plan")
    return split_plain(plain)


def split_plain(plain: dict) -> tuple[RunConfig, Plan]:
    """Validate a composed plain ``plan.yaml`` (with its ``planner`` node)."""
    plain = dict(plain)
    plain.pop("hydra", None)
    data = plain.pop("planner", None)
    if data is None:
        raise SimInputError("planner: missing; allowed: a planner node (conf/planner/default.yaml)")
    cfg = from_dict(RunConfig, plain)
    return cfg, parse_plan(data, cfg)
