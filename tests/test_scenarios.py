"""Shipped scenario files: each composes, documents itself, builds its levers and runs on a tiny population."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.config import CONF_DIR, load_config
from sim.levers import COST_COLUMNS, REGISTRY, build

REPO = Path(__file__).resolve().parents[1]
FILES = sorted((CONF_DIR / "scenario").glob("*.yaml"))
NAMES = [f.stem for f in FILES]
SHORT = [
    "population=tiny",
    "ensemble=single",
    "timeline.start=2023-01",
    "timeline.end=2025-12",
    "reporting.figures=false",
]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=REPO, capture_output=True, text=True, timeout=600, env=env
    )


def test_the_expected_scenarios_are_shipped():
    assert {"baseline", "government_plan"} <= set(NAMES)
    assert {f"lever_{kind}" for kind in REGISTRY} <= set(NAMES)
    assert len([n for n in NAMES if n.startswith("package_")]) >= 3
    assert set(NAMES) <= {"baseline", "government_plan"} | {n for n in NAMES if n.startswith(("lever_", "package_"))}


@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_scenario_file_composes_and_documents_itself(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# @package _global_"
    comments = [ln for ln in lines[1:] if ln.startswith("#")]
    assert comments and lines[1].startswith("#"), "a comment block must say what the scenario represents"
    cfg = load_config(["population=tiny", f"scenario={path.stem}"])
    assert cfg.scenario.name == path.stem and cfg.scenario.description
    levers = build(cfg.scenario.levers, cfg)
    kinds = [lv.kind for lv in levers]
    if path.stem == "baseline":
        assert kinds == []
    elif path.stem.startswith("lever_"):
        assert kinds == [path.stem.removeprefix("lever_")]
    else:
        assert len(kinds) >= 2
    if kinds:
        assert len(comments) >= 3 and any(w in " ".join(comments) for w in ("seeds/", "ASSUMPTION", "lever_"))


@pytest.fixture(scope="module")
def baseline_short(observed):
    return sim.run(load_config(SHORT), observed)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "baseline"])
def test_scenario_runs_on_a_tiny_population_and_changes_the_outcome(name, baseline_short, observed):
    res = sim.run(load_config([*SHORT, f"scenario={name}"]), observed)
    ours, base = res.indicators(), baseline_short.indicators()
    assert set(ours) == set(base)
    key = ("share_dossiers_full_online", "national")
    assert np.isfinite(ours[key]).all() and ((ours[key] >= 0) & (ours[key] <= 1)).all()
    # common random numbers: identical months until the first lever starts; afterwards the levers move
    # province state (at this scale a small state change, e.g. broadband's +0.08 points of remote
    # connectivity where mobile signal already covers 99.7 %, may move no citizen across a threshold)
    start = min(lv["start"] for lv in res.cfg.scenario.levers)
    t0 = res.results[0].timeline.index(start)
    assert all(np.array_equal(ours[k][:, :t0], base[k][:, :t0], equal_nan=True) for k in base)
    state, base_state = res.results[0].state, baseline_short.results[0].state
    assert all(np.array_equal(state[k][:t0], base_state[k][:t0]) for k in base_state)
    assert any((state[k][t0:] > base_state[k][t0:]).any() for k in base_state)
    assert not any(
        (state[k][t0:] < base_state[k][t0:] - 1e-12).any() for k in ("electricity", "connectivity", "supply")
    )
    summary = res.summary()
    assert set(summary["scenario"]) == {name}


def test_packages_and_the_plan_raise_the_2025_fully_online_share(observed):
    def share_2025(res) -> float:
        return float(res.indicators()[("share_dossiers_full_online_ytd", "national")][:, -1].mean())

    base = share_2025(sim.run(load_config(SHORT), observed))
    # each adds at least 2 points at tiny scale (measured: +5 to +17 points; binomial noise of a
    # year's national share with ~600 dossiers is ~2 points, and common random numbers cancel most of it)
    for name in ("package_supply", "package_all", "government_plan"):
        assert share_2025(sim.run(load_config([*SHORT, f"scenario={name}"]), observed)) > base + 0.02, name


def test_government_plan_from_the_command_line_writes_costs(tmp_path, observed):
    out = tmp_path / "plan"
    proc = run_cli(
        "scenario=government_plan",
        "population=tiny",
        "ensemble.n_reps=2",
        "ensemble.n_draws=0",
        "ensemble.n_jobs=1",
        "reporting.figures=false",
        "timeline.start=2023-01",
        f"hydra.run.dir={out}",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "ok"
    costs = pd.read_csv(out / "costs.csv", dtype={"lever": str, "start": str})
    assert list(costs.columns) == COST_COLUMNS
    cfg = load_config(["scenario=government_plan"])
    assert list(costs["kind"]) == [lv["kind"] for lv in cfg.scenario.levers] + ["total"]
    body, total = costs.iloc[:-1], costs.iloc[-1]
    assert (body["cost_vnd_central"] > 0).all()
    assert total["cost_vnd_central"] == pytest.approx(body["cost_vnd_central"].sum(), rel=1e-5)  # 6 digits in the csv


def test_baseline_run_folder_has_a_zero_cost_total(tmp_path, observed):
    res = sim.run(load_config([*SHORT, "timeline.start=2025-01"]), observed)
    sim.save(res, tmp_path / "base", observed, figures=False)
    costs = pd.read_csv(tmp_path / "base" / "costs.csv")
    assert list(costs.columns) == COST_COLUMNS and list(costs["kind"]) == ["total"]
    assert costs[["cost_vnd_low", "cost_vnd_central", "cost_vnd_high"]].to_numpy().tolist() == [[0.0, 0.0, 0.0]]
    # a run folder like the command line's: a finished manifest, never overwritten, read by sim.compare
    from sim.compare import read_run
    from sim.errors import SimInputError

    assert json.loads((tmp_path / "base" / "manifest.json").read_text())["status"] == "ok"
    before = (tmp_path / "base" / "summary.csv").read_bytes()
    with pytest.raises(SimInputError, match=r"^run_dir: .* never overwritten"):
        sim.save(res, tmp_path / "base", observed, figures=False)
    assert (tmp_path / "base" / "summary.csv").read_bytes() == before
    assert read_run(tmp_path / "base").manifest["scenario"] == res.cfg.scenario.name


def test_invalid_lever_in_a_scenario_stops_the_cli_with_one_line(tmp_path):
    out = tmp_path / "bad"
    proc = run_cli(
        "population=tiny",
        "ensemble=single",
        'scenario.levers=[{kind: electricity, start: "2025-01", gap_closd: 1.0}]',
        f"hydra.run.dir={out}",
    )
    assert proc.returncode == 2
    err = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("(recorded as failed in ")]
    assert len(err) == 1 and err[0].startswith("error: scenario.levers[0].gap_closd: unknown key; allowed: ")
    assert "(electricity lever)" in err[0]
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
    assert not (out / "summary.csv").exists() and not (out / "costs.csv").exists()


def test_a_scenario_gives_identical_numbers_serial_or_parallel(observed):
    overrides = [
        "population=tiny",
        "scenario=government_plan",
        "ensemble.n_reps=2",
        "ensemble.n_draws=0",
        "timeline.start=2024-06",
        "timeline.end=2025-06",
    ]
    serial = sim.run(load_config([*overrides, "ensemble.n_jobs=1"]), observed).indicators()
    parallel = sim.run(load_config([*overrides, "ensemble.n_jobs=2"]), observed).indicators()
    assert serial.keys() == parallel.keys()
    assert all(np.array_equal(serial[k], parallel[k], equal_nan=True) for k in serial)


def test_a_run_that_ends_before_a_deadline_says_which_targets_it_leaves_out(tmp_path, observed, caplog):
    res = sim.run(load_config(["population=tiny", "ensemble=single", "timeline.end=2025-06"]), observed)
    with caplog.at_level("WARNING", logger="sim.outputs"):
        sim.save(res, tmp_path / "short", observed, figures=False)
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert line.startswith("targets not judged, their deadline is outside the run (2017-01 .. 2025-06): ")
    for target in ("full_online_ministries_2025", "full_online_localities_2025", "adults_using_ops_2030"):
        assert target in line
    assert "bottlenecks.csv" in line
    assert pd.read_csv(tmp_path / "short" / "targets.csv").empty
    assert not (tmp_path / "short" / "bottlenecks.csv").exists()
    caplog.clear()
    res = sim.run(load_config(SHORT), observed)  # ends 2025-12: only the 2030 target is left out
    with caplog.at_level("WARNING", logger="sim.outputs"):
        sim.save(res, tmp_path / "to2025", observed, figures=False)
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert line.endswith(": adults_using_ops_2030; targets.csv leaves them out")
