"""Python API for notebooks and scripts.

Example:
    >>> import sim
    >>> cfg = sim.load_config(["population=tiny", "ensemble.n_reps=2"])
    >>> res = sim.run(cfg)
    >>> res.summary().query("indicator == 'share_dossiers_full_online' and scope == 'localities'")
"""

from __future__ import annotations

from pathlib import Path

from sim.config import RunConfig, load_config
from sim.ensemble import EnsembleResult, run_ensemble


def run(
    cfg: RunConfig | list[str] | None = None, observed=None, progress: bool = False, keep_state: bool = True
) -> EnsembleResult:
    """Run an ensemble from a typed config or a list of Hydra-style overrides.

    ``keep_state=False`` leaves out each run's province state by month (``RunResult.state``),
    which no output file uses: a 2017-2030 run then holds 1.4 MB instead of 3.8 MB.

    Returns:
        :class:`~sim.ensemble.EnsembleResult` with ``summary()`` (DataFrame), ``targets(observed)``
        and ``indicators()`` (``{(indicator, scope): (n_runs, n_months) array}``).
    """
    if cfg is None or isinstance(cfg, list):
        cfg = load_config(cfg or [])
    return run_ensemble(cfg, observed, progress=progress, keep_state=keep_state)


def save(
    res: EnsembleResult,
    run_dir: Path | str,
    observed=None,
    figures: bool = True,
    langs: tuple[str, ...] | None = None,
) -> list[Path]:
    """Write a run folder for an ensemble run from Python, as ``python -m sim`` does: tables,
    arrays, charts (``langs``: both languages by default, ``reporting.lang`` first) and a
    ``manifest.json`` whose status goes ``running`` -> ``ok``, so ``python -m sim.compare`` reads it.

    Raises:
        SimInputError: ``run_dir`` holds a finished run (never overwritten) or a running job's.
    """
    import sys

    from sim.manifest import RunFolder, run_facts
    from sim.outputs import chart_langs, write_run_outputs

    cfg = res.cfg
    if observed is None:
        from sim.observed import load_observed

        observed = load_observed(cfg.observed_dir or None)
    langs = chart_langs(cfg) if langs is None else langs
    with RunFolder(run_dir, key="run_dir") as folder:
        facts = run_facts(cfg, observed)
        folder.update(command=["sim.save", *sys.argv[:1]], scenario=cfg.scenario.name, n_runs=len(res.results), **facts)
        return write_run_outputs(res, observed, run_dir, figures=figures, langs=langs, dpi=cfg.reporting.dpi)
