"""Multirun launchers (conf/hydra/launcher/): they compose, and a 2-job sweep gives the same numbers
with the basic (serial) launcher, joblib, a local Ray instance and submitit's local executor.

The Ray and submitit checks need the ``ray`` and ``slurm`` extras and are skipped without them
(hydra-ray-launcher pins cloudpickle<3, so Ray is not part of the ``test`` extra).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SWEEP = [
    "scenario.name=alpha,beta",
    "population=tiny",
    "ensemble.n_reps=1",
    "ensemble.n_draws=0",
    "ensemble.n_jobs=1",
    "timeline.end=2017-12",
    "reporting.figures=false",
]


def has(module: str) -> bool:
    """Whether ``module`` can be imported (a launcher plugin is installed)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def compose_launcher(name: str) -> dict:
    """The ``hydra.launcher`` node of ``conf/`` with ``hydra/launcher=<name>``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
            cfg = compose("config", overrides=[f"hydra/launcher={name}"], return_hydra_config=True)
            return OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    finally:
        GlobalHydra.instance().clear()


def sweep(tmp: Path, launcher: str | None) -> Path:
    """Run the 2-job sweep with ``launcher`` (None = Hydra's basic launcher); returns the sweep folder."""
    out = tmp / (launcher or "basic")
    args = [sys.executable, "-m", "sim", "-m", *SWEEP, f"hydra.sweep.dir={out}"]
    if launcher:
        args.insert(4, f"hydra/launcher={launcher}")
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "MESA" not in proc.stdout + proc.stderr  # mesa's line per model step stays out of the log
    return out


def assert_same_results(a: Path, b: Path) -> None:
    for job in ("0-alpha", "1-beta"):
        for name in ("summary.csv", "targets.csv"):
            assert (a / job / name).read_bytes() == (b / job / name).read_bytes(), f"{job}/{name} differs"
        assert '"status": "ok"' in (b / job / "manifest.json").read_text()


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    return sweep(tmp_path_factory.mktemp("sweeps"), None)


@pytest.mark.skipif(not has("hydra_plugins.hydra_joblib_launcher"), reason="needs the parallel extra")
def test_parallel_launcher_config():
    node = compose_launcher("parallel")
    assert node["_target_"].endswith("JoblibLauncher")
    assert node["n_jobs"] == 2 and node["backend"] == "loky"


@pytest.mark.skipif(not has("hydra_plugins.hydra_ray_launcher"), reason="needs the ray extra")
def test_ray_launcher_configs():
    local = compose_launcher("ray_local")
    assert local["_target_"].endswith("RayLauncher")
    init = local["ray"]["init"]
    assert init["address"] is None and init["_node_ip_address"] == "127.0.0.1" and init["include_dashboard"] is False
    assert "object_store_memory" in init and init["object_store_memory"] is None
    assert compose_launcher("ray_cluster")["ray"]["init"]["address"] == "auto"


@pytest.mark.skipif(not has("hydra_plugins.hydra_submitit_launcher"), reason="needs the slurm extra")
def test_slurm_launcher_config():
    node = compose_launcher("slurm")
    assert node["_target_"].endswith("SlurmLauncher")
    assert node["cpus_per_task"] == 8 and node["submitit_folder"].startswith("${hydra.sweep.dir}")


@pytest.mark.slow
@pytest.mark.skipif(not has("hydra_plugins.hydra_joblib_launcher"), reason="needs the parallel extra")
def test_joblib_sweep_matches_serial(serial, tmp_path):
    assert_same_results(serial, sweep(tmp_path, "parallel"))


@pytest.mark.slow
@pytest.mark.skipif(
    not (has("ray") and has("hydra_plugins.hydra_ray_launcher")), reason="needs the ray extra (pip install -e .[ray])"
)
def test_ray_sweep_on_a_local_instance_matches_serial(serial, tmp_path):
    assert_same_results(serial, sweep(tmp_path, "ray_local"))


@pytest.mark.slow
@pytest.mark.skipif(not has("hydra_plugins.hydra_submitit_launcher"), reason="needs the slurm extra")
def test_submitit_local_sweep_matches_serial(serial, tmp_path):
    # submitit's local executor runs the same code path as SLURM jobs, without a cluster
    assert_same_results(serial, sweep(tmp_path, "submitit_local"))


def test_a_launcher_without_its_plugin_fails_with_one_line(monkeypatch):
    import importlib.util

    from sim import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if "ray" in name else real(name))
    msg = cli.launcher_error(["scenario=baseline", "hydra/launcher=ray_local"])
    assert msg and 'pip install -e ".[ray]"' in msg and "\n" not in msg
    assert cli.launcher_error(["hydra/launcher=parallel"]) is None  # installed with the test extra


def test_close_abandoned_marks_only_the_jobs_nobody_holds(tmp_path):
    """After a sweep is stopped, a job folder still 'running' with its lock free (its worker was
    killed) is marked failed and loses its .staging/; a held one and a finished one are untouched."""
    import json

    from sim.manifest import RunFolder, close_abandoned

    abandoned, held, done = (RunFolder(tmp_path / n) for n in ("0-a", "1-b", "2-c"))
    (tmp_path / "0-a" / ".staging").mkdir()
    (tmp_path / "0-a" / ".staging" / "summary.csv").write_text("x\n")
    abandoned._release()  # as when its process dies: the lock goes, the manifest still says running
    done.finish("ok")
    before = (tmp_path / "2-c" / "manifest.json").read_bytes()
    assert close_abandoned(tmp_path, wait_s=0.3) == [tmp_path / "0-a"]
    status = {n: json.loads((tmp_path / n / "manifest.json").read_text()) for n in ("0-a", "1-b")}
    assert status["0-a"]["status"] == "failed" and status["0-a"]["error"] == "interrupted"
    assert not (tmp_path / "0-a" / ".staging").exists()
    assert status["1-b"]["status"] == "running"  # its job still holds it
    assert (tmp_path / "2-c" / "manifest.json").read_bytes() == before
    held.finish("ok")


@pytest.mark.slow
@pytest.mark.skipif(not has("hydra_plugins.hydra_joblib_launcher"), reason="needs the parallel extra")
def test_a_stopped_joblib_sweep_marks_its_jobs_failed(tmp_path):
    """SIGTERM to a sweep whose jobs run in joblib's workers: one line naming the jobs recorded as
    failed, exit code 130, and no job folder left saying 'running' (before: both did)."""
    import json
    import signal
    import time

    out = tmp_path / "sweep"
    args = [sys.executable, "-m", "sim", "-m", "hydra/launcher=parallel", *SWEEP[:-2], f"hydra.sweep.dir={out}"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(out.glob("*/manifest.json"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == f"error: interrupted (2 job(s) of {out} recorded as failed)", err[-2000:]
    for job in ("0-alpha", "1-beta"):
        manifest = json.loads((out / job / "manifest.json").read_text())
        assert manifest["status"] == "failed" and manifest["error"] == "interrupted"
        assert not (out / job / "summary.csv").exists()
