"""The command line as a user runs it: finished runs, refusals, bad input, missing data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.observed import SEEDS_DIR

REPO = Path(__file__).resolve().parents[1]
SUMMARY = ["scenario", "indicator", "scope", "date", "mean", "q05", "q25", "q50", "q75", "q95"]
TARGETS = ["scenario", "target", "indicator", "scope", "deadline", "threshold", "p_met", "p_met_lo", "p_met_hi"]


def run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env
    )


def manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "baseline"
    proc = run_cli(
        "population=tiny", "ensemble.n_reps=1", "ensemble.n_draws=2", "ensemble.n_jobs=1", f"hydra.run.dir={out}"
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_cli_writes_a_finished_run(finished_run, observed):
    out, proc = finished_run
    m = manifest(out)
    assert m["status"] == "ok"
    for key in ("git_commit", "versions", "data_hashes", "rng_seed", "wall_time_s", "config"):
        assert key in m, key
    assert m["data_hashes"] == observed.hashes
    assert (out / ".hydra" / "config.yaml").exists()
    summary = pd.read_csv(out / "summary.csv", dtype={"scope": str, "date": str})
    assert list(summary.columns) == SUMMARY
    assert summary["date"].str.fullmatch(r"\d{4}-\d{2}").all()
    full = summary[summary.indicator == "share_dossiers_full_online"]
    assert set(full.scope) >= {"ministries", "localities", "national", *observed.provinces.index}
    cit = summary[summary.indicator == "share_citizens_using_ops"]
    assert set(cit.scope) >= {"national", *observed.provinces.index}
    values = summary[["mean", "q05", "q25", "q50", "q75", "q95"]].dropna()
    assert ((values >= 0) & (values <= 1)).all().all()
    assert (values.q05 <= values.q50 + 1e-12).all() and (values.q50 <= values.q95 + 1e-12).all()
    national = full[full.scope == "national"]
    assert national["mean"].notna().all()
    targets = pd.read_csv(out / "targets.csv", dtype={"scope": str})
    assert list(targets.columns) == TARGETS
    assert {"ministries", "localities"} <= set(targets.scope)
    assert targets.p_met.between(0, 1).all() and (targets.p_met_lo <= targets.p_met).all()
    for name in ("targets_full_online", "citizens_using_ops", "province_ranking"):
        for lang in ("en", "vi"):
            assert (out / "figures" / f"{name}_{lang}.png").stat().st_size > 10_000
    assert not (out / ".staging").exists()
    mode = (out / "outcomes.npz").stat().st_mode & 0o777  # written with open(): the usual mode
    assert all((out / name).stat().st_mode & 0o777 == mode for name in ("summary.csv", "targets.csv", "manifest.json"))
    assert "replicate" in proc.stdout + proc.stderr  # progress is shown
    assert "Warning" not in proc.stderr


def test_finished_run_is_never_overwritten(finished_run):
    """Refused before Hydra starts, so not even the run's record of its config or its log changes."""
    out, _ = finished_run
    files = ["summary.csv", "manifest.json", "cli.log", ".hydra/config.yaml", ".hydra/overrides.yaml"]
    before = {name: (out / name).read_bytes() for name in files}
    proc = run_cli("population=tiny", "ensemble=single", "rng_seed=5", f"hydra.run.dir={out}")
    assert proc.returncode == 2
    assert "never overwritten" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert manifest(out)["status"] == "ok"
    assert {name: (out / name).read_bytes() for name in files} == before


def test_a_folder_in_use_by_a_running_job_is_refused(tmp_path):
    from sim.manifest import RunFolder

    out = tmp_path / "busy"
    running = RunFolder(out)  # holds the folder's lock, as a running job does
    proc = run_cli("population=tiny", "ensemble=single", f"hydra.run.dir={out}")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"error: hydra.run.dir: {out} is in use by a job still running; allowed: a new folder"
    assert sorted(p.name for p in out.iterdir()) == [".lock", "manifest.json"]  # Hydra wrote nothing
    assert manifest(out)["status"] == "running"
    running.finish("failed", "test")
    proc = run_cli("population=tiny", "ensemble=single", "reporting.figures=false", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr  # released: a failed run's folder may be reused
    assert manifest(out)["status"] == "ok"


def test_a_new_folder_is_claimed_once(tmp_path):
    from sim.cli import claim_new

    base = tmp_path / "runs" / "20261207-230348-baseline"
    assert claim_new(base) == base and base.is_dir()
    assert claim_new(base) == base.with_name("20261207-230348-baseline-2")
    assert claim_new(base) == base.with_name("20261207-230348-baseline-3")


def test_jobs_started_together_get_their_own_folders(tmp_path):
    """Two runs started at once on the default, time-stamped folder name: each writes its own."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    args = ["population=tiny", "ensemble=single", "reporting.figures=false"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sim", *args, f"rng_seed={seed}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (3, 4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    folders = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(folders) == 2
    assert sorted(manifest(f)["rng_seed"] for f in folders) == [3, 4]
    for f in folders:
        seed = manifest(f)["rng_seed"]
        assert f"rng_seed={seed}" in (f / ".hydra" / "overrides.yaml").read_text()
        assert manifest(f)["status"] == "ok" and (f / "summary.csv").exists()


def test_a_stopped_run_is_marked_failed(tmp_path):
    """SIGTERM (as `timeout` or a scheduler sends) while the runs go: one line, exit code 130, the
    manifest says failed, no finished tables."""
    import signal
    import time

    out = tmp_path / "stopped"
    args = ["population=tiny", "ensemble.n_reps=400", "ensemble.n_draws=0", f"hydra.run.dir={out}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and "n_reps" not in (
        (out / "manifest.json").read_text() if (out / "manifest.json").exists() else ""
    ):
        time.sleep(0.2)
    time.sleep(1.0)  # the runs have started
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [f"error: interrupted (recorded as failed in {out}/manifest.json)"]
    assert manifest(out)["status"] == "failed" and manifest(out)["error"] == "interrupted"
    assert not (out / "summary.csv").exists()


@pytest.mark.parametrize(
    "override,key",
    [
        ("population.scale=-5", "population.scale"),
        ("population.scal=5", "population.scal"),
        ("params.habit_use=1.5", "params.habit_use"),
        ("timeline.end=2016-01", "timeline.end"),
        ("scenario=no_such_scenario", "scenario"),
        ("population.provinces=[99]", "population.provinces"),
    ],
)
def test_bad_input_fails_with_one_line(tmp_path, override, key):
    out = tmp_path / "bad"
    proc = run_cli("population=tiny", "ensemble=single", override, f"hydra.run.dir={out}")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("(recorded")]
    assert len(lines) == 1 and key in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert manifest(out)["status"] == "failed"
    assert not (out / "summary.csv").exists()


def test_missing_data_file_fails_with_one_line(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    (seeds / "provinces.csv").unlink()
    out = tmp_path / "run"
    proc = run_cli("population=tiny", "ensemble=single", f"observed_dir={seeds}", f"hydra.run.dir={out}")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("(recorded")]
    assert "provinces.csv" in proc.stderr and len(lines) == 1, proc.stderr
    assert f"(recorded as failed in {out}/manifest.json)" in proc.stderr
    assert manifest(out)["status"] == "failed"
    assert not (out / "summary.csv").exists()


@pytest.mark.parametrize(
    "overrides,key",
    [
        (["population.provinces=[99]"], "population.provinces"),
        (["scenario=lever_fees", "scenario.levers.0.fee_cut=1.5"], "scenario.levers[0].fee_cut"),
        (["scenario=lever_fees", "+scenario.levers.0.fee_cutt=0.5"], "scenario.levers[0].fee_cutt"),
        (["+scenario.levers.0.gap_closed=0.5"], "scenario.levers[0]"),
        (["scenario=lever_fees", "scenario.levers.0.start=2031-01"], "scenario.levers[0].start"),
        (["params=default", "ensemble.n_draws=4"], "ensemble.n_draws"),  # hand-set values have no draws
    ],
)
def test_bad_provinces_and_levers_are_refused_before_the_run_starts(tmp_path, overrides, key):
    """Checks that need the data (simulated provinces, the levers' keys, ranges and targets, the
    posterior draws) run before Hydra makes the run folder: it holds only the failed manifest, no log."""
    out = tmp_path / "bad"
    proc = run_cli("population=tiny", "ensemble=single", *overrides, f"hydra.run.dir={out}")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"error: {key}") and "allowed" in lines[0], proc.stderr
    assert lines[1] == f"(recorded as failed in {out}/manifest.json)"
    assert manifest(out)["status"] == "failed"
    assert sorted(p.name for p in out.iterdir()) == [".lock", "manifest.json"]


@pytest.mark.parametrize("module", ["sim", "sim.plan", "sim.calibrate"])
def test_help_names_the_command(module):
    proc = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"python -m {module}: ") and "powered by Hydra" not in proc.stdout
    assert "== Configuration groups ==" in proc.stdout and f"python -m {module} --hydra-help" in proc.stdout


def test_the_folder_a_command_writes_to_is_known_before_hydra_starts():
    from sim.cli import output_dir

    plan, stamped = output_dir(["planner=min_cost"], "plan", False)
    assert stamped and plan.parent == Path("results/plans") and plan.name.endswith("-min_cost")
    sweep, stamped = output_dir(["scenario=lever_fees"], "config", True)
    assert stamped and sweep.parent == Path("results/multirun")
    assert output_dir(["hydra.run.dir=/tmp/x"], "config", False) == (Path("/tmp/x"), False)  # named: not claimed
    assert output_dir([], "calibrate", False) == (Path("results/calibration/calibrated"), False)  # by its tag


def test_a_named_folder_with_other_files_is_left_untouched(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.csv").write_text("my own table\n")
    proc = run_cli("population=tiny", "ensemble=single", f"hydra.run.dir={mine}")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: hydra.run.dir: {mine} holds files that are not a run's (summary.csv); "
        "allowed: a new or empty folder, or a failed run's folder"
    ]
    assert sorted(p.name for p in mine.iterdir()) == ["summary.csv"]
    assert (mine / "summary.csv").read_text() == "my own table\n"
    sweep = tmp_path / "sweep"  # a sweep into a folder that is not empty (an earlier sweep's)
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("earlier\n")
    proc = run_cli("-m", "population=tiny", "ensemble=single", "rng_seed=1,2", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: hydra.sweep.dir: {sweep} is not empty")
    assert (sweep / "multirun.yaml").read_text() == "earlier\n" and len(list(sweep.iterdir())) == 1


@pytest.mark.parametrize("folder", ["/tmp/a b", "/tmp/it's", "/tmp/x\\y", "/tmp/x\\", "/tmp/x\\'y", "/tmp/a=b,c"])
def test_a_claimed_folder_is_quoted_as_hydra_reads_it(folder):
    """The folder a command claims reaches Hydra as the same path (before: a backslash was doubled,
    so Hydra wrote to another folder), and an interrupted sweep finds its folder the same way."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.cli import hydra_quote, sweep_dir

    override = f"hydra.sweep.dir={hydra_quote(folder)}"
    assert OverridesParser.create().parse_overrides([override])[0].value() == folder
    assert sweep_dir(["-m", override]) == Path(folder) and sweep_dir([override]) is None
