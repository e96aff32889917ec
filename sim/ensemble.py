"""Ensembles: replicates x parameter draws, run in parallel, reduced to quantiles and P(target met).

Replicate ``r`` always uses the random streams keyed by ``(rng_seed, r, stream, month)``, whichever
process runs it, so serial and parallel runs give identical numbers, and two scenarios run with the
same seed see the same random numbers (common random numbers).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.errors import SimInputError
from sim.results import RunResult, stack_indicators, summary_table, targets_table

if TYPE_CHECKING:
    from sim.observed import ObservedData

log = logging.getLogger(__name__)


def build_levers(cfg: RunConfig) -> list:
    """Lever objects of the scenario (validated by :mod:`sim.levers`)."""
    from sim.levers import build

    return build(cfg.scenario.levers, cfg)


def parameter_sets(cfg: RunConfig) -> list:
    """Parameter sets of the ensemble: the point values (posterior draws come with calibration)."""
    if cfg.ensemble.n_draws == 0:
        return [cfg.params]
    raise SimInputError(
        f"ensemble.n_draws: {cfg.ensemble.n_draws} needs a calibrated posterior, "
        "which this params file does not hold; allowed: 0"
    )


def run_replicate(
    cfg: RunConfig, observed: ObservedData, replicate: int, draw: int = 0, params=None, progress: bool = False
) -> RunResult:
    """Build and run one model; returns its recorded result."""
    from sim.model import AdoptionModel

    if params is not None:
        cfg = dataclasses.replace(cfg, params=params)
    model = AdoptionModel(cfg, observed, replicate=replicate, levers=build_levers(cfg))
    n = model.timeline.n_months
    t0 = time.perf_counter()

    def report(t: int, total: int) -> None:
        if progress and (t % 12 == 0 or t == total):
            log.info(
                "replicate %d: %s done (%d/%d months, %.1f s)",
                replicate,
                model.timeline.label(t - 1),
                t,
                total,
                time.perf_counter() - t0,
            )

    model.run(report if progress else None)
    assert model.t == n
    return model.recorder.result(replicate, draw)


def _job(args: tuple) -> RunResult:
    cfg, observed, replicate, draw, params = args
    return run_replicate(cfg, observed, replicate, draw, params)


@dataclass
class EnsembleResult:
    """All replicates of one scenario, with reductions."""

    cfg: RunConfig
    results: list[RunResult]

    @property
    def dates(self) -> list[str]:
        """Month labels."""
        return self.results[0].timeline.labels()

    def indicators(self) -> dict[tuple[str, str], np.ndarray]:
        """``{(indicator, scope): (n_replicates, n_months)}``."""
        if not hasattr(self, "_stacked"):
            self._stacked = stack_indicators(self.results)
        return self._stacked

    def summary(self) -> pd.DataFrame:
        """The tidy ``summary.csv`` table."""
        return summary_table(self.indicators(), self.dates, self.cfg.scenario.name)

    def targets(self, observed: ObservedData) -> pd.DataFrame:
        """The ``targets.csv`` table: national targets and the localities target in every province."""
        t = observed.targets
        extra = []
        for r in t[(t["scope"] == "localities") & t["modelled"].astype(bool)].itertuples():
            extra += [
                (r.target_id, r.indicator, code, r.deadline, float(r.threshold)) for code in self.results[0].codes
            ]
        return targets_table(self.indicators(), self.dates, t, self.cfg.scenario.name, extra)


def run_ensemble(cfg: RunConfig, observed: ObservedData | None = None, progress: bool = True) -> EnsembleResult:
    """Run ``n_reps`` replicates for each parameter set, on ``n_jobs`` processes.

    Args:
        cfg: validated run config.
        observed: observed data (loaded from ``cfg.observed_dir`` when omitted).
        progress: log progress (per month for a single replicate, per replicate otherwise).
    """
    if observed is None:
        from sim.observed import load_observed

        observed = load_observed(cfg.observed_dir or None)
    from sim.model import select_provinces

    select_provinces(observed.provinces, cfg.population.provinces)  # fail before any process starts
    build_levers(cfg)
    jobs = [
        (cfg, observed, d * cfg.ensemble.n_reps + r, d, params)
        for d, params in enumerate(parameter_sets(cfg))
        for r in range(cfg.ensemble.n_reps)
    ]
    t0 = time.perf_counter()
    if len(jobs) == 1 or cfg.ensemble.n_jobs == 1:
        results = []
        for i, (c, o, rep, d, prm) in enumerate(jobs):
            results.append(run_replicate(c, o, rep, d, prm, progress=progress and len(jobs) == 1))
            if progress and len(jobs) > 1:
                log.info("replicate %d/%d done (%.1f s)", i + 1, len(jobs), time.perf_counter() - t0)
        return EnsembleResult(cfg, results)
    ctx = multiprocessing.get_context("spawn")
    out: dict[int, RunResult] = {}
    with ProcessPoolExecutor(max_workers=min(cfg.ensemble.n_jobs, len(jobs)), mp_context=ctx) as pool:
        futures = {pool.submit(_job, job): job[2] for job in jobs}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            if progress:
                log.info("replicate %d/%d done (%.1f s)", len(out), len(jobs), time.perf_counter() - t0)
    return EnsembleResult(cfg, [out[k] for k in sorted(out)])
