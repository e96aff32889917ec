"""``python -m sim.compare RUN [RUN ...]``: one table and charts comparing finished scenario runs.

Each ``RUN`` is a run folder (with ``manifest.json``) or a multirun folder holding run folders
(``python -m sim -m scenario=a,b,c`` writes ``results/multirun/<time>/<n>-<scenario>/``). Every
run must be finished (``status`` ``ok``); a missing or failed one stops the command with one line
and exit code 2 before anything is written. The output is a new folder
``results/comparisons/<time>/`` (never overwritten) with ``comparison.csv``, the charts
``figures/comparison_{en,vi}.png`` and ``figures/fan_targets_{en,vi}.png``, and ``manifest.json``.

``comparison.csv`` has one row per scenario and scope (ministries, localities, national); see
:data:`COMPARISON_COLUMNS` and README "Comparing scenarios". Gains are differences of medians from
the baseline run; with the same ``rng_seed`` the runs share their random numbers (common random
numbers, :mod:`sim.ensemble`), so the difference is not blurred by independent noise.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import RESULTS_DIR, scenario_display
from sim.errors import SimInputError
from sim.manifest import RunFolder, atomic_write, publish, read_status

log = logging.getLogger("sim.compare")
SCOPES = ("ministries", "localities", "national")
INDICATOR = "share_dossiers_full_online"
COMPARISON_COLUMNS = [
    "scenario",
    "scope",
    "deadline",
    "threshold",
    "median_share",
    "q05",
    "q95",
    "p_met",
    "p_met_lo",
    "p_met_hi",
    "gain_pp",
    "cost_vnd_low",
    "cost_vnd_central",
    "cost_vnd_high",
    "pp_per_trillion_vnd",
    "n_runs",
    "rng_seed",
    "population_scale",
    "run_dir",
]


@dataclass
class Run:
    """One finished run folder's tables."""

    path: Path
    manifest: dict
    summary: pd.DataFrame
    targets: pd.DataFrame
    costs: pd.DataFrame | None

    @property
    def scenario(self) -> str:
        """Scenario name (from the manifest, else the summary table)."""
        return str(self.manifest.get("scenario") or self.summary["scenario"].iloc[0])

    def label(self, lang: str) -> str:
        """The scenario's name in charts of language ``lang`` (its ``label``/``label_vi``, else its name)."""
        scen = dict((self.manifest.get("config") or {}).get("scenario") or {})
        scen.setdefault("name", self.scenario)
        return scenario_display(scen, lang)


def expand_inputs(paths: list[str]) -> list[Path]:
    """Run folders named by ``paths``: each is a run folder or a multirun folder of run folders.

    Raises:
        SimInputError: a path that is neither.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if (p / "manifest.json").is_file():
            out.append(p)
            continue
        subs = sorted((s for s in p.iterdir() if (s / "manifest.json").is_file()), key=_job_order) if p.is_dir() else []
        if not subs:
            raise SimInputError(
                f"runs: {p} is not a run folder (no manifest.json) nor a multirun folder of run folders; "
                "allowed: results/runs/<run> or results/multirun/<time>"
            )
        out.extend(subs)
    return out


def _job_order(path: Path) -> tuple:
    head = path.name.split("-", 1)[0]
    return (int(head), path.name) if head.isdigit() else (10**9, path.name)


def read_run(path: Path) -> Run:
    """Read one finished run folder.

    Raises:
        SimInputError: status not ``ok`` (a failed or unfinished run), or a missing table.
    """
    status = read_status(path)
    if status != "ok":
        manifest = _manifest(path)
        why = f" ({manifest['error']})" if manifest.get("error") else ""
        raise SimInputError(
            f"runs: {path} has status '{status}'{why}; allowed: finished runs (status ok in manifest.json)"
        )
    tables = {}
    for name in ("summary", "targets"):
        file = path / f"{name}.csv"
        if not file.is_file():
            raise SimInputError(f"runs: {file} is missing; allowed: run folders written by python -m sim")
        tables[name] = pd.read_csv(file, dtype={"scope": str, "date": str, "deadline": str})
    costs_file = path / "costs.csv"
    costs = pd.read_csv(costs_file, dtype={"kind": str}) if costs_file.is_file() else None
    if costs is None:
        log.warning("%s has no costs.csv: its cost and gain per trillion VND are left empty", path)
    return Run(path, _manifest(path), tables["summary"], tables["targets"], costs)


def _manifest(path: Path) -> dict:
    try:
        return json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def total_cost(costs: pd.DataFrame | None) -> tuple[float, float, float]:
    """``(low, central, high)`` VND from the ``kind == total`` row of ``costs.csv`` (NaN if absent).

    Raises:
        SimInputError: a costs table without exactly one total row.
    """
    if costs is None:
        return (np.nan, np.nan, np.nan)
    total = costs[costs["kind"] == "total"]
    if len(total) != 1:
        raise SimInputError(f"costs.csv: {len(total)} rows with kind 'total'; allowed: exactly one")
    row = total.iloc[0]
    return tuple(float(row[f"cost_vnd_{k}"]) for k in ("low", "central", "high"))


def scenario_rows(run: Run) -> pd.DataFrame:
    """The three comparison rows of one run (before gains), columns of :data:`COMPARISON_COLUMNS`."""
    tg = run.targets[(run.targets["indicator"] == INDICATOR) & run.targets["scope"].isin(SCOPES)]
    rows = []
    low, central, high = total_cost(run.costs)
    for scope in SCOPES:
        t = tg[tg["scope"] == scope]
        if len(t) != 1:
            raise SimInputError(f"runs: {run.path}/targets.csv has {len(t)} '{scope}' targets; allowed: exactly one")
        t = t.iloc[0]
        s = run.summary[
            (run.summary["indicator"] == INDICATOR + "_ytd")
            & (run.summary["scope"] == scope)
            & (run.summary["date"] == t["deadline"])
        ]
        if len(s) != 1:
            raise SimInputError(
                f"runs: {run.path}/summary.csv has no {scope} row at {t['deadline']}; "
                "allowed: runs that reach the deadline"
            )
        s = s.iloc[0]
        rows.append(
            {
                "scenario": run.scenario,
                "scope": scope,
                "deadline": t["deadline"],
                "threshold": float(t["threshold"]),
                "median_share": float(s["q50"]),
                "q05": float(s["q05"]),
                "q95": float(s["q95"]),
                "p_met": float(t["p_met"]),
                "p_met_lo": float(t["p_met_lo"]),
                "p_met_hi": float(t["p_met_hi"]),
                "cost_vnd_low": low,
                "cost_vnd_central": central,
                "cost_vnd_high": high,
                "n_runs": run.manifest.get("n_runs"),
                "rng_seed": run.manifest.get("rng_seed"),
                "population_scale": run.manifest.get("population_scale"),
                "run_dir": str(run.path),
            }
        )
    return pd.DataFrame(rows)


def comparison_table(runs: list[Run], baseline: str = "baseline") -> pd.DataFrame:
    """One row per scenario and scope: medians, P(target met), gains over the baseline and per cost.

    ``gain_pp`` = (median share - baseline median share) * 100; ``pp_per_trillion_vnd`` =
    ``gain_pp / (cost_vnd_central / 1e12)``, empty where the central cost is 0 or unknown.

    Raises:
        SimInputError: no run (or more than one) of the baseline scenario, or a scenario twice.
    """
    names = [r.scenario for r in runs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SimInputError(f"runs: scenario '{dup[0]}' appears in more than one run; allowed: one run per scenario")
    if baseline not in names:
        raise SimInputError(f"--baseline: no run has scenario '{baseline}'; allowed: {', '.join(names)}")
    ordered = [runs[names.index(baseline)], *(r for r in runs if r.scenario != baseline)]
    chosen = {", ".join(simulated_provinces(r)) or "all 63" for r in ordered}
    if len(chosen) > 1:  # shares of different populations: a gain would be the difference between them
        raise SimInputError(
            f"runs: the runs simulate different provinces ({'; '.join(sorted(chosen))}); "
            "allowed: runs of the same provinces (population.provinces)"
        )
    table = pd.concat([scenario_rows(r) for r in ordered], ignore_index=True)
    if table["deadline"].nunique() != 1:
        raise SimInputError("runs: the runs' targets have different deadlines; allowed: runs with the same targets")
    for key in ("rng_seed", "population_scale"):
        if table[key].nunique(dropna=False) > 1:
            log.warning("runs differ in %s (%s): gains mix model differences with noise", key, sorted(set(table[key])))
    base = table[table["scenario"] == baseline].set_index("scope")["median_share"]
    table["gain_pp"] = (table["median_share"] - table["scope"].map(base)) * 100.0
    trillions = table["cost_vnd_central"] / 1e12
    table["pp_per_trillion_vnd"] = (table["gain_pp"] / trillions).where(trillions > 0)
    return table[COMPARISON_COLUMNS]


def simulated_provinces(run: Run) -> list[str]:
    """The run's ``population.provinces`` (its manifest's config; empty: all 63)."""
    return sorted(((run.manifest.get("config") or {}).get("population") or {}).get("provinces") or [])


def new_folder(out: str | None) -> Path:
    """A folder that does not exist yet: ``out``, or ``results/comparisons/<time>[-n]``.

    Raises:
        SimInputError: ``out`` already exists (finished results are never overwritten).
    """
    if out:
        path = Path(out)
        if path.exists():
            raise SimInputError(f"--out: {path} already exists; allowed: a new folder (results are never overwritten)")
        return path
    base = RESULTS_DIR / "comparisons" / time.strftime("%Y%m%d-%H%M%S")
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def write_comparison(runs: list[Run], table: pd.DataFrame, path: Path, baseline: str, langs: tuple[str, ...]) -> None:
    """Write ``comparison.csv``, the charts and the manifest into the new folder ``path``."""
    from sim.reporting.briefing import comparison_chart, scenario_fan_chart

    with RunFolder(path, kind="comparison") as folder:
        folder.update(
            command=sys.argv,
            baseline=baseline,
            runs=[
                {"run_dir": str(r.path), "scenario": r.scenario, "git_commit": r.manifest.get("git_commit")}
                for r in runs
            ],
        )
        staging = path / ".staging"
        try:
            (staging / "figures").mkdir(parents=True)
            atomic_write(staging / "comparison.csv", table.to_csv(index=False, float_format="%.6g"))
            order = list(dict.fromkeys(table["scenario"]))
            summary = pd.concat([r.summary[r.summary["indicator"] == INDICATOR] for r in runs], ignore_index=True)
            targets = table.drop_duplicates("scope")[["scope", "threshold", "deadline"]]
            for lang in langs:
                labels = {r.scenario: r.label(lang) for r in runs}
                figs = {
                    "comparison": comparison_chart(table, baseline, lang, labels),
                    "fan_targets": scenario_fan_chart(summary, targets, order, lang, labels),
                }
                for name, fig in figs.items():
                    fig.savefig(staging / "figures" / f"{name}_{lang}.png", dpi=150, bbox_inches="tight")
            publish(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 2 bad input)."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.compare",
        description="Compare finished scenario runs: comparison.csv, charts (en, vi) and a manifest in a new folder.",
    )
    parser.add_argument("runs", nargs="+", help="run folders or multirun folders")
    parser.add_argument("--baseline", default="baseline", help="scenario name of the baseline run (default: baseline)")
    parser.add_argument("--out", default=None, help="new output folder (default: results/comparisons/<time>)")
    parser.add_argument("--lang", default="en", choices=("en", "vi"), help="first chart language (both are written)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S")
    try:
        runs = [read_run(p) for p in expand_inputs(args.runs)]
        table = comparison_table(runs, args.baseline)
        path = new_folder(args.out)
        langs = (args.lang, *(x for x in ("en", "vi") if x != args.lang))
        write_comparison(runs, table, path, args.baseline, langs)
    except SimInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("comparison of %d runs written to %s", len(runs), path)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
