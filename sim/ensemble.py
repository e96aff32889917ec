"""Ensembles: replicates x parameter draws, run in parallel, reduced to quantiles and P(target met).

Replicate ``r`` always uses the random streams keyed by ``(rng_seed, r, stream, month)``, whichever
process runs it, so serial and parallel runs give identical numbers, and two scenarios run with the
same seed see the same random numbers (common random numbers).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.config import CONF_DIR, RunConfig
from sim.errors import SimInputError
from sim.results import RunResult, p_met_interval, stack_indicators, summary_table, targets_table

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
        raise SimInputError(
            f"ensemble.n_draws: {n} is more than the {len(draws)} posterior draws; allowed: 0 to {len(draws)}"
        )
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
    keep_state: bool = True,
) -> RunResult:
    """Build and run one model; returns its recorded result.

    Args:
        values: dotted config keys set for this run (a posterior draw); ``None`` = ``cfg`` as it is.
        keep_state: record the province state by month (``RunResult.state``; see
            :class:`sim.model.AdoptionModel`).
    """
    from sim.model import AdoptionModel

    if values:
        from sim.calibration.priors import apply_values

        cfg = apply_values(cfg, values)
    model = AdoptionModel(cfg, observed, replicate=replicate, levers=build_levers(cfg), keep_state=keep_state)
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
    model.close()  # frees its citizens now, not when the cycle collector runs (AdoptionModel.close)
    return result


def _job(args: tuple) -> RunResult:
    cfg, observed, replicate, draw, values, keep_state = args
    return run_replicate(cfg, observed, replicate, draw, values, keep_state=keep_state)


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


TOLERANCE_SCOPES = ("national", "ministries", "localities")


def mc_halfwidth(table: pd.DataFrame) -> float:
    """Largest 95 % half-width of P(target met) over the national, ministries and localities rows."""
    rows = table[table["scope"].isin(TOLERANCE_SCOPES)]
    return float(((rows["p_met_hi"] - rows["p_met_lo"]) / 2).max()) if len(rows) else 0.0


class _MetCounts:
    """Runs that meet each national and tier target, counted as runs arrive: the adaptive loop's
    :func:`mc_halfwidth` (the same values) without restacking every earlier run at each batch,
    which made the loop's cost grow with the square of its runs."""

    def __init__(self, observed: ObservedData) -> None:
        t = observed.targets
        self.targets = t[t["scope"].isin(TOLERANCE_SCOPES)]
        self.met: np.ndarray | None = None
        self.n = 0

    def add(self, results: list[RunResult]) -> None:
        for r in results:
            table = targets_table(stack_indicators([r]), r.timeline.labels(), self.targets, "")
            met = table.loc[table["scope"].isin(TOLERANCE_SCOPES), "p_met"].to_numpy(int)
            self.met = met if self.met is None else self.met + met
            self.n += 1

    def halfwidth(self) -> float:
        if self.met is None or not self.met.size:
            return 0.0
        return max((hi - lo) / 2 for lo, hi in (p_met_interval(int(k), self.n) for k in self.met))


def run_ensemble(
    cfg: RunConfig, observed: ObservedData | None = None, progress: bool = True, keep_state: bool = True
) -> EnsembleResult:
    """Run ``n_reps`` replicates for each parameter set, on ``n_jobs`` processes.

    With ``ensemble.p_tolerance > 0`` the ensemble grows in batches (``n_draws`` more posterior
    draws, or ``n_reps`` more replicates at point values) until every national and tier
    probability of meeting a target has a 95 % Jeffreys half-width at or below the tolerance, the
    posterior draws run out, or ``ensemble.max_runs`` is reached. Batches are deterministic, so
    the same config and seed give the same ensemble; they run on one pool of worker processes.

    Args:
        cfg: validated run config.
        observed: observed data (loaded from ``cfg.observed_dir`` when omitted).
        progress: log progress (per month for a single replicate, per replicate otherwise).
        keep_state: keep each run's province state by month (``RunResult.state``). No output file
            uses it; without it a run holds 1.4 MB here instead of 3.8 MB (63 provinces, 168
            months), which is what large ensembles run out of.
    """
    if observed is None:
        from sim.observed import load_observed

        observed = load_observed(cfg.observed_dir or None)
    from sim.model import select_provinces

    select_provinces(observed.provinces, cfg.population.provinces)  # fail before any process starts
    build_levers(cfg)
    e = cfg.ensemble
    sets = parameter_sets(cfg)

    def jobs(batch: list, first_draw: int, first_rep: int = 0) -> list[tuple]:
        return _jobs(cfg, observed, batch, first_draw, e.n_reps, first_rep, keep_state)

    first = jobs(sets, 0)
    if e.p_tolerance <= 0:
        return EnsembleResult(cfg, _run_jobs(cfg, first, progress))
    pool = parameter_sets(dataclasses.replace(cfg, ensemble=dataclasses.replace(e, n_draws=_n_available(cfg))))
    n_sets, n_reps = len(sets), e.n_reps
    with _workers(cfg) as workers:
        results = _run_jobs(cfg, first, progress, workers)
        counts = _MetCounts(observed)
        counts.add(results)
        while (hw := counts.halfwidth()) > e.p_tolerance:
            room = (e.max_runs - len(results)) // e.n_reps  # parameter sets that fit under the cap
            if e.n_draws > 0 and n_sets < len(pool) and room > 0:
                batch = pool[n_sets : n_sets + min(e.n_draws, room)]
                new = _run_jobs(cfg, jobs(batch, n_sets), progress, workers)
                n_sets += len(batch)
            elif e.n_draws == 0 and room > 0:
                new = _run_jobs(cfg, jobs(sets, 0, first_rep=n_reps), progress, workers)
                n_reps += e.n_reps
            else:
                msg = "p_tolerance %.3g not reached: half-width %.4g after %d runs"
                log.warning(msg, e.p_tolerance, hw, len(results))
                break
            results += new
            counts.add(new)
            log.info("Monte-Carlo half-width %.4g > %.4g: %d runs now", hw, e.p_tolerance, len(results))
    grown = dataclasses.replace(e, n_draws=n_sets if e.n_draws else 0, n_reps=n_reps if not e.n_draws else e.n_reps)
    return EnsembleResult(dataclasses.replace(cfg, ensemble=grown), results)


def _n_available(cfg: RunConfig) -> int:
    """Posterior draws in the params file (0 without one)."""
    if cfg.ensemble.n_draws == 0:
        return 0
    return len(read_draws(CONF_DIR / "params" / cfg.params.posterior_file))


def _jobs(
    cfg, observed, sets, first_draw: int, n_reps: int, first_rep: int = 0, keep_state: bool = True
) -> list[tuple]:
    """Jobs ``(cfg, observed, replicate, draw, values, keep_state)``: replicate ``r`` of draw ``d``
    uses the random streams of global replicate ``d * n_reps + r`` (point values: ``r``)."""
    per = cfg.ensemble.n_reps
    return [
        (
            cfg,
            observed,
            (first_draw + i) * per + first_rep + r if cfg.ensemble.n_draws else first_rep + r,
            first_draw + i,
            v,
            keep_state,
        )
        for i, v in enumerate(sets)
        for r in range(n_reps)
    ]


@contextmanager
def sigint_ignored():
    """Ctrl-C ignored while the body runs (in the main thread). Worker processes spawned meanwhile
    start with it ignored (an ignored signal is inherited across ``exec``), so Ctrl-C reaches only
    the main process, which stops them (:func:`stop_workers`) and marks the run failed; a worker
    interrupted while it imports the package would leave its pool broken and the command hung."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End a pool's worker processes at once (a run interrupted or failed), without waiting for
    the runs they hold."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False)


def spawn_pool(n_workers: int) -> ProcessPoolExecutor:
    """A pool of ``n_workers`` spawned (not forked) processes: each imports the package afresh, so
    none inherits the parent's threads or numba state. Submit to it under :func:`sigint_ignored`."""
    return ProcessPoolExecutor(max_workers=n_workers, mp_context=multiprocessing.get_context("spawn"))


@contextmanager
def worker_pool(n_workers: int):
    """:func:`spawn_pool` for the body; on an exception in it (Ctrl-C included) its workers are
    stopped at once, else shut down."""
    pool = spawn_pool(n_workers)
    try:
        yield pool
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


@contextmanager
def _workers(cfg: RunConfig):
    """One pool of ``ensemble.n_jobs`` spawned worker processes for every batch of an adaptive
    ensemble (``None`` when ``ensemble.n_jobs`` is 1: runs stay in this process). Spawning a pool
    costs about 2 s (each worker imports the package and loads the compiled kernel), which batches
    of two runs would pay every time."""
    if cfg.ensemble.n_jobs == 1:
        yield None
        return
    with worker_pool(cfg.ensemble.n_jobs) as pool:
        yield pool


def _run_jobs(cfg: RunConfig, jobs: list[tuple], progress: bool, workers=None) -> list[RunResult]:
    """Run jobs serially or on ``ensemble.n_jobs`` spawned processes (``workers``: a pool from
    :func:`_workers`, else one made for these jobs); results in job order."""
    t0 = time.perf_counter()
    if len(jobs) == 1 or cfg.ensemble.n_jobs == 1:
        results = []
        for i, (c, o, rep, d, prm, keep) in enumerate(jobs):
            results.append(run_replicate(c, o, rep, d, prm, progress=progress and len(jobs) == 1, keep_state=keep))
            if progress and len(jobs) > 1:
                log.info("replicate %d/%d done (%.1f s)", i + 1, len(jobs), time.perf_counter() - t0)
        return results
    if workers is None:
        with worker_pool(min(cfg.ensemble.n_jobs, len(jobs))) as pool:
            return _run_jobs(cfg, jobs, progress, pool)
    out: dict[int, RunResult] = {}
    with sigint_ignored():  # the workers spawned by these submits ignore Ctrl-C
        futures = {workers.submit(_job, job): i for i, job in enumerate(jobs)}
    for fut in as_completed(futures):
        out[futures[fut]] = fut.result()
        if progress:
            log.info("replicate %d/%d done (%.1f s)", len(out), len(jobs), time.perf_counter() - t0)
    return [out[k] for k in sorted(out)]
