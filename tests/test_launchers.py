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
