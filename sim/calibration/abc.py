"""ABC-SMC calibration with pyabc: the model as a simulator, an exact stochastic acceptor, seeded workers.

The posterior is the one implied by the measurement model in ``conf/calibration``: each observed
share is ``logit(observed) = logit(model) + e`` with ``e ~ N(0, sd_logit^2)``. pyabc's
``StochasticAcceptor`` with an ``IndependentNormalKernel`` and a ``Temperature`` schedule accepts a
particle with probability proportional to that likelihood, so the last generation (temperature 1)
samples the exact posterior of this measurement model, not an epsilon approximation (Wilkinson
2013, Stat Appl Genet Mol Biol 12:129; Schälte & Hasenauer 2020, Bioinformatics 36:i551).

Simulation noise does not drive the fit: every particle runs the model with the same random
streams (common random numbers: ``rng_seed`` and replicates ``0..n_reps-1``), so the simulated
shares are a deterministic function of the parameters.

Reproducibility: :class:`SeededMappingSampler` gives task ``i`` of generation ``t`` its own seed
derived from ``(rng_seed, t, i)``; each task samples until it has one accepted particle. The
result is the same whatever the number of worker processes or machines, and a run resumed from its
database continues with the seeds an uninterrupted run would have used.
"""

from __future__ import annotations

import functools
import logging
import math
import multiprocessing
import os
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass

import cloudpickle
import numpy as np
import pyabc
from pyabc.sampler import MappingSampler

from sim.calibration.priors import Prior, apply_values
from sim.calibration.targets import CalibrationTarget, logit, model_values
from sim.config import RunConfig

log = logging.getLogger(__name__)
_OBSERVED_CACHE: dict[str, object] = {}


def _observed(observed_dir: str):
    """Observed data, loaded once per process."""
    if observed_dir not in _OBSERVED_CACHE:
        from sim.observed import load_observed

        _OBSERVED_CACHE[observed_dir] = load_observed(observed_dir or None)
    return _OBSERVED_CACHE[observed_dir]


def abc_name(i: int) -> str:
    """pyabc's name of prior ``i`` (config keys contain dots, so parameters are numbered)."""
    return f"p{i:02d}"


def to_abc_space(prior: Prior, x: float | np.ndarray):
    """Value on the scale ABC samples (log for loguniform priors, so proposals are well scaled)."""
    return np.log(x) if prior.dist == "loguniform" else x


def from_abc_space(prior: Prior, z: float | np.ndarray):
    """Inverse of :func:`to_abc_space`."""
    return np.exp(z) if prior.dist == "loguniform" else z


def abc_prior(priors: list[Prior]) -> pyabc.Distribution:
    """Independent uniform priors on the ABC scale (uniform or log-uniform on the natural scale)."""
    rvs = {}
    for i, p in enumerate(priors):
        lo, hi = (math.log(p.lower), math.log(p.upper)) if p.dist == "loguniform" else (p.lower, p.upper)
        rvs[abc_name(i)] = pyabc.RV("uniform", lo, hi - lo)
    return pyabc.Distribution(**rvs)


@dataclass
class Simulator:
    """The model as pyabc sees it: parameters in, logit shares at the targets out.

    Attributes:
        cfg: the run config every simulation starts from (population, timeline, seed).
        priors: the calibrated keys, in pyabc's numbering.
        fit: targets in the likelihood; ``all_targets``: every target (held-out ones included),
            whose values are stored with each particle for the predictive check.
    """

    cfg: RunConfig
    priors: list[Prior]
    fit: list[CalibrationTarget]
    all_targets: list[CalibrationTarget]

    def values(self, natural: dict[str, float]) -> np.ndarray:
        """Model shares at every target, averaged on the logit scale over the replicates."""
        from sim.ensemble import run_replicate

        cfg = apply_values(self.cfg, natural)
        observed = _observed(cfg.observed_dir)
        rows = []
        for rep in range(cfg.ensemble.n_reps):
            res = run_replicate(cfg, observed, rep, keep_state=False)
            ind = {k: v[None, :] for k, v in res.indicators().items()}
            rows.append(model_values(ind, res.timeline.labels(), self.all_targets)[0])
        z = logit(np.array(rows)).mean(axis=0)
        return 1.0 / (1.0 + np.exp(-z))

    def natural(self, pars) -> dict[str, float]:
        """Config values of a pyabc parameter set."""
        return {p.key: float(from_abc_space(p, pars[abc_name(i)])) for i, p in enumerate(self.priors)}

    def __call__(self, pars) -> dict:
        values = self.values(self.natural(pars))
        ids = [t.obs_id + t.name for t in self.all_targets]
        fit_idx = [ids.index(t.obs_id + t.name) for t in self.fit]
        return {"y": logit(values[fit_idx]), "all": values}


def _seeded_task(payload: bytes, seed: int):
    """One pyabc task: sample until one particle is accepted, with a fixed seed."""
    simulate_one, sample_factory = cloudpickle.loads(payload)
    # pyabc draws proposals and acceptance uniforms from numpy's legacy global generator: seeding it
    # per task is what makes the calibration reproducible (nothing else in the project uses it).
    np.random.seed(seed % 2**32)  # noqa: NPY002
    random.seed(seed)
    sample, n_sims = sample_factory(), 0
    while True:
        particle = simulate_one()
        n_sims += 1
        sample.append(particle)
        if particle.accepted:
            return sample, n_sims


class SeededMappingSampler(MappingSampler):
    """pyabc's mapping sampler with a fixed seed per task (identical results for any worker count).

    Args:
        map_: a ``map``-like callable (a process pool's ``map``, a Dask client's map-and-gather).
        rng_seed: the calibration's seed.
    """

    def __init__(self, map_, rng_seed: int) -> None:
        super().__init__(map_=map_)
        self.rng_seed = int(rng_seed)

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        """Run ``n`` seeded tasks; each returns one accepted particle and the rejected ones before it."""
        payload = cloudpickle.dumps((simulate_one, self.sample_factory))
        # t = -1 is pyabc's calibration sample; generations are 0, 1, ...
        seeds = np.random.SeedSequence([self.rng_seed, int(t) + 1]).generate_state(n, np.uint64)
        results = list(self.map_(functools.partial(_seeded_task, payload), [int(s) for s in seeds]))
        self.nr_evaluations_ = sum(r[1] for r in results)
        sample = self._create_empty_sample()
        for part, _ in results:
            sample += part
        return sample


def _init_worker() -> None:
    logging.getLogger("pyabc").setLevel(logging.WARNING)


@contextmanager
def local_map(n_procs: int):
    """A ``map`` over ``n_procs`` spawned processes (one numba thread each), or the builtin map."""
    if n_procs == 1:
        yield map
        return
    old = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"  # inherited by the spawned workers only
    try:
        ctx = multiprocessing.get_context("spawn")
        from sim.ensemble import sigint_ignored

        with sigint_ignored():  # the workers start ignoring Ctrl-C; leaving the pool terminates them
            pool = ctx.Pool(n_procs, initializer=_init_worker)
        with pool:
            yield functools.partial(pool.map, chunksize=1)
    finally:
        if old is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = old


@contextmanager
def dask_map(address: str):
    """A ``map`` over a running Dask cluster (``distributed.Client(address)``)."""
    from distributed import Client

    client = Client(address)
    try:

        def mapper(fn, items):
            return client.gather(client.map(fn, list(items), pure=False))

        yield mapper
    finally:
        client.close()


@dataclass
class Moves:
    """The posterior draws after the resample-move step (:func:`rejuvenate`).

    Attributes:
        z: draws on the ABC scale, ``(M, k)``; shares: model values at every target, ``(M, n)``.
        acceptance: share of draws whose proposal was accepted, per Metropolis-Hastings step.
        n_unique_start, n_unique: distinct draws before and after the moves.
        n_simulations: model runs the moves took.
        steps_asked: the steps asked for; fewer ran (``len(acceptance)``) when the calibration's
            simulation or wall-time budget ran out first.
    """

    z: np.ndarray
    shares: np.ndarray
    acceptance: list[float]
    n_unique_start: int
    n_unique: int
    n_simulations: int
    steps_asked: int = 0


@dataclass
class AbcRun:
    """What an ABC-SMC run returns (``moves``: the resample-move step, ``None`` when not run)."""

    history: pyabc.History
    wall_time_s: float
    n_simulations: int
    final_temperature: float
    stop_reason: str
    moves: Moves | None = None
    ess_final: float | None = None  # Kish effective sample size of the last generation


def _move_task(simulator: Simulator, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = simulator({abc_name(i): float(v) for i, v in enumerate(z)})
    return np.asarray(out["y"], float), np.asarray(out["all"], float)


def last_generation(history: pyabc.History, n_priors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Last generation on the ABC scale: values ``(n, k)``, weights, fitted logits ``y`` and all shares."""
    pop = history.get_population(history.max_t).particles
    z = np.array([[q.parameter[abc_name(i)] for i in range(n_priors)] for q in pop], float)
    w = np.array([q.weight for q in pop], float)
    y = np.array([np.asarray(q.sum_stat["y"], float) for q in pop])
    shares = np.array([np.asarray(q.sum_stat["all"], float) for q in pop])
    return z, w, y, shares


def rejuvenate(
    simulator: Simulator,
    observed_logits: np.ndarray,
    sample: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    n_draws: int,
    steps: int,
    rng_seed: int,
    map_,
    max_simulations: int | None = None,
    deadline: float | None = None,
) -> Moves:
    """Resample-move (Gilks & Berzuini 2001, JRSS B 63:127; Chopin 2002, Biometrika 89:539).

    The last generation, at temperature 1, is a weighted sample of the posterior; with few
    effective particles its resampled draws repeat a handful of values. Each draw is then moved by
    ``steps`` Metropolis-Hastings steps whose invariant distribution is that same posterior: the
    prior (uniform on the ABC scale) times the measurement model ``logit(observed) ~
    N(logit(model), sd_logit^2)``, which is exact here because every particle runs the same random
    streams (the simulator is deterministic in its parameters). Proposals are Gaussian random-walk
    steps with covariance ``2.38^2 / k`` times the weighted posterior covariance (Roberts, Gelman &
    Gilks 1997). Seeds come from ``(rng_seed, step)``, so the draws do not depend on the workers.
    A run stopped by its budget before temperature 1 is moved towards the same posterior, from a
    wider start, so its draws are less settled (the run's stop reason says so).

    Args:
        sample: the last generation, :func:`last_generation`.
        max_simulations: the model runs the moves may take; a step that would take more is not
            run (nor any after it).
        deadline: a :func:`time.perf_counter` time after which no further step starts.
    """
    priors = simulator.priors
    var = np.array([t.sd_logit for t in simulator.fit]) ** 2
    z_all, w, y_all, shares_all = sample
    rng = np.random.default_rng(np.random.SeedSequence([int(rng_seed), 7]))
    from sim.calibration.report import resample

    idx = resample(w, n_draws, rng)
    z, y, shares = z_all[idx].copy(), y_all[idx].copy(), shares_all[idx].copy()
    n_start = len(np.unique(idx))
    lo = np.array([math.log(p.lower) if p.dist == "loguniform" else p.lower for p in priors])
    hi = np.array([math.log(p.upper) if p.dist == "loguniform" else p.upper for p in priors])
    cov = np.atleast_2d(np.cov(z_all.T, aweights=w / w.sum()))
    k = len(priors)
    chol = np.linalg.cholesky(2.38**2 / k * cov + 1e-12 * np.diag(np.diag(cov) + 1.0))

    def loglik(ys: np.ndarray) -> np.ndarray:
        return -0.5 * np.sum((ys - observed_logits) ** 2 / var, axis=-1)

    current = loglik(y)
    acceptance, n_sims = [], 0
    for step in range(steps):
        step_rng = np.random.default_rng(np.random.SeedSequence([int(rng_seed), 8, step]))
        prop = z + step_rng.standard_normal(z.shape) @ chol.T
        log_u = np.log(step_rng.random(len(z)))
        inside = np.flatnonzero(np.all((prop >= lo) & (prop <= hi), axis=1))
        over_sims = max_simulations is not None and n_sims + len(inside) > max_simulations
        if over_sims or (deadline is not None and time.perf_counter() >= deadline):
            log.warning(
                "move steps stopped after %d of %d: the calibration's %s budget is used up",
                step,
                steps,
                "simulation" if over_sims else "wall-time",
            )
            break
        results = list(map_(functools.partial(_move_task, simulator), [prop[i] for i in inside]))
        n_sims += len(inside)
        accepted = 0
        for i, (y_new, s_new) in zip(inside, results, strict=True):
            ll = float(loglik(y_new))
            if log_u[i] < ll - current[i]:
                z[i], y[i], shares[i], current[i] = prop[i], y_new, s_new, ll
                accepted += 1
        acceptance.append(accepted / len(z))
        log.info("move step %d/%d: %.1f %% of %d draws moved", step + 1, steps, 100 * acceptance[-1], len(z))
    n_unique = len(np.unique(z, axis=0))
    return Moves(z, shares, acceptance, n_start, n_unique, n_sims, steps)


def run_abc(
    simulator: Simulator, observed_logits: np.ndarray, settings, db_path: str, rng_seed: int, resume: bool = False
) -> AbcRun:
    """Run ABC-SMC until the temperature reaches 1 or a budget runs out.

    Args:
        simulator: the model.
        observed_logits: logit of the fitted observations, in ``simulator.fit`` order.
        settings: :class:`~sim.calibration.settings.CalibrationSettings`.
        db_path: sqlite file for pyabc's history.
        rng_seed: seed of the task seeds.
        resume: continue the run stored in ``db_path`` (an interrupted calibration) instead of
            starting a new one.
    """
    var = np.array([t.sd_logit for t in simulator.fit]) ** 2
    kernel = pyabc.IndependentNormalKernel(var=var, keys=["y"])
    mapper = dask_map(settings.dask_address) if settings.sampler == "dask" else local_map(settings.n_procs)
    t0 = time.perf_counter()
    with mapper as map_:
        abc = pyabc.ABCSMC(
            models=simulator,
            parameter_priors=abc_prior(simulator.priors),
            distance_function=kernel,
            population_size=settings.population_size,
            sampler=SeededMappingSampler(map_, rng_seed),
            eps=pyabc.Temperature(),
            acceptor=pyabc.StochasticAcceptor(),
        )
        if resume:
            abc.load("sqlite:///" + db_path, 1)
            done = abc.history.max_t + 1
        else:
            abc.new("sqlite:///" + db_path, {"y": observed_logits})
            done = 0
        from datetime import timedelta

        history = abc.run(
            max_nr_populations=max(settings.max_generations - done, 1),
            max_total_nr_simulations=settings.max_simulations,
            max_walltime=timedelta(minutes=settings.max_walltime_minutes),
            min_acceptance_rate=settings.min_acceptance_rate,
        )
        moves = None
        if settings.move_steps > 0:
            last = last_generation(history, len(simulator.priors))
            moves = rejuvenate(
                simulator,
                observed_logits,
                last,
                settings.n_draws_saved,
                settings.move_steps,
                rng_seed,
                map_,
                max_simulations=settings.max_simulations - int(history.total_nr_simulations),
                deadline=t0 + 60.0 * settings.max_walltime_minutes,
            )
    pops = history.get_all_populations()
    pops = pops[pops.t >= 0]
    final_t = float(pops.epsilon.iloc[-1])
    n_sims = int(history.total_nr_simulations) + (moves.n_simulations if moves else 0)
    if final_t <= 1.0 + 1e-9:
        reason = "temperature reached 1 (exact posterior of the measurement model)"
    elif int(history.total_nr_simulations) >= settings.max_simulations:
        reason = f"simulation budget ({settings.max_simulations}) used up at temperature {final_t:.3g}"
    elif len(pops) >= settings.max_generations:
        reason = f"all {settings.max_generations} generations run, temperature {final_t:.3g}"
    else:
        reason = f"wall-time or acceptance-rate limit at temperature {final_t:.3g}"
    from sim.calibration.report import effective_sample_size

    _, w = history.get_distribution(m=0, t=history.max_t)
    return AbcRun(history, time.perf_counter() - t0, n_sims, final_t, reason, moves, effective_sample_size(w))
