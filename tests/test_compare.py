"""``python -m sim.compare``: two tiny finished runs compared; failed or missing runs refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.compare import COMPARISON_COLUMNS, comparison_table, main, read_run
from sim.config import compose_plain

COMMON = [
    "population=tiny",
    "params=default",  # the alternative run sets back-office floors above the calibrated ceilings
    "ensemble.n_reps=3",
    "ensemble.n_draws=0",
    "ensemble.n_jobs=1",
    "timeline.end=2025-12",
    "reporting.figures=false",
]
COST_COLUMNS = ["lever", "kind", "targeting", "start", "cost_vnd_low", "cost_vnd_central", "cost_vnd_high"]


def write_costs(run, central: float) -> None:
    """A costs.csv with one lever and the total row (the layout the levers write)."""
    rows = [("0", "outreach", "all provinces", "2024-01", 0.5 * central, central, 2 * central)]
    rows.append(("", "total", "", "", 0.5 * central, central, 2 * central))
    pd.DataFrame(rows, columns=COST_COLUMNS).to_csv(run / "costs.csv", index=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny runs through the CLI job: the baseline and one whose back offices work at full
    capacity from the start, costing 2.5e12 VND (costs.csv in the levers' layout for both)."""
    from sim.cli import run_job

    root = tmp_path_factory.mktemp("runs")
    specs = {
        "base": [],
        "alt": [
            "scenario.name=alt",
            "scenario.label=Back offices at full capacity",
            "scenario.label_vi='Bộ phận xử lý hết công suất'",
            "params.backoffice_lo_ministries=0.98",
            "params.backoffice_lo_localities=0.9",
        ],
    }
    for name, extra in specs.items():
        assert run_job(compose_plain([*COMMON, *extra]), root / name) == 0
    write_costs(root / "base", 0.0)
    write_costs(root / "alt", 2.5e12)
    return root


def _median(run, scope):
    s = pd.read_csv(run / "summary.csv", dtype={"scope": str})
    row = s[(s.indicator == "share_dossiers_full_online_ytd") & (s.scope == scope) & (s.date == "2025-12")]
    return float(row["q50"].iloc[0])


def test_comparison_table_from_two_runs(runs, tmp_path):
    out = tmp_path / "cmp"
    assert main([str(runs / "alt"), str(runs / "base"), "--out", str(out), "--lang", "vi"]) == 0
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns) == COMPARISON_COLUMNS
    assert list(table["scenario"]) == ["baseline"] * 3 + ["alt"] * 3  # the baseline first
    for r in table.itertuples():
        run = runs / ("base" if r.scenario == "baseline" else "alt")
        targets = pd.read_csv(run / "targets.csv", dtype={"scope": str})
        t = targets[(targets.scope == r.scope) & (targets.indicator == "share_dossiers_full_online")].iloc[0]
        assert (r.p_met, r.p_met_lo, r.p_met_hi, r.threshold) == pytest.approx(
            (t.p_met, t.p_met_lo, t.p_met_hi, t.threshold)
        )
        assert r.median_share == pytest.approx(_median(run, r.scope), abs=1e-6)
        gain = (_median(run, r.scope) - _median(runs / "base", r.scope)) * 100
        assert r.gain_pp == pytest.approx(gain, abs=1e-4)
        if r.scenario == "baseline":
            assert r.gain_pp == 0 and np.isnan(r.pp_per_trillion_vnd)  # cost 0: undefined, left empty
        else:
            # a 20 times higher innovation hazard lifts the median above the baseline's 95th percentile
            base_q95 = table[(table.scenario == "baseline") & (table.scope == r.scope)]["q95"].iloc[0]
            assert r.median_share > base_q95
            assert r.pp_per_trillion_vnd == pytest.approx(gain / 2.5, abs=1e-4)
            assert r.cost_vnd_central == 2.5e12
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == ["comparison_en.png", "comparison_vi.png", "fan_targets_en.png", "fan_targets_vi.png"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["kind"] == "comparison" and manifest["baseline"] == "baseline"
    assert [r["scenario"] for r in manifest["runs"]] == ["alt", "baseline"]


def test_multirun_folder_and_named_baseline(runs, tmp_path):
    sweep = tmp_path / "multirun"
    sweep.mkdir()
    shutil.copytree(runs / "base", sweep / "0-baseline")
    shutil.copytree(runs / "alt", sweep / "1-alt")
    out = tmp_path / "cmp"
    assert main([str(sweep), "--baseline", "alt", "--out", str(out)]) == 0
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["scenario"].unique()) == ["alt", "baseline"]
    base = table[table.scenario == "baseline"].set_index("scope")
    alt = table[table.scenario == "alt"].set_index("scope")
    np.testing.assert_allclose(base["gain_pp"], (base["median_share"] - alt["median_share"]) * 100, atol=1e-4)
    assert base["pp_per_trillion_vnd"].isna().all()  # the baseline run costs 0


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_failed_missing_or_duplicate_runs_stop_with_one_line(runs, tmp_path, capsys):
    failed = tmp_path / "failed"
    shutil.copytree(runs / "alt", failed)
    manifest = json.loads((failed / "manifest.json").read_text())
    manifest.update(status="failed", error="population.scale: 0 is out of range")
    (failed / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "cmp"
    assert "status 'failed'" in _error(capsys, [str(runs / "base"), str(failed), "--out", str(out)])
    assert "is not a run folder" in _error(capsys, [str(runs / "base"), str(tmp_path / "nope"), "--out", str(out)])
    dup = tmp_path / "dup"
    shutil.copytree(runs / "alt", dup)
    assert "appears in more than one run" in _error(capsys, [str(runs / "alt"), str(dup), str(runs / "base")])
    assert "--baseline" in _error(capsys, [str(runs / "alt"), "--out", str(out)])
    some = tmp_path / "some"  # the same scenario run on two provinces only: not comparable
    shutil.copytree(runs / "alt", some)
    manifest = json.loads((some / "manifest.json").read_text())
    manifest["config"]["population"]["provinces"] = ["79", "01"]
    (some / "manifest.json").write_text(json.dumps(manifest))
    err = _error(capsys, [str(runs / "base"), str(some), "--out", str(out)])
    assert "runs: the runs simulate different provinces (01, 79; all 63)" in err, err
    assert not out.exists()  # nothing that looks like a result is left behind


def test_existing_output_folder_is_never_overwritten(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "comparison.csv").write_text("earlier result\n")
    assert "--out" in _error(capsys, [str(runs / "base"), str(runs / "alt"), "--out", str(out)])
    assert (out / "comparison.csv").read_text() == "earlier result\n"


def test_command_line_exit_code(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim.compare", str(tmp_path / "missing")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "missing" in proc.stderr


def test_charts_name_scenarios_by_their_labels(runs):
    """Legends show a scenario's label in the chart's language; a scenario without one, its name."""
    from sim.reporting.briefing import comparison_chart, scenario_fan_chart

    alt, base = read_run(runs / "alt"), read_run(runs / "base")
    assert (alt.label("en"), alt.label("vi")) == ("Back offices at full capacity", "Bộ phận xử lý hết công suất")
    assert base.label("vi") == "Cơ sở (xu hướng hiện tại)"  # conf/scenario/baseline.yaml
    old = read_run(runs / "alt")
    old.manifest = {k: v for k, v in old.manifest.items() if k != "config"}  # a run made before labels
    assert old.label("en") == "alt"
    table = comparison_table([alt, base])
    summary = pd.concat([r.summary[r.summary.indicator == "share_dossiers_full_online"] for r in (base, alt)])
    targets = table.drop_duplicates("scope")[["scope", "threshold", "deadline"]]
    for lang in ("en", "vi"):
        labels = {r.scenario: r.label(lang) for r in (alt, base)}
        fig = comparison_chart(table, "baseline", lang, labels)
        shown = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert shown == [labels["baseline"], labels["alt"]]
        fig = scenario_fan_chart(summary, targets, ["baseline", "alt"], lang, labels)
        assert [t.get_text() for t in fig.legends[0].get_texts()] == [labels["baseline"], labels["alt"]]


def test_point_labels_of_scenarios_at_the_same_place_do_not_overlap():
    """Four scenarios with almost the same cost and gain: their labels are stacked, not overprinted."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    from sim.reporting.briefing import comparison_chart

    rows = []
    for k, scen in enumerate(["baseline", "a", "b", "c", "d"]):
        for scope in ("ministries", "localities", "national"):
            cost = 0.0 if scen == "baseline" else 1e12 + k * 1e9
            gain = 0.0 if scen == "baseline" else 2.0 + 0.01 * k
            rows.append(
                dict(
                    scenario=scen,
                    scope=scope,
                    deadline="2025-12",
                    threshold=0.7,
                    median_share=0.3,
                    q05=0.2,
                    q95=0.4,
                    p_met=0.1,
                    p_met_lo=0.0,
                    p_met_hi=0.3,
                    cost_vnd_central=cost,
                    gain_pp=gain,
                )
            )
    fig = comparison_chart(pd.DataFrame(rows), "baseline", "en", {s: f"Scenario {s}" for s in "abcd"})
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in fig.axes[1].texts]  # the text, without its line
    assert sorted(t.get_text() for t in fig.axes[1].texts) == [f"Scenario {s}" for s in "abcd"]  # no baseline label
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
