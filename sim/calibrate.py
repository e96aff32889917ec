"""``python -m sim.calibrate``: ABC-SMC calibration of the model to the published series.

Writes ``results/calibration/<tag>/`` (manifest, posterior, generations, fit, identifiability,
charts, pyabc's database) and, when ``calibration.write_params`` is true, the params file
``conf/params/<tag>.yaml`` with its posterior draws ``conf/params/<tag>.draws.csv`` that runs
select with ``params=<tag>``. Nothing is overwritten: an existing tag stops before any model runs.

Exit codes: 0 finished; 2 bad input (one line on stderr); 1 unexpected internal error.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.abc import Simulator, from_abc_space, abc_name, run_abc
from sim.calibration.params_file import params_yaml, write_params_files
from sim.calibration.priors import parse_priors
from sim.calibration.report import (
    correlations,
    effective_sample_size,
    fit_table,
    lfo_summary,
    naive_peer,
    posterior_table,
    resample,
)
from sim.calibration.settings import CalibrateConfig, load_calibrate_config
from sim.calibration.targets import build_targets, logit, parse_specs
from sim.config import CONF_DIR, from_dict, to_dict
from sim.errors import SimInputError
from sim.manifest import atomic_write, publish

log = logging.getLogger("sim.calibrate")


def check_inputs(root: CalibrateConfig, observed) -> tuple:
    """Targets, priors and output paths of a calibration, validated before any model runs.

    Returns:
        ``(priors, fit_targets, all_targets, params_path)``.
    """
    s = root.calibration
    specs = parse_specs(s.targets)
    priors = parse_priors(s.priors)
    all_targets = build_targets(observed, specs)
    fit = build_targets(observed, specs, until=s.until or None)
    if not fit:
        raise SimInputError(f"calibration.until: no used observation ends by {s.until}; allowed: a later month")
    last = max(t.period_end for t in all_targets)
    if root.timeline.end < last:
        raise SimInputError(
            f"timeline.end: {root.timeline.end} ends before the last target ({last}); allowed: {last} or later"
        )
    path = CONF_DIR / "params" / f"{s.tag}.yaml"
    if path.exists() or path.with_suffix(".draws.csv").exists():
        # also with write_params=false: results/calibration/<tag>/ would then hold another
        # posterior than the params file of the same name
        raise SimInputError(
            f"calibration.tag: conf/params/{s.tag}.yaml already exists (a shipped or earlier calibration; finished "
            "results are never overwritten); allowed: a new tag"
        )
    return priors, fit, all_targets, path


RESUME_FILE = "resume.json"
"""What an unfinished calibration ran with (``.staging/resume.json``), checked on resume."""
RESUMABLE = (
    "calibration.resume",
    "calibration.max_simulations",
    "calibration.max_walltime_minutes",
    "calibration.n_procs",
    "calibration.sampler",
    "calibration.dask_address",
)
"""Settings a resumed calibration may change (its budget and where it runs); any other must match."""


def _flat(tree, prefix: str = "") -> dict:
    if not isinstance(tree, dict):
        return {prefix[:-1]: tree}
    out: dict = {}
    for key, value in tree.items():
        out.update(_flat(value, f"{prefix}{key}."))
    return out


def resume_record(root: CalibrateConfig, observed) -> dict:
    """The settings and data hashes that a resumed calibration must share with the interrupted one."""
    flat = {k: v for k, v in _flat(to_dict(root)).items() if k not in RESUMABLE}
    return {"config": flat, "data_hashes": observed.hashes}


def check_resume(staging: Path, record: dict) -> None:
    """Refuse to resume an interrupted calibration with other settings or data than it started with
    (its database would mix two posteriors in one result)."""
    try:
        before = json.loads((staging / RESUME_FILE).read_text())
    except (OSError, ValueError):
        raise SimInputError(
            "calibration.resume: the interrupted calibration has no record of its settings; allowed: false"
        ) from None
    for key in sorted(set(before["config"]) | set(record["config"])):
        was, now = before["config"].get(key), record["config"].get(key)
        if was != now:
            raise SimInputError(
                f"calibration.resume: {key} is {json.dumps(now)}, the interrupted run had {json.dumps(was)}; allowed: "
                f"the interrupted run's settings (only {', '.join(k.split('.', 1)[1] for k in RESUMABLE[1:])} "
                "may change)"
            )
    if before["data_hashes"] != record["data_hashes"]:
        raise SimInputError(
            "calibration.resume: the observed data changed since the interrupted run; allowed: the same data"
        )


def particles(history, priors) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Last generation: values on the natural scale ``(n, k)``, weights ``(n,)``, shares at every target."""
    pop = history.get_population(history.max_t).particles
    values = np.array([[from_abc_space(p, q.parameter[abc_name(i)]) for i, p in enumerate(priors)] for q in pop])
    weights = np.array([q.weight for q in pop], float)
    shares = np.array([np.asarray(q.sum_stat["all"], float) for q in pop])
    return values, weights, shares


def generations(history) -> pd.DataFrame:
    """Per generation: temperature, accepted particles, simulations, acceptance rate, ESS."""
    pops = history.get_all_populations()
    pops = pops[pops.t >= 0].reset_index(drop=True)
    ess = []
    for t in pops.t:
        _, w = history.get_distribution(m=0, t=int(t))
        ess.append(effective_sample_size(w))
    return pd.DataFrame(
        {
            "generation": pops.t.astype(int),
            "temperature": pops.epsilon.astype(float),
            "accepted": pops.particles.astype(int),
            "simulations": pops.samples.astype(int),
            "acceptance_rate": pops.particles / pops.samples,
            "ess": ess,
            "end_time": pops.population_end_time.astype(str),
        }
    )


def run_calibration(plain: dict, run_dir: Path) -> int:
    """Run one calibration into ``run_dir``; returns the exit code (see :func:`sim.cli.guarded`)."""
    from sim.cli import guarded

    def work(folder) -> None:
        from sim.observed import load_observed

        root: CalibrateConfig = from_dict(CalibrateConfig, plain)
        observed = load_observed(root.observed_dir or None)
        priors, fit, all_targets, params_path = check_inputs(root, observed)
        s, cfg = root.calibration, root.run_config()
        folder.update(command=sys.argv, tag=s.tag, data_hashes=observed.hashes, config=to_dict(root))
        log.info(
            "calibrating %d parameters to %d of %d observations (until %s)",
            len(priors),
            len(fit),
            len(all_targets),
            s.until or "all",
        )
        staging = Path(run_dir) / ".staging"
        record = resume_record(root, observed)
        if s.resume and not (staging / "abc.db").exists():
            raise SimInputError(f"calibration.resume: no interrupted calibration in {run_dir}; allowed: false")
        if s.resume:
            check_resume(staging, record)
        else:
            shutil.rmtree(staging, ignore_errors=True)
        (staging / "figures").mkdir(parents=True, exist_ok=True)
        if not s.resume:
            atomic_write(staging / RESUME_FILE, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        sim_ = Simulator(cfg, priors, fit, all_targets)
        observed_logits = logit([t.observed for t in fit])
        abc = run_abc(sim_, observed_logits, s, str(staging / "abc.db"), cfg.rng_seed, resume=s.resume)
        moved = abc.moves.n_simulations if abc.moves else 0
        log.info(
            "calibration finished: %s; %d simulations (ABC-SMC %d, move steps %d) in %.0f s",
            abc.stop_reason,
            abc.n_simulations,
            abc.n_simulations - moved,
            moved,
            abc.wall_time_s,
        )
        write_outputs(root, priors, fit, all_targets, abc, staging)
        (staging / RESUME_FILE).unlink(missing_ok=True)
        publish(staging, Path(run_dir))
        if s.write_params:
            draws = pd.read_csv(Path(run_dir) / "posterior_draws.csv")
            post = pd.read_csv(Path(run_dir) / "posterior.csv")
            write_params_files(params_path, params_yaml(root, priors, post, abc, Path(run_dir)), draws)
            from sim.config import load_config

            # a run samples the default ensemble.n_draws of the draws: say so when there are fewer
            few = f" ensemble.n_draws={len(draws)}" if len(draws) < load_config([]).ensemble.n_draws else ""
            log.info("params file %s (use with: python -m sim params=%s%s)", params_path, s.tag, few)
        folder.update(
            n_simulations=abc.n_simulations,
            abc_wall_time_s=round(abc.wall_time_s, 1),
            final_temperature=abc.final_temperature,
            stop_reason=abc.stop_reason,
            params_file=str(params_path.relative_to(CONF_DIR.parent)) if s.write_params else None,
        )

    return guarded(run_dir, work, kind="calibration")


def write_outputs(root: CalibrateConfig, priors, fit, all_targets, abc, out: Path) -> None:
    """Tables and charts of a finished ABC run into ``out``."""
    from sim.calibration import charts

    values, weights, shares = particles(abc.history, priors)
    abc_ess = effective_sample_size(weights)
    rng = np.random.default_rng(np.random.SeedSequence([root.rng_seed, 7]))
    if abc.moves is not None:  # the moved draws are the posterior sample (equal weights)
        values = np.column_stack([from_abc_space(p, abc.moves.z[:, i]) for i, p in enumerate(priors)])
        weights, shares = np.ones(len(values)), abc.moves.shares
    fit_ids = {(t.name, t.obs_id) for t in fit}
    fitted = [(t.name, t.obs_id) in fit_ids for t in all_targets]
    naive = naive_peer(fit, all_targets)
    table = fit_table(all_targets, fitted, shares, weights, naive, rng)
    post = pd.DataFrame(values, columns=[p.key for p in priors]).assign(weight=weights / weights.sum())
    idx = np.arange(len(values)) if abc.moves is not None else resample(weights, root.calibration.n_draws_saved, rng)
    draws = pd.DataFrame(values[idx], columns=[p.key for p in priors])
    draws.insert(0, "draw", np.arange(len(draws)))
    ident = posterior_table(priors, values, weights)
    tables = {
        "posterior.csv": post,
        "posterior_draws.csv": draws,
        "generations.csv": generations(abc.history),
        "fit.csv": table,
        "fit_summary.csv": lfo_summary(table),
        "identifiability.csv": ident,
        "correlations.csv": correlations(priors, values, weights),
    }
    for name, frame in tables.items():
        atomic_write(out / name, frame.to_csv(index=False, float_format="%.6g"))
    summary = {
        "tag": root.calibration.tag,
        "until": root.calibration.until or None,
        "n_parameters": len(priors),
        "n_fitted_observations": len(fit),
        "n_held_out_observations": len(all_targets) - len(fit),
        "n_simulations": abc.n_simulations,
        "wall_time_s": round(abc.wall_time_s, 1),
        "final_temperature": abc.final_temperature,
        "stop_reason": abc.stop_reason,
        "ess_final": abc_ess,
        "n_particles_final": int(root.calibration.population_size),
    }
    if abc.moves is not None:
        m = abc.moves
        summary["moves"] = {
            "steps": len(m.acceptance),
            "steps_asked": m.steps_asked,
            "draws": int(len(m.z)),
            "acceptance_per_step": [round(a, 4) for a in m.acceptance],
            "distinct_draws_before": m.n_unique_start,
            "distinct_draws_after": m.n_unique,
            "simulations": m.n_simulations,
        }
    atomic_write(out / "diagnostics.json", json.dumps(summary, indent=2) + "\n")
    meta = {
        "tag": root.calibration.tag,
        "n_sims": abc.n_simulations,
        "until": root.calibration.until,
        "last": max(t.period_end for t in all_targets),
    }
    for lang in ("en", "vi"):
        for name, fig in (
            ("predictive", charts.predictive_chart(table, meta, lang)),
            ("marginals", charts.marginals_chart(priors, values, weights, ident, meta, lang)),
        ):
            fig.savefig(out / "figures" / f"{name}_{lang}.png", dpi=root.reporting.dpi, bbox_inches="tight")


def main() -> None:
    """Console entry point of ``python -m sim.calibrate``."""
    from sim.cli import command

    logging.getLogger("ABC").propagate = False  # pyabc prints its own progress lines
    command(run_calibration, "calibrate", load_calibrate_config, "calibration")


if __name__ == "__main__":
    main()
