"""The search: a budget-constrained greedy over lever increments, then differential evolution
(scipy) from the greedy's answer, then full-scale re-evaluation.

Greedy (transparent for planners, and every step is a decision one can read): start from every
lever at its ``min`` in every group; at each step evaluate every one-increment move (one lever,
one group, one step up) that stays within the budget, all with the same random numbers; take the
move with the largest gain of the smooth objective per VND (ties: the first in lever, group order);
stop when no affordable move raises the objective. The path of accepted moves is nested, so the
plan for a smaller budget is the last path state that fits it (the budget frontier).

Differential evolution (``planner.optimizer: de``, :func:`refine_de`): the greedy's answer is the
first member of the population of :func:`scipy.optimize.differential_evolution` over the integer
lever-step grid (one variable per lever and group), the budget a constraint on the central cost;
each generation is one batch through :meth:`Evaluator.run` (same random numbers, allocations met
before are not run again). The reported plan is the better of the two by the search objective;
the chosen plans are then re-run at the final scale with more runs, and reported with their
Jeffreys interval.

ASSUMPTION: the objective is smooth enough in the lever sizes for one-step moves to find a good
plan; a move that only pays off together with another (e.g. supply and back office) may be missed
when neither alone raises the objective (differential evolution moves several variables at once
and can find such pairs, within its generations). With common random numbers the objective
differences between moves are mostly model differences, not noise, even at a few replicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from sim.plan.evaluate import Evaluator, Outcome
from sim.results import p_met_interval

log = logging.getLogger(__name__)


@dataclass
class Point:
    """One searched state: allocation, cost, its search-scale outcome and the stage that found it."""

    k: np.ndarray
    cost: tuple[float, float, float]
    search: Outcome
    move: str = "start"
    stage: str = "greedy"


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
    de: Point | None = None  # the differential evolution's best state (None: not run)
    stages: dict[str, dict] = field(default_factory=dict)  # per stage: candidates run, etc.

    @property
    def answer_stage(self) -> str:
        """``greedy`` or ``de``: the stage whose state is the reported plan."""
        return self.chosen.point.stage if self.chosen.point is not None else "greedy"


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


def greedy(ev: Evaluator, cap: float, seen: dict[bytes, Outcome] | None = None) -> Iterator[Point]:
    """Yield the greedy path from the start state (see module docstring).

    Args:
        ev: the search-scale evaluator.
        cap: largest central cost allowed, VND (``inf`` = the levers' bounds only).
        seen: if given, every evaluated allocation's outcome is stored here (``k.tobytes()``).
    """
    seen = {} if seen is None else seen
    k = start_state(ev)
    cost = ev.cost(k)
    if cost[1] > cap:
        return
    (current,) = ev.run([k], ["start"])
    seen[k.tobytes()] = current
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
        seen.update((m[2].tobytes(), o) for m, o in zip(moves, outcomes, strict=True))
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


def to_vector(ev: Evaluator, k: np.ndarray) -> np.ndarray:
    """The decision variables of allocation ``k``: one step count per (lever, group) cell."""
    return np.array([k[li, g] for li, g in _cells(ev)], float)


def from_vector(ev: Evaluator, x: np.ndarray) -> np.ndarray:
    """The allocation of decision variables ``x`` (rounded to whole steps)."""
    k = start_state(ev)
    for (li, g), v in zip(_cells(ev), x, strict=True):
        k[li, g] = int(np.rint(v))
    return k


Score = Callable[[Outcome, float], float]
"""The search objective that differential evolution minimises: (search outcome, central cost) -> value."""


def max_probability_score(limit_pp: float, start_gap_pp: float) -> Score:
    """Minus the smooth objective; an allocation that leaves the regions' gap above what the greedy
    allows (``max(limit, gap of the start state)``) scores above every allowed one (1 + excess)."""
    allowed = max(limit_pp, start_gap_pp)

    def score(out: Outcome, cost: float) -> float:
        if limit_pp > 0 and out.region_gap_pp > allowed:
            return 1.0 + (out.region_gap_pp - allowed) / 100.0
        return -out.objective

    return score


def min_cost_score(required: float, top_cost: float, limit_pp: float, start_gap_pp: float) -> Score:
    """Central cost / ``top_cost`` (0-1) where the search estimate of P reaches ``required`` (and the
    regions' gap is allowed); otherwise ``1 + (required - P) + (1 - objective)`` (+ gap excess / 100),
    so that an allocation short of the requirement always scores worse and nearer ones better."""
    allowed = max(limit_pp, start_gap_pp)
    top = top_cost if top_cost > 0 else 1.0

    def score(out: Outcome, cost: float) -> float:
        excess = max(out.region_gap_pp - allowed, 0.0) if limit_pp > 0 else 0.0
        if out.p >= required and excess == 0:
            return cost / top
        return 1.0 + max(required - out.p, 0.0) + (1.0 - out.objective) + excess / 100.0

    return score


def refine_de(ev: Evaluator, start: Point, cap: float, score: Score, seen: dict[bytes, Outcome]) -> tuple[Point, dict]:
    """Differential evolution over the lever-step grid from ``start``; returns its best state and facts.

    :func:`scipy.optimize.differential_evolution` with one integer variable per (lever, group)
    cell in ``[0, steps]``, ``start`` as the first member of the initial population (``x0``), the
    central cost ``<= cap`` as a constraint (members over the budget are never run), ``best1bin``
    with ``planner.de_popsize`` x variables members for ``planner.de_maxiter`` generations (no
    relative tolerance: it stops early only when every member scores the same), no polishing, and
    its random generator seeded with ``rng_seed`` (same config, same plan). Each generation's
    members are run as one batch of :meth:`Evaluator.run` with the search's common random numbers;
    an allocation already in ``seen`` (the greedy's candidates, earlier members) is not run again,
    so its value is exactly the one it had.

    Returns:
        The best state (``stage="de"``; it is ``start``'s allocation when nothing scored better) and
        ``{candidates, trials, generations, population, message}``: allocations run, members
        scored (including those met before), generations and scipy's stop message.
    """
    from scipy.optimize import NonlinearConstraint, differential_evolution

    spec = ev.plan.spec
    cells = _cells(ev)
    steps = np.array([ev.plan.levers[li].steps for li, _ in cells])
    table = np.zeros((len(cells), int(steps.max()) + 1))
    for c, (li, g) in enumerate(cells):
        table[c, : steps[c] + 1] = [ev.part_cost(li, g, s)[1] for s in range(steps[c] + 1)]
    rows = np.arange(len(cells))

    def central(x: np.ndarray) -> np.ndarray:
        """Central cost of ``x``: shape ``(N,)`` -> ``(1,)``, ``(N, S)`` -> ``(1, S)`` (the constraint)."""
        if x.ndim == 1:
            return np.array([table[rows, np.clip(np.rint(x).astype(int), 0, steps)].sum()])
        idx = np.clip(np.rint(x).astype(int), 0, steps[:, None])
        return table[rows[:, None], idx].sum(axis=0)[None, :]

    counts = {"trials": 0, "run": 0}
    n0 = ev.n_evaluated

    def energy(x: np.ndarray) -> np.ndarray:
        ks = [from_vector(ev, x[:, j]) for j in range(x.shape[1])]
        new: dict[bytes, np.ndarray] = {}
        for k in ks:
            if k.tobytes() not in seen:
                new.setdefault(k.tobytes(), k)
        if new:
            names = [f"de_{counts['run'] + i}" for i in range(len(new))]
            seen.update(zip(new, ev.run(list(new.values()), names), strict=True))
            counts["run"] += len(new)
        counts["trials"] += len(ks)
        return np.array([score(seen[k.tobytes()], ev.cost(k)[1]) for k in ks])

    constraints = () if not np.isfinite(cap) else (NonlinearConstraint(central, -np.inf, cap * (1 + 1e-12)),)
    res = differential_evolution(
        energy,
        bounds=[(0, int(s)) for s in steps],
        strategy="best1bin",
        maxiter=spec.de_maxiter,
        popsize=spec.de_popsize,
        rng=int(ev.cfg.rng_seed),
        polish=False,
        tol=0.0,
        init="latinhypercube",
        updating="deferred",
        constraints=constraints,
        x0=to_vector(ev, start.k),
        integrality=np.ones(len(cells), bool),
        vectorized=True,
    )
    k = from_vector(ev, res.x)
    cost = ev.cost(k)
    if k.tobytes() not in seen or cost[1] > cap * (1 + 1e-12):  # not a scored, affordable member
        k, cost = start.k.copy(), start.cost
    facts = {
        "candidates": ev.n_evaluated - n0,
        "trials": counts["trials"],
        "generations": int(res.nit),
        "population": max(5, spec.de_popsize * len(cells)),
        "message": str(res.message),
    }
    move = f"differential evolution: {facts['generations']} generations, {facts['candidates']} candidates run"
    out = seen[k.tobytes()]
    log.info("%s (objective %.4g, P %.3f, cost %.4g VND)", move, out.objective, out.p, cost[1])
    return Point(k, cost, out, move, stage="de"), facts


def plan_max_probability(search: Evaluator, final: Evaluator) -> PlanResult:
    """Maximise P(every target met) within ``planner.budget_vnd``; frontier at its fractions.

    The greedy path gives the frontier (its last state within each budget fraction); with
    ``planner.optimizer: de`` differential evolution refines the full-budget plan from the greedy's
    last state, and the better of the two by the search objective is the reported plan.
    """
    spec = search.plan.spec
    budget = spec.budget_vnd
    seen: dict[bytes, Outcome] = {}
    path = list(greedy(search, budget, seen))
    if not path:
        search.close()
        raise_min_cost(search, budget)
    stages: dict[str, dict] = {"greedy": {"candidates": search.n_evaluated}}
    best, de = path[-1], None
    if spec.optimizer == "de":
        score = max_probability_score(spec.equity_max_gap_pp, path[0].search.region_gap_pp)
        de, stages["de"] = refine_de(search, best, budget, score, seen)
        if score(de.search, de.cost[1]) < score(best.search, best.cost[1]):
            best = de
    search.close()  # the search's workers are not needed for the final runs
    fracs = sorted(set(spec.frontier) | {1.0})
    items: list[tuple[str, float, Point | None]] = [("baseline", 0.0, None)]
    items += [(f"budget_{f:g}", f * budget, best if f == 1.0 else last_within(path, f * budget)) for f in fracs]
    items += [("costs_x", budget / spec.cost_factor, last_within(path, budget / spec.cost_factor))]
    items = [(lab, b, p) for lab, b, p in items if lab == "baseline" or p is not None]
    done = evaluate_final(final, items)
    baseline, frontier = done[0], [e for e in done if e.label.startswith("budget_")]
    robust = next((e for e in done if e.label == "costs_x"), None)
    chosen = frontier[-1]
    return PlanResult("max_probability", path, baseline, frontier, chosen, chosen.p > 0, robust, de=de, stages=stages)


def plan_min_cost(search: Evaluator, final: Evaluator) -> PlanResult:
    """The cheapest plan whose final-scale P(every target met) reaches the requirement.

    The greedy path is followed until the search estimate reaches ``required_probability``; that
    state is re-run at the final scale; if it falls short the path goes on. When it holds, the
    earlier states from there back are bisected at the final scale for the cheapest one that also
    holds (assuming P rises along the path). If the path ends first, the requirement is not
    reachable within the levers' bounds and the best state found is reported.

    With ``planner.optimizer: de``, differential evolution then minimises the central cost subject
    to the search estimate of P reaching the requirement (:func:`min_cost_score`), from the greedy's
    answer; a cheaper state it finds is re-run at the final scale and replaces the greedy's answer
    only if it holds there too (when the greedy found none, a state that holds makes the
    requirement reachable).
    """
    spec = search.plan.spec
    cap = spec.budget_vnd if spec.budget_vnd > 0 else float("inf")
    req = spec.required_probability
    path: list[Point] = []
    seen: dict[bytes, Outcome] = {}
    found: Evaluated | None = None
    checked_lo = 0
    last_final: Evaluated | None = None
    for point in greedy(search, cap, seen):
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
    stages: dict[str, dict] = {"greedy": {"candidates": search.n_evaluated, "final_checks": final.n_evaluated}}
    notes: list[str] = []
    de = None
    floor = search.cost(start_state(search))[1]
    if spec.optimizer == "de" and found is not None and found.cost[1] <= floor:
        stages["de"] = {"candidates": 0, "note": "not run: the greedy plan costs no more than the levers' min sizes"}
    elif spec.optimizer == "de":
        final.close()  # the final workers are idle while the search runs
        start = (found or last_final).point
        top = search.cost(np.array([[lev.steps] * start.k.shape[1] for lev in search.plan.levers]))[1]
        score = min_cost_score(req, top, spec.equity_max_gap_pp, path[0].search.region_gap_pp)
        de, stages["de"] = refine_de(search, start, cap, score, seen)
        cheaper = found is None or de.cost[1] < found.cost[1]
        if score(de.search, de.cost[1]) <= 1.0 and cheaper and de.k.tobytes() != start.k.tobytes():
            n0 = final.n_evaluated
            (check,) = evaluate_final(final, [("check", de.cost[1], de)])
            stages["de"]["final_checks"] = final.n_evaluated - n0
            stages["de"]["final_check_p_met"] = check.p
            if check.p >= req:
                found = check
            else:
                notes.append(
                    f"differential evolution's cheaper plan ({de.cost[1]:.4g} VND) reached P = {check.p:.3f} "
                    f"at the final scale, short of {req:g}; the greedy's plan is reported"
                )
    search.close()
    chosen = found or last_final
    ref = chosen.cost[1]
    items: list[tuple[str, float, Point | None]] = [("baseline", 0.0, None)]
    items += [(f"budget_{f:g}", f * ref, last_within(path, f * ref)) for f in sorted(set(spec.frontier) - {1.0})]
    done = evaluate_final(final, [i for i in items if i[0] == "baseline" or i[2] is not None])
    frontier = [e for e in done if e.label != "baseline"] + [_relabel(chosen, "budget_1", ref)]
    return PlanResult(
        "min_cost", path, done[0], frontier, frontier[-1], found is not None, notes=notes, de=de, stages=stages
    )


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
