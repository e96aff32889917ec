"""The investment planner (``python -m sim.plan``): input validation, zero budget = baseline, more
budget never worse beyond Monte-Carlo error, the "not reachable" answer, and the run folder.

Simulations use four provinces (two remote: 02 Hà Giang, 04 Cao Bằng; two other: 01 Hà Nội,
79 Hồ Chí Minh City) at 1 agent = 20,000 people, to the end of 2025, with one or two levers.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sim.config import compose_plain
from sim.errors import SimInputError
from sim.plan import load_plan, run_plan
from sim.plan.__main__ import run_plan_job
from sim.plan.report import allocation_table, frontier_table

SMALL = [
    "population=tiny",
    'population.provinces=["01","02","04","79"]',
    "ensemble.n_reps=3",
    "ensemble.n_draws=0",
    "ensemble.n_jobs=1",
    "planner.search_n_reps=2",
    "planner.search_scale=20000",
    "reporting.figures=false",
]
TRAINING = "planner.levers=[{kind: training, bound: 4000, steps: 2}]"
TWO_LEVERS = "planner.levers=[{kind: training, bound: 4000, steps: 2}, {kind: eid, bound: 0.6, steps: 2}]"


@pytest.fixture(scope="module")
def observed():
    from sim.observed import load_observed

    return load_observed()


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("planner.budget_vnd=-1", "planner.budget_vnd"),
        ("planner.required_probability=1.5", "planner.required_probability"),
        ("planner.required_probability=-0.1", "planner.required_probability"),
        ("planner.levers=[{kind: nosuch, bound: 1}]", "planner.levers[0].kind"),
        ("planner.levers=[{kind: training, bound: 1e9}]", "planner.levers[0].bound"),
        ("planner.levers=[{kind: training, bound: 10, colour: red}]", "planner.levers[0].colour"),
        ("planner.levers=[{kind: eid, bound: 0.5, key: officials}]", "planner.levers[0].key"),
        ("planner.levers=[{kind: eid, bound: 0.5, fixed: {provinces: ['01']}}]", "planner.levers[0].fixed.provinces"),
        ("planner.levers=[]", "planner.levers"),
        ("planner.mode=maximise", "planner.mode"),
        ("planner.targets=[full_online_everything]", "planner.targets"),
        ("planner.deadline=2027", "planner.deadline"),
        ("planner.groups=districts", "planner.groups"),
        ("planner.budgett=5", "planner.budgett"),
        ("ensemble.p_tolerance=0.1", "ensemble.p_tolerance"),
        ("planner.optimizer=annealing", "planner.optimizer"),
        ("planner.de_maxiter=0", "planner.de_maxiter"),
        ("planner.de_popsize=0", "planner.de_popsize"),
        ("timeline.end=2024-12", "timeline.end"),  # before the deadline the planner simulates to
    ],
)
def test_bad_input_is_one_line_naming_the_key(override, key):
    with pytest.raises(SimInputError) as err:
        load_plan([override])
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(key), msg
    assert "allowed" in msg or "unknown key" in msg, msg


def test_default_plan_composes():
    cfg, plan = load_plan([])
    assert plan.spec.mode == "max_probability" and plan.end == "2025-12"
    assert [g.name for g in plan.groups] == ["remote", "other"]
    assert sum(len(g.codes) for g in plan.groups) == 63
    assert cfg.ensemble.n_reps == 2 and cfg.ensemble.n_draws == 16 and cfg.params.posterior_file  # posterior draws
    _, later = load_plan(["timeline.end=2027-06"])  # a later end is cut at the deadline
    assert later.end == "2025-12"
    _, mc = load_plan(["planner=min_cost"])
    assert mc.spec.mode == "min_cost" and mc.spec.budget_vnd == 0


def plan_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.plan", *args], capture_output=True, text=True, timeout=300)


def test_cli_bad_input_exits_2_and_records_failure(tmp_path):
    out = tmp_path / "plan"
    proc = plan_cli("planner.budget_vnd=-5", f"hydra.run.dir={out}")
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "planner.budget_vnd" in lines[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "planner.budget_vnd" in manifest["error"]
    assert not (out / "frontier.csv").exists()


def test_zero_budget_equals_baseline(observed):
    res = run_plan([*SMALL, TWO_LEVERS, "planner.budget_vnd=0"], observed=observed)
    assert res.chosen.cost == (0.0, 0.0, 0.0)
    assert len(res.path) == 1  # no affordable move
    # the same runs, bit for bit: no lever entry at all, the same random numbers
    np.testing.assert_array_equal(res.chosen.final.values, res.baseline.final.values)
    assert res.chosen.p == res.baseline.p


def test_more_budget_never_lowers_the_optimum_beyond_monte_carlo_error(observed):
    over = [*SMALL, TWO_LEVERS, "planner.budget_vnd=2e11", "planner.frontier=[0,0.25,0.5,1]"]
    thresholds = load_plan(over)[1].targets["threshold"].to_numpy(float)
    res = run_plan(over, observed=observed)
    objectives = [p.search.objective for p in res.path]
    assert all(b > a for a, b in zip(objectives, objectives[1:], strict=False)), objectives  # each greedy step gains
    costs = [p.cost[1] for p in res.path]
    assert costs == sorted(costs) and costs[-1] <= 2e11
    frontier = res.frontier
    assert [e.budget_vnd for e in frontier] == [0.0, 0.5e11, 1e11, 2e11]
    assert all(e.cost[1] <= e.budget_vnd for e in frontier)
    for small, big in zip(frontier, frontier[1:], strict=False):
        # P(met): the larger budget's upper 95 % bound must reach the smaller one's lower bound
        assert big.interval[1] >= small.interval[0]
        # the smallest margin to a threshold, run by run on the same (common) random numbers: a mean
        # drop of more than 2 standard errors of the paired difference (~97.5 % one-sided) fails
        d = (big.final.values - thresholds).min(axis=1) - (small.final.values - thresholds).min(axis=1)
        se = d.std(ddof=1) / np.sqrt(d.size)
        assert d.mean() >= -2 * se - 1e-12, (d, se)


def test_infeasible_requirement_is_not_reachable(observed, tmp_path):
    # ministries at 85 % fully online in 2025 from ~56 % at the baseline median: one small lever
    # cannot make every run meet it, so P = 1 is not reachable.
    over = [
        *SMALL,
        "planner=min_cost",
        "planner.required_probability=1.0",
        "planner.levers=[{kind: training, bound: 2000, steps: 1}]",
    ]
    plain = compose_plain(over, "plan")
    run_dir = tmp_path / "plan_run"
    assert run_plan_job(plain, run_dir) == 0
    answer = json.loads((run_dir / "answer.json").read_text())
    assert answer["reachable"] is False
    assert answer["verdict"]["en"].startswith("Not reachable by Dec 2025 at any budget within the levers' bounds")
    assert answer["verdict"]["vi"].startswith("Không thể đạt vào tháng 12/2025")
    assert 0.0 <= answer["chosen"]["p_met"] < 1.0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["kind"] == "plan"
    for name in (
        "frontier.csv",
        "allocation.csv",
        "path.csv",
        "province_probabilities.csv",
        "summary.csv",
        "costs.csv",
    ):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / ".staging").exists()
    # which stage gave the answer, and how many candidates each stage ran
    import pandas as pd

    search = answer["search"]
    assert search["optimizer"] == "de" and search["answer_stage"] in ("greedy", "de")
    assert search["stages"]["greedy"]["candidates"] >= 1 and search["stages"]["de"]["candidates"] >= 0
    path = pd.read_csv(run_dir / "path.csv")
    assert list(path["stage"]) == ["greedy"] * (len(path) - 1) + ["de"]
    assert path["answer"].sum() == 1
    assert path.loc[path["answer"], "stage"].item() == search["answer_stage"]
    # a finished plan is never overwritten
    assert run_plan_job(plain, run_dir) == 2


def test_min_cost_of_a_target_the_baseline_already_meets_is_zero(observed):
    # 40 % of adults using online services in 2025: the baseline median is ~66 % (README), so
    # every run meets it with no lever and the cheapest plan is the empty one.
    over = [*SMALL, TRAINING, "planner=min_cost", "planner.targets=[adults_using_ops_2025]"]
    res = run_plan([*over, "planner.required_probability=0.9"], observed=observed)
    assert res.reachable and res.chosen.cost[1] == 0.0 and res.chosen.p >= 0.9
    assert len(res.path) == 1  # the search stops at the start: its estimate already holds


def test_allocation_table_adds_up_to_the_plan_cost(observed):
    cfg, plan = load_plan([*SMALL, TRAINING, "planner.budget_vnd=1e12"])
    from sim.plan.evaluate import Evaluator
    from sim.plan.search import Evaluated, Point

    final = Evaluator(cfg, plan, observed, search=False)
    k = np.array([[2, 1]])
    point = Point(k, final.cost(k), None)
    table = allocation_table(Evaluated("x", 1e12, point, None, point.cost), final)
    assert set(table["gso_code"]) == {"01", "02", "04", "79"}
    assert set(table["size"]) == {4000.0, 2000.0}
    assert table["cost_vnd_central"].sum() == pytest.approx(point.cost[1], rel=1e-9)
    assert point.cost[0] <= point.cost[1] <= point.cost[2] and point.cost[1] > 0


@pytest.mark.slow
def test_serial_and_parallel_plans_are_identical(observed):
    over = [*SMALL, TRAINING, "planner.budget_vnd=2e10"]
    serial = run_plan(over, observed=observed)
    parallel = run_plan([*over, "ensemble.n_jobs=2"], observed=observed)
    assert [p.move for p in serial.path] == [p.move for p in parallel.path]
    assert [p.search.objective for p in serial.path] == [p.search.objective for p in parallel.path]
    np.testing.assert_array_equal(serial.chosen.final.values, parallel.chosen.final.values)
    np.testing.assert_array_equal(serial.baseline.final.values, parallel.baseline.final.values)


def test_planner_charts_in_both_languages():
    import unicodedata

    import pandas as pd
    from matplotlib.figure import Figure

    from sim.plan import charts

    assert set(charts.LABELS["en"]) == set(charts.LABELS["vi"])
    frontier = pd.DataFrame(
        {
            "label": ["baseline", "budget_0", "budget_0.5", "budget_1", "costs_x"],
            "budget_fraction": [0.0, 0.0, 0.5, 1.0, 2 / 3],
            "cost_vnd_low": [0, 0, 1e11, 2e11, 1e11],
            "cost_vnd_central": [0, 0, 3e11, 6e11, 3e11],
            "cost_vnd_high": [0, 0, 9e11, 1.8e12, 9e11],
            "p_met": [0.0, 0.0, 0.25, 0.5, 0.25],
            "p_met_lo": [0.0, 0.0, 0.05, 0.2, 0.05],
            "p_met_hi": [0.2, 0.2, 0.6, 0.8, 0.6],
            "median_full_online_localities_2025": [0.5, 0.5, 0.62, 0.7, 0.62],
        }
    )
    meta = {"deadline": "2025-12", "targets": {"full_online_localities_2025": 0.7}, "n_runs": 16, "scale": 100,
            "n_draws": 0, "cost_factor": 1.5, "budget": 8e11, "required": 0.8, "scenario": "plan"}  # fmt: skip
    probs = pd.DataFrame({"gso_code": ["01", "02"], "p_met": [0.9, 0.1], "threshold": 0.7, "deadline": "2025-12"})
    for lang, title in (("en", "Budget vs probability"), ("vi", "Ngân sách và xác suất")):
        fig = charts.frontier_chart(frontier, meta, lang)
        assert isinstance(fig, Figure)
        shown = fig._suptitle.get_text()
        assert shown.startswith(title) and unicodedata.is_normalized("NFC", shown)
        # one label per distinct plan (the costs x 1.5 point is drawn but not labelled)
        assert sorted(t.get_text() for t in fig.axes[0].texts) == ["0 %", "100 %", "50 %"]
        # targets named in words; tick labels write the tick values exactly (no 0.25 shown as 0.2)
        legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
        assert legend == [charts.target_name("full_online_localities_2025", lang, 0.7)] and "70 %" in legend[0]
        fig.canvas.draw()
        for a in fig.axes:
            ticks = a.get_xticks()
            shown = [float(t.get_text().replace(",", ".")) for t in a.get_xticklabels()]
            assert shown == pytest.approx(list(ticks)), (shown, ticks)
        m = charts.province_map(probs, meta, lang)
        assert "70 %" in m.axes[0].get_title()


DE = [*SMALL, TWO_LEVERS, "planner.budget_vnd=2e11", "planner.de_maxiter=3", "planner.de_popsize=2"]


def test_differential_evolution_starts_from_the_greedy_and_keeps_the_budget(observed):
    res = run_plan(DE, observed=observed)
    greedy_best = res.path[-1]
    assert res.de is not None and res.de.stage == "de"
    # the greedy's answer is in the first population: the DE's best scores at least as well
    assert res.de.search.objective >= greedy_best.search.objective
    assert res.chosen.point.search.objective >= greedy_best.search.objective
    assert res.chosen.point is (res.de if res.answer_stage == "de" else greedy_best)
    # the budget constraint holds for the reported plan and for the DE's best
    assert res.chosen.cost[1] <= 2e11 and res.de.cost[1] <= 2e11
    facts = res.stages["de"]
    assert facts["generations"] <= 3 and facts["population"] == 8  # 2 x (2 levers x 2 groups)
    assert facts["candidates"] <= facts["trials"]
    # greedy only: no DE stage, the greedy's last state is the answer
    only = run_plan([*DE, "planner.optimizer=greedy"], observed=observed)
    assert only.de is None and "de" not in only.stages and only.answer_stage == "greedy"
    assert [p.move for p in only.path] == [p.move for p in res.path]
    assert only.chosen.point is only.path[-1]


def test_differential_evolution_is_reproducible_serial_and_parallel(observed):
    serial = run_plan(DE, observed=observed)
    parallel = run_plan([*DE, "ensemble.n_jobs=2"], observed=observed)
    np.testing.assert_array_equal(serial.de.k, parallel.de.k)
    np.testing.assert_array_equal(serial.chosen.point.k, parallel.chosen.point.k)
    assert serial.de.search.objective == parallel.de.search.objective
    assert serial.stages == parallel.stages
    np.testing.assert_array_equal(serial.chosen.final.values, parallel.chosen.final.values)
    # another seed draws another DE population (the greedy's start is the same kind of state)
    other = run_plan([*DE, "rng_seed=7"], observed=observed)
    assert other.de.search.objective >= other.path[-1].search.objective


@pytest.mark.parametrize(
    ("config_name", "override", "key", "command"),
    [
        ("plan", "planner.budget=5e12", "planner.budget", "python -m sim.plan --cfg job"),
        ("plan", "planner.levers.9.bound=1", "planner.levers[9]", "python -m sim.plan --cfg job"),
        ("calibrate", "calibration.nosuch=1", "calibration.nosuch", "python -m sim.calibrate --cfg job"),
        ("config", "nosuch.key=1", "nosuch.key", "python -m sim --cfg job"),
    ],
)
def test_unknown_key_hint_names_the_command_run(config_name, override, key, command):
    # a misspelt key (planner.budget for planner.budget_vnd) or a missing list entry: the hint
    # names the command whose --cfg job lists that config's keys, not always python -m sim
    with pytest.raises(SimInputError) as err:
        compose_plain([override], config_name)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{key}: "), msg
    assert msg.endswith(f"with: {command})"), msg


def test_planner_cli_hint_for_a_misspelt_key(tmp_path):
    proc = plan_cli("planner.budget=5e12", f"hydra.run.dir={tmp_path / 'plan'}")
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert lines == [
        "error: planner.budget: unknown key (check the spelling; list keys with: python -m sim.plan --cfg job)"
    ]


def test_planner_labels_name_the_year_judged():
    # planner.deadline=2030 moves the 2025 localities target to Dec 2030: every label names 2030
    # (not the id's 2025), and the fan chart marks only the chosen target
    from types import SimpleNamespace

    import pandas as pd

    from sim.plan import charts
    from sim.plan.report import chart_meta, targets_for_fan, verdict

    cfg, plan = load_plan([*SMALL, TRAINING, "planner.deadline=2030", "planner.targets=[full_online_localities_2025]"])
    assert plan.targets["deadline"].tolist() == ["2030-12"] and plan.end == "2030-12"
    final = SimpleNamespace(plan=plan, cfg=cfg)
    outcome = SimpleNamespace(values=np.array([[0.38], [0.39], [0.40]]), met=np.zeros(3, bool), region_gap_pp=0.0)
    chosen = SimpleNamespace(p=0.0, interval=(0.0, 0.07), cost=(1e12, 1.9e12, 2.8e12), final=outcome)
    res = SimpleNamespace(mode="max_probability", reachable=False, chosen=chosen)

    said = verdict(res, final)
    baseline = SimpleNamespace(
        label="baseline", budget_vnd=0.0, interval=(0.0, 0.07), cost=(0.0, 0.0, 0.0), p=0.0, final=outcome, point=None
    )
    table = frontier_table(SimpleNamespace(baseline=baseline, frontier=[baseline], robust=None), final)
    assert table["deadline_full_online_localities_2025"].tolist() == ["2030-12", "2030-12"]  # the month judged
    assert "local dossiers fully online (2030) 39 %" in said["en"], said["en"]
    assert "hồ sơ địa phương trực tuyến toàn trình (2030) 39 %" in said["vi"], said["vi"]
    assert "(2025)" not in said["en"] and "(2025)" not in said["vi"]
    assert charts.target_name("full_online_localities_2025", "en", 0.7) == "local dossiers fully online ≥ 70 % (2025)"

    meta = chart_meta(res, final)
    assert meta["deadlines"] == {"full_online_localities_2025": "2030-12"}
    assert meta["scenario_label"] == {"en": "plan", "vi": "phương án"}  # the notes under the charts
    frontier = pd.DataFrame(
        {
            "label": ["baseline", "budget_0", "budget_1"],
            "budget_fraction": [0.0, 0.0, 1.0],
            "cost_vnd_low": [0, 0, 1e12],
            "cost_vnd_central": [0, 0, 1.9e12],
            "cost_vnd_high": [0, 0, 2.8e12],
            "p_met": [0.0, 0.0, 0.0],
            "p_met_lo": [0.0, 0.0, 0.0],
            "p_met_hi": [0.07, 0.07, 0.07],
            "median_full_online_localities_2025": [0.37, 0.37, 0.39],  # the column keeps the target's id
        }
    )
    dates = [f"{y}-{m:02d}" for y in range(2020, 2031) for m in range(1, 13)]
    keys = [
        (s, scope, d) for s in ("baseline", "plan") for scope in ("ministries", "localities", "national") for d in dates
    ]
    summary = pd.DataFrame(keys, columns=["scenario", "scope", "date"]).assign(
        indicator="share_dossiers_full_online", q05=0.3, q50=0.35, q95=0.4
    )
    fan_targets = targets_for_fan(final)
    assert fan_targets.to_dict("records") == [{"scope": "localities", "threshold": 0.7, "deadline": "2030-12"}]
    for lang, when, marker in (
        ("en", "Dec 2030", "Target 70 % (Dec 2030)"),
        ("vi", "tháng 12/2030", "Mục tiêu 70 % (12/2030)"),
    ):
        fig = charts.frontier_chart(frontier, meta, lang)
        legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
        assert len(legend) == 1 and legend[0].endswith("(2030)"), legend
        note = [t.get_text() for t in fig.texts if t.get_text() != fig.get_suptitle()]
        assert any("(2030)" in n for n in note) and not any("(2025)" in n for n in note), note
        fan = charts.plan_fan_chart(summary, fan_targets, lang)
        title = fan.get_suptitle()
        assert when in title and "2025" not in title, title
        marks = {ax.get_title(): [t.get_text() for t in ax.texts] for ax in fan.axes}
        assert [m for m in marks.values() if m] == [[marker]], marks  # the localities target only
