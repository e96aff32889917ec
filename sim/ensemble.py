"""Ensembles: replicates x parameter draws, run in parallel, reduced to quantiles and P(target met).

Replicate ``r`` always uses the random streams keyed by ``(rng_seed, r, stream, month)``, whichever
process runs it, so serial and parallel runs give identical numbers, and two scenarios run with the
same seed see the same random numbers (common random numbers).
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim.config import CONF_DIR, RunConfig
from sim.errors import SimInputError
from sim.results import RunResult, stack_indicators, summary_table, targets_table

if TYPE_CHECKING:
    from sim.observed import ObservedData

log = logging.getLogger(__name__)


def build_levers(cfg: RunConfig) -> list:
    """Lever objects of the scenario (validated by :mod:`sim.levers`)."""
    from sim.levers import build

    return build(cfg.scenario.levers, cfg)


def parameter_sets(cfg: RunConfig) -> list[dict[str, float]]:
    """The ensemble's parameter sets as dotted-key values (``{}`` = the point values of the config).

    With ``ensemble.n_draws = k > 0`` these are the first ``k`` rows of the posterior draws file
    named by ``params.posterior_file`` (written by ``python -m sim.calibrate`` in random order with
    equal weights, so the first ``k`` rows are a random sample of the posterior).

    Raises:
        SimInputError: draws requested from a params file without a posterior, a missing or
            malformed draws file, or more draws than it holds.
    """
    n = cfg.ensemble.n_draws
    if n == 0:
        return [{}]
    if not cfg.params.posterior_file:
        raise SimInputError(
            f"ensemble.n_draws: {n} needs a calibrated posterior, which this params file does not hold; "
            "allowed: 0, or params=<a calibrated params file such as calibrated>"
        )
    draws = read_draws(CONF_DIR / "params" / cfg.params.posterior_file)
    if n > len(draws):
        raise SimInputError(f"ensemble.n_draws: {n} is more than the {len(draws)} posterior draws; allowed: 0 to {len(draws)}")
    return draws[:n]


def read_draws(path: Path) -> list[dict[str, float]]:
    """Posterior draws: a CSV with a ``draw`` column and one column per dotted config key.

    Raises:
        SimInputError: missing file, unknown column, or a non-finite value (one line).
    """
    from sim.calibration.priors import numeric_keys

    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SimInputError(f"params.posterior_file: cannot read {path} ({str(exc).splitlines()[0]})") from None
    allowed = set(numeric_keys())
    keys = [c for c in table.columns if c != "draw"]
    bad = [c for c in keys if c not in allowed]
    if bad or not keys or "draw" not in table.columns:
        raise SimInputError(
            f"{path}: column '{(bad or ['draw'])[0]}' is not allowed; allowed: draw and dotted config keys "
            "such as params.q_imitation"
        )
    values = table[keys].to_numpy(float)
    if not np.isfinite(values).all():
        raise SimInputError(f"{path}: non-finite value; allowed: finite numbers")
    return [dict(zip(keys, row.tolist(), strict=True)) for row in values]


def run_replicate(
    cfg: RunConfig,
    observed: ObservedData,
    replicate: int,
    draw: int = 0,
    values: dict[str, float] | None = None,
    progress: bool = False,
) -> RunResult:
    """Build and run one model; returns its recorded result.

    Args:
        values: dotted config keys set for this run (a posterior draw); ``None`` = ``cfg`` as it is.
    """
    from sim.model import AdoptionModel

    if values:
        from sim.calibration.priors import apply_values

        cfg = apply_values(cfg, values)
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
    result = model.recorder.result(replicate, draw)
    # mesa 3.3 keeps every model as a key of the class-level id counters of Agent: release it,
    # or each run's population stays in memory until the process ends
    mesa.Agent._ids.pop(model, None)
    return result


def _job(args: tuple) -> RunResult:
    cfg, observed, replicate, draw, values = args
    return run_replicate(cfg, observed, replicate, draw, values)


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
        (cfg, observed, d * cfg.ensemble.n_reps + r, d, values)
        for d, values in enumerate(parameter_sets(cfg))
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
