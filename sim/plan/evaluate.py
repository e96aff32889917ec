"""Evaluating allocations: allocation -> scenario lever entries -> cost and ensemble outcomes.

An allocation is an integer array ``k`` of shape ``(n_levers, n_groups)``: lever ``li`` has size
``LeverSpec.size(k[li, g])`` in province group ``g`` (a lever with ``scope: national`` uses only
column 0). Every allocation is run with the same replicate numbers as :func:`sim.ensemble.run_ensemble`
(replicate ``r`` of draw ``d`` uses the random streams of global replicate ``d * n_reps + r``), so
two allocations differ only through their levers (common random numbers).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from sim.config import RunConfig, ScenarioConfig
from sim.ensemble import EnsembleResult, parameter_sets, run_replicate, sigint_ignored, spawn_pool, stop_workers
from sim.plan.spec import Plan, entry_for
from sim.behaviour.adoption import FULL
from sim.results import RunResult

log = logging.getLogger(__name__)


def _job(args: tuple) -> RunResult:
    cfg, observed, replicate, draw, values = args
    return run_replicate(cfg, observed, replicate, draw, values, keep_state=False)  # the planner does not use it


@dataclass
class Outcome:
    """What the planner needs from one allocation's ensemble.

    Attributes:
        values: ``(n_runs, n_targets)`` year-to-date share at each target's deadline (0-1).
        met: ``(n_runs,)`` True where every target is met.
        objective: mean over runs of ``sigmoid(min_t (value - threshold) / temperature)``.
        region_shares: ``{region: mean local fully-online share in the deadline year}`` (0-1).
        ensemble: the full ensemble (kept for final evaluations only).
    """

    values: np.ndarray
    met: np.ndarray
    objective: float
    region_shares: dict[str, float]
    ensemble: EnsembleResult | None = None

    @property
    def p(self) -> float:
        """Share of runs that meet every target."""
        return float(self.met.mean())

    @property
    def region_gap_pp(self) -> float:
        """Highest minus lowest region's local share, percentage points."""
        v = list(self.region_shares.values())
        return 100.0 * (max(v) - min(v)) if v else 0.0


class Evaluator:
    """Runs allocations as ensembles (in batches, on one process pool) and prices them.

    Args:
        cfg: the validated model config; its timeline is cut at the plan's latest deadline.
        plan: validated planner inputs.
        observed: observed data.
        search: True for the coarse search scale (``planner.search_*``), False for the final one.
    """

    def __init__(self, cfg: RunConfig, plan: Plan, observed, search: bool) -> None:
        s = plan.spec
        cfg = dataclasses.replace(cfg, timeline=dataclasses.replace(cfg.timeline, end=plan.end))
        if search:
            pop = dataclasses.replace(cfg.population, scale=s.search_scale)
            ens = dataclasses.replace(cfg.ensemble, n_reps=s.search_n_reps, n_draws=s.search_n_draws, p_tolerance=0.0)
            cfg = dataclasses.replace(cfg, population=pop, ensemble=ens)
        self.cfg, self.plan, self.observed, self.search = cfg, plan, observed, search
        self.sets = parameter_sets(cfg)
        self.n_runs = len(self.sets) * cfg.ensemble.n_reps
        self._cost_cache: dict[tuple, tuple[float, float, float]] = {}
        self._pool: ProcessPoolExecutor | None = None
        self.n_evaluated = 0

    # ---- costs --------------------------------------------------------------------------
    def entries(self, k: np.ndarray | None) -> list[dict]:
        """Scenario lever entries of allocation ``k`` (sizes of 0 are left out; ``None`` = no levers)."""
        out: list[dict] = []
        if k is None:
            return out
        for lev, row in zip(self.plan.levers, k, strict=True):
            for g, group in enumerate(self.plan.groups_of(lev)):
                size = lev.size(int(row[g]))
                if size > 0:
                    out.append(entry_for(lev, size, group.codes))
        return out

    def part_cost(self, lever: int, group: int, step: int) -> tuple[float, float, float]:
        """``(low, central, high)`` VND of one lever in one group at increment ``step``."""
        key = (lever, group, step)
        if key not in self._cost_cache:
            from sim.levers import REGISTRY

            lev = self.plan.levers[lever]
            size = lev.size(step)
            if size <= 0:
                self._cost_cache[key] = (0.0, 0.0, 0.0)
            else:
                codes = self.plan.groups_of(lev)[group].codes
                obj = REGISTRY[lev.kind].from_entry(entry_for(lev, size, codes), "planner.levers", self.cfg)
                self._cost_cache[key] = obj.cost_range(self.cfg, self.observed)
        return self._cost_cache[key]

    def cost(self, k: np.ndarray) -> tuple[float, float, float]:
        """``(low, central, high)`` VND of allocation ``k`` up to the deadline."""
        total = np.zeros(3)
        for li, lev in enumerate(self.plan.levers):
            for g in range(len(self.plan.groups_of(lev))):
                total += self.part_cost(li, g, int(k[li, g]))
        return tuple(float(x) for x in total)

    # ---- running ------------------------------------------------------------------------
    def config(self, k: np.ndarray | None, name: str) -> RunConfig:
        """The model config of allocation ``k`` as a scenario called ``name``."""
        scen = ScenarioConfig(name=name, description="planner allocation", levers=self.entries(k))
        return dataclasses.replace(self.cfg, scenario=scen)

    def _jobs(self, cfg: RunConfig) -> list[tuple]:
        per = cfg.ensemble.n_reps
        draws = cfg.ensemble.n_draws > 0
        return [
            (cfg, self.observed, d * per + r if draws else r, d, v) for d, v in enumerate(self.sets) for r in range(per)
        ]

    def run(self, allocations: list[np.ndarray | None], names: list[str] | None = None) -> list[Outcome]:
        """Evaluate several allocations in one batch (all their runs share the pool)."""
        names = names or [f"candidate_{i}" for i in range(len(allocations))]
        cfgs = [self.config(k, n) for k, n in zip(allocations, names, strict=True)]
        jobs = [job for c in cfgs for job in self._jobs(c)]
        t0 = time.perf_counter()
        if self.cfg.ensemble.n_jobs == 1 or len(jobs) == 1:
            results = [_job(j) for j in jobs]
        else:
            if self._pool is None:
                self._pool = spawn_pool(self.cfg.ensemble.n_jobs)
            try:
                with sigint_ignored():  # the workers spawned by these submits ignore Ctrl-C
                    pending = self._pool.map(_job, jobs)
                results = list(pending)
            except BaseException:  # interrupted or failed: stop the workers, do not wait for them
                stop_workers(self._pool)
                self._pool = None
                raise
        self.n_evaluated += len(allocations)
        log.info(
            "%s: %d allocation(s) x %d runs in %.1f s",
            "search" if self.search else "final",
            len(allocations),
            self.n_runs,
            time.perf_counter() - t0,
        )
        out = []
        for i, c in enumerate(cfgs):
            ens = EnsembleResult(c, results[i * self.n_runs : (i + 1) * self.n_runs])
            out.append(self.outcome(ens, keep=not self.search))
        return out

    def close(self) -> None:
        """Shut the worker pool down."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    # ---- reductions ---------------------------------------------------------------------
    def outcome(self, ens: EnsembleResult, keep: bool) -> Outcome:
        """Reduce an ensemble to the target values, the joint success and the smooth objective."""
        stacked, dates = ens.indicators(), ens.dates
        tg = self.plan.targets
        values = np.column_stack(
            [stacked[(r.indicator + "_ytd", r.scope)][:, dates.index(r.deadline)] for r in tg.itertuples()]
        )
        thresholds = tg["threshold"].to_numpy(float)
        margin = np.nan_to_num(values - thresholds, nan=-1.0).min(axis=1)
        objective = float(np.mean(1.0 / (1.0 + np.exp(-margin / (self.plan.spec.temperature_pp / 100.0)))))
        return Outcome(values, margin >= 0, objective, region_shares(ens, self.plan), ens if keep else None)


def region_shares(ens: EnsembleResult, plan: Plan) -> dict[str, float]:
    """Mean over runs of each GSO region's local fully-online share in the year of the latest
    deadline (dossiers summed over the region's simulated provinces and the year's months)."""
    from sim.levers.common import province_table

    table = province_table(ens.cfg.observed_dir)
    year = plan.end[:4]
    months = [i for i, d in enumerate(ens.dates) if d.startswith(year)]
    first = ens.results[0]
    regions = table.loc[list(first.codes), "region_gso6"].astype(str).to_numpy()
    out = {}
    for reg in sorted(set(regions)):
        idx = np.flatnonzero(regions == reg)
        shares = []
        for r in ens.results:
            d = r.dossiers[months][:, idx, 1].sum(axis=(0, 1)).astype(float)
            shares.append(d[FULL] / d.sum() if d.sum() > 0 else np.nan)
        out[reg] = float(np.nanmean(shares))
    return out
