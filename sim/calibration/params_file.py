"""Writing a calibrated params file (``conf/params/<tag>.yaml``) and its posterior draws."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd

from sim.errors import SimInputError
from sim.manifest import atomic_write, git_commit


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def params_yaml(root, priors, posterior: pd.DataFrame, abc, run_dir: Path) -> str:
    """The text of a ``# @package _global_`` params file: posterior medians as point values.

    Args:
        root: the calibration's :class:`~sim.calibration.settings.CalibrateConfig`.
        priors: calibrated keys.
        posterior: ``posterior.csv`` (one column per key and ``weight``).
        abc: the :class:`~sim.calibration.abc.AbcRun`.
        run_dir: the calibration's result folder.
    """
    from sim.calibration.report import weighted_quantiles

    s = root.calibration
    w = posterior["weight"].to_numpy(float)
    stats = {}
    for p in priors:
        q05, q50, q95 = weighted_quantiles(posterior[p.key].to_numpy(float), w)
        stats[p.key] = (q50, q05, q95, f"{p.dist}({p.lower:g}, {p.upper:g})")
    lines = [
        "# @package _global_",
        f"# Calibrated parameters '{s.tag}': {s.description}".rstrip(": "),
        f"# Written by `{' '.join(['python -m sim.calibrate', *sys.argv[1:]])}` on {time.strftime('%Y-%m-%d')}",
        f"# (commit {git_commit()}); results, diagnostics and charts in results/calibration/{run_dir.name}/",
        "# (results/ is not in the repository: rerun the command with a new calibration.tag to reproduce). "
        f"ABC-SMC stop: {abc.stop_reason};",
        f"# {abc.n_simulations} simulations in {abc.wall_time_s / 60:.1f} min. Observations fitted: until "
        f"{s.until or 'the last one (2024-08)'}.",
        *_moves_line(abc),
        "# Point values are posterior medians (comment: 90 % interval and prior); runs with",
        f"# ensemble.n_draws > 0 sample the posterior draws in {s.tag}.draws.csv instead (draws x replicates).",
        "# Keys without a comment were not calibrated: they keep the hand-set values of",
        "# conf/params/default.yaml, where each is labelled ASSUMPTION with its reasoning.",
        "params:",
    ]
    for f in dataclasses.fields(root.params):
        if f.name == "posterior_file":
            continue
        key = f"params.{f.name}"
        if key in stats:
            q50, q05, q95, prior = stats[key]
            lines.append(f"  {f.name}: {_fmt(q50)}  # posterior median; 90 % [{_fmt(q05)}, {_fmt(q95)}]; prior {prior}")
        else:
            lines.append(f"  {f.name}: {_fmt(getattr(root.params, f.name))}")
    lines.append(f"  posterior_file: {s.tag}.draws.csv")
    drivers: dict[str, list[str]] = {}
    for key, (q50, q05, q95, prior) in stats.items():
        parts = key.split(".")
        if parts[0] == "drivers":
            drivers.setdefault(parts[1], []).append(
                f"    {parts[2]}: {_fmt(q50)}  # posterior median; 90 % [{_fmt(q05)}, {_fmt(q95)}]; prior {prior}"
            )
    if drivers:
        lines.append("drivers:")
        for trend, rows in drivers.items():
            lines.append(f"  {trend}:")
            lines += rows
    return "\n".join(lines) + "\n"


def write_params_files(path: Path, text: str, draws: pd.DataFrame) -> None:
    """Write ``<tag>.yaml`` and ``<tag>.draws.csv`` next to it, never over existing files.

    Raises:
        SimInputError: when either file already exists.
    """
    draws_path = path.with_suffix(".draws.csv")
    for p in (path, draws_path):
        if p.exists():
            raise SimInputError(f"calibration.tag: {p} already exists; allowed: a new tag (never overwritten)")
    atomic_write(draws_path, draws.to_csv(index=False, float_format="%.8g"))
    atomic_write(path, text)


def _moves_line(abc) -> list[str]:
    """The resample-move step in one or two comment lines (nothing when it was not run)."""
    m = getattr(abc, "moves", None)
    if m is None:
        return []
    mean = 100 * sum(m.acceptance) / max(len(m.acceptance), 1)
    ess = getattr(abc, "ess_final", None)
    first = [] if ess is None else [f"# Last ABC generation: effective sample size {ess:.1f} particles."]
    return first + [
        f"# Draws: {len(m.z)} resampled from the last generation ({m.n_unique_start} distinct), then moved by "
        f"{len(m.acceptance)} Metropolis-Hastings steps"
        + (f" (of {m.steps_asked} asked: the budget ran out)" if len(m.acceptance) < m.steps_asked else ""),
        f"# ({mean:.0f} % accepted per step on average; {m.n_unique} distinct draws after).",
    ]
