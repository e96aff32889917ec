"""The search: a budget-constrained greedy over lever increments, then full-scale re-evaluation.

Greedy (transparent for planners, and every step is a decision one can read): start from every
lever at its ``min`` in every group; at each step evaluate every one-increment move (one lever,
one group, one step up) that stays within the budget, all with the same random numbers; take the
move with the largest gain of the smooth objective per VND (ties: the first in lever, group order);
stop when no affordable move raises the objective. The path of accepted moves is nested, so the
plan for a smaller budget is the last path state that fits it (the budget frontier); the chosen
plans are then re-run at the final scale with more runs, and reported with their Jeffreys interval.

ASSUMPTION: the objective is smooth enough in the lever sizes for one-step moves to find a good
plan; a move that only pays off together with another (e.g. supply and back office) may be missed
when neither alone raises the objective. With common random numbers the objective differences
between moves are mostly model differences, not noise, even at a few replicates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from sim.plan.evaluate import Evaluator, Outcome
from sim.results import p_met_interval

log = logging.getLogger(__name__)


@dataclass
class Point:
    """One state of the greedy path: allocation, cost and its search-scale outcome."""

    k: np.ndarray
    cost: tuple[float, float, float]
    search: Outcome
    move: str = "start"


@dataclass
class Evaluated:
    """A plan re-run at the final scale."""

    label: str
    budget_vnd: float
    point: Point | None  # None = the baseline (no levers)
    final: Outcome
    cost: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def p(self) -> float:
        """P(every target met) at the final scale."""
        return self.final.p

    @property
    def interval(self) -> tuple[float, float]:
        """95 % Jeffreys interval of :attr:`p` (Monte-Carlo error)."""
        return p_met_interval(int(self.final.met.sum()), self.final.met.size)


@dataclass
class PlanResult:
    """Everything the report needs."""

    mode: str
    path: list[Point]
    baseline: Evaluated
    frontier: list[Evaluated]
    chosen: Evaluated
    reachable: bool
    robust: Evaluated | None = None
    notes: list[str] = field(default_factory=list)


def _cells(ev: Evaluator) -> list[tuple[int, int]]:
    return [(li, g) for li, lev in enumerate(ev.plan.levers) for g in range(len(ev.plan.groups_of(lev)))]


def start_state(ev: Evaluator) -> np.ndarray:
    """Every lever at its ``min`` (increment 0) in every group, ``(n_levers, n_groups)``."""
    return np.zeros((len(ev.plan.levers), max(len(ev.plan.groups), 1)), np.int64)


def move_name(ev: Evaluator, li: int, g: int, k: np.ndarray) -> str:
    """A move in words, e.g. ``training in remote: 5000 -> 10000 officials``."""
    lev = ev.plan.levers[li]
    group = ev.plan.groups_of(lev)[g].name
    return f"{lev.kind} in {group}: {lev.key} {lev.size(int(k[li, g]) - 1):g} -> {lev.size(int(k[li, g])):g}"


def greedy(ev: Evaluator, cap: float) -> Iterator[Point]:
    """Yield the greedy path from the start state (see module docstring).

    Args:
        ev: the search-scale evaluator.
        cap: largest central cost allowed, VND (``inf`` = the levers' bounds only).
    """
    k = start_state(ev)
    cost = ev.cost(k)
    if cost[1] > cap:
        return
    (current,) = ev.run([k], ["start"])
    yield Point(k.copy(), cost, current)
    limit = ev.plan.spec.equity_max_gap_pp
    while True:
        moves = []
        for li, g in _cells(ev):
            if k[li, g] >= ev.plan.levers[li].steps:
                continue
            trial = k.copy()
            trial[li, g] += 1
            c = ev.cost(trial)
            if c[1] <= cap:
                moves.append((li, g, trial, c))
        if not moves:
            return
        outcomes = ev.run([m[2] for m in moves], [f"move_{i}" for i in range(len(moves))])
        best, best_score = None, 0.0
        for (li, g, trial, c), out in zip(moves, outcomes, strict=True):
            gain = out.objective - current.objective
            if gain <= 0:
                continue
            if limit > 0 and out.region_gap_pp > max(limit, current.region_gap_pp):
                continue
            score = gain / max(c[1] - cost[1], 1.0)
            if score > best_score:
                best, best_score = (li, g, trial, c, out), score
        if best is None:
            return
        li, g, k, cost, current = best
        name = move_name(ev, li, g, k)
        log.info("step: %s (cost %.4g VND, objective %.4g, P %.3f)", name, cost[1], current.objective, current.p)
        yield Point(k.copy(), cost, current, name)


def last_within(path: list[Point], budget: float) -> Point | None:
    """The last path state whose central cost is within ``budget`` (the path's costs rise)."""
    fit = [p for p in path if p.cost[1] <= budget * (1 + 1e-12)]
    return fit[-1] if fit else None


def evaluate_final(final: Evaluator, items: list[tuple[str, float, Point | None]]) -> list[Evaluated]:
    """Re-run plans at the final scale in one batch (identical allocations are run once)."""
    unique: dict[bytes | None, int] = {}
    ks = []
    for _, _, point in items:
        key = None if point is None else point.k.tobytes()
        if key not in unique:
            unique[key] = len(ks)
            ks.append(point.k if point is not None else None)
    outcomes = final.run(ks, [f"plan_{i}" for i in range(len(ks))])
    out = []
    for label, budget, point in items:
        o = outcomes[unique[None if point is None else point.k.tobytes()]]
        cost = point.cost if point is not None else (0.0, 0.0, 0.0)
        out.append(Evaluated(label, budget, point, o, cost))
    return out


def plan_max_probability(search: Evaluator, final: Evaluator) -> PlanResult:
    """Maximise P(every target met) within ``planner.budget_vnd``; frontier at its fractions."""
    spec = search.plan.spec
    budget = spec.budget_vnd
    path = list(greedy(search, budget))
    search.close()  # the search's workers are not needed for the final runs
    if not path:
        raise_min_cost(search, budget)
    fracs = sorted(set(spec.frontier) | {1.0})
    items: list[tuple[str, float, Point | None]] = [("baseline", 0.0, None)]
    items += [(f"budget_{f:g}", f * budget, last_within(path, f * budget)) for f in fracs]
    items += [("costs_x", budget / spec.cost_factor, last_within(path, budget / spec.cost_factor))]
    items = [(lab, b, p) for lab, b, p in items if lab == "baseline" or p is not None]
    done = evaluate_final(final, items)
    baseline, frontier = done[0], [e for e in done if e.label.startswith("budget_")]
    robust = next((e for e in done if e.label == "costs_x"), None)
    chosen = frontier[-1]
    return PlanResult("max_probability", path, baseline, frontier, chosen, chosen.p > 0, robust)


def plan_min_cost(search: Evaluator, final: Evaluator) -> PlanResult:
    """The cheapest greedy-path plan whose final-scale P(every target met) reaches the requirement.

    The path is followed until the search estimate reaches ``required_probability``; that state is
    re-run at the final scale; if it falls short the path goes on. When it holds, the earlier states
    from there back are bisected at the final scale for the cheapest one that also holds (assuming
    P rises along the path). If the path ends first, the requirement is not reachable within the
    levers' bounds and the best state found is reported.
    """
    spec = search.plan.spec
    cap = spec.budget_vnd if spec.budget_vnd > 0 else float("inf")
    req = spec.required_probability
    path: list[Point] = []
    found: Evaluated | None = None
    checked_lo = 0
    last_final: Evaluated | None = None
    for point in greedy(search, cap):
        path.append(point)
        if point.search.p >= req:
            (last_final,) = evaluate_final(final, [("check", point.cost[1], point)])
            if last_final.p >= req:
                found = last_final
                break
            checked_lo = len(path)
    if not path:
        raise_min_cost(search, cap)
    if found is None and (last_final is None or last_final.point is not path[-1]):
        (last_final,) = evaluate_final(final, [("best", path[-1].cost[1], path[-1])])
    if found is not None:
        lo, hi = checked_lo, len(path) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            (e,) = evaluate_final(final, [("check", path[mid].cost[1], path[mid])])
            if e.p >= req:
                hi, found = mid, e
            else:
                lo = mid + 1
    chosen = found or last_final
    ref = chosen.cost[1]
    items: list[tuple[str, float, Point | None]] = [("baseline", 0.0, None)]
    items += [(f"budget_{f:g}", f * ref, last_within(path, f * ref)) for f in sorted(set(spec.frontier) - {1.0})]
    done = evaluate_final(final, [i for i in items if i[0] == "baseline" or i[2] is not None])
    frontier = [e for e in done if e.label != "baseline"] + [_relabel(chosen, "budget_1", ref)]
    return PlanResult("min_cost", path, done[0], frontier, frontier[-1], found is not None)


def _relabel(e: Evaluated, label: str, budget: float) -> Evaluated:
    return Evaluated(label, budget, e.point, e.final, e.cost)


def raise_min_cost(ev: Evaluator, cap: float) -> None:
    """The levers' ``min`` sizes alone cost more than the budget: bad input, one line."""
    from sim.errors import SimInputError

    need = ev.cost(start_state(ev))[1]
    raise SimInputError(
        f"planner.budget_vnd: {cap:.4g} is below the {need:.4g} VND that the levers' min sizes cost; "
        f"allowed: at least {need:.4g}, or lower planner.levers[].min"
    )
