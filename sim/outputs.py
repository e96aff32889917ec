"""Writing a finished ensemble into its run folder: tables, arrays and charts.

Everything is written into ``<run>/.staging/`` first and moved into place only when all of it
exists, so a failed run never leaves files that look like finished results.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from sim.ensemble import EnsembleResult
from sim.manifest import atomic_write, publish
from sim.observed import ObservedData
from sim.results import bottleneck_table

log = logging.getLogger(__name__)


def chart_meta(ens: EnsembleResult) -> dict:
    """Run facts printed under every chart."""
    cfg = ens.cfg
    scale = cfg.population.scale
    return {
        "scenario": cfg.scenario.name,
        "scenario_label": {lang: cfg.scenario.display(lang) for lang in ("en", "vi")},
        "n_runs": len(ens.results),
        "n_draws": cfg.ensemble.n_draws,
        "scale": scale,  # people per agent; charts format it in their language
        "provinces": tuple(cfg.population.provinces),  # empty: all 63
    }


def chart_langs(cfg) -> tuple[str, ...]:
    """Both chart languages, ``reporting.lang`` first."""
    return (cfg.reporting.lang,) + tuple(x for x in ("en", "vi") if x != cfg.reporting.lang)


def localities_target(observed: ObservedData) -> tuple[str, float]:
    """Deadline and threshold of the modelled localities target (seeds/targets.csv; 2025-12, 0.70)."""
    tg = observed.targets
    loc = tg[(tg.indicator == "share_dossiers_full_online") & (tg.scope == "localities") & tg.modelled.astype(bool)]
    if loc.empty:
        return "2025-12", 0.70  # the MIC framework's 70 % by 2025 (seed-001-conference-2024-08-31)
    return str(loc["deadline"].iloc[0]), float(loc["threshold"].iloc[0])


def make_figures(ens: EnsembleResult, observed: ObservedData, summary: pd.DataFrame, lang: str) -> dict:
    """The standard charts of a run, ``{file name: Figure}``."""
    from sim.reporting import charts

    meta, obs, tg = chart_meta(ens), observed.observations, observed.targets
    deadline, threshold = localities_target(observed)
    figs = {
        "targets_full_online": charts.targets_chart(summary, obs, tg, meta, lang),
        "citizens_using_ops": charts.usage_chart(summary, obs, tg, meta, lang),
    }
    if deadline in set(summary["date"]):
        figs["province_ranking"] = charts.province_ranking_chart(
            summary, observed.provinces, meta, lang, deadline, threshold
        )
        from sim.reporting.briefing import province_figures

        figs.update(province_figures(summary, observed, meta, lang, deadline, threshold))
    return {f"{name}_{lang}.png": fig for name, fig in figs.items()}


def warn_unjudged(ens: EnsembleResult, observed: ObservedData) -> list[str]:
    """Log a warning naming the modelled targets whose deadline lies outside the run's months
    (``targets.csv`` leaves them out); returns their ids."""
    dates = set(ens.dates)
    tg = observed.targets
    missed = [r.target_id for r in tg.itertuples() if bool(r.modelled) and r.deadline not in dates]
    if missed:
        deadline, _ = localities_target(observed)
        extra = "" if deadline in dates else f"; so do bottlenecks.csv and the province charts (deadline {deadline})"
        log.warning(
            "targets not judged, their deadline is outside the run (%s .. %s): %s; targets.csv leaves them out%s",
            ens.dates[0],
            ens.dates[-1],
            ", ".join(missed),
            extra,
        )
    return missed


def write_run_outputs(
    ens: EnsembleResult,
    observed: ObservedData,
    run_dir: Path | str,
    figures: bool = True,
    langs: tuple[str, ...] = ("en",),
    dpi: int = 150,
) -> list[Path]:
    """Write ``summary.csv``, ``targets.csv``, ``costs.csv``, ``outcomes.npz`` and ``figures/`` into ``run_dir``.

    Returns:
        The paths written.
    """
    run_dir = Path(run_dir)
    warn_unjudged(ens, observed)
    staging = run_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "figures").mkdir(parents=True)
    try:
        summary = ens.summary()
        atomic_write(staging / "summary.csv", summary.to_csv(index=False, float_format="%.6g"))
        atomic_write(staging / "targets.csv", ens.targets(observed).to_csv(index=False, float_format="%.6g"))
        from sim.levers import cost_table

        atomic_write(staging / "costs.csv", cost_table(ens.cfg, observed).to_csv(index=False, float_format="%.6g"))
        deadline, threshold = localities_target(observed)
        if deadline in set(summary["date"]):
            table = bottleneck_table(summary, deadline, threshold)
            atomic_write(staging / "bottlenecks.csv", table.to_csv(index=False, float_format="%.6g"))
        stacked = ens.indicators()
        arrays = {f"{ind}|{scope}": arr for (ind, scope), arr in stacked.items()}
        with open(staging / "outcomes.npz", "wb") as fh:
            np.savez_compressed(
                fh,
                dates=np.array(ens.dates),
                replicates=np.array([r.replicate for r in ens.results]),
                draws=np.array([r.draw for r in ens.results]),
                **arrays,
            )
        if figures:
            for lang in langs:
                for name, fig in make_figures(ens, observed, summary, lang).items():
                    fig.savefig(staging / "figures" / name, dpi=dpi, bbox_inches="tight")
                    log.info("chart %s", name)
    except BaseException:  # interrupted or failed: no half set of outputs is left behind
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return publish(staging, run_dir)
