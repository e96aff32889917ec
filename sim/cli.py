"""``python -m sim``: the Hydra entry point. Validate -> run -> save -> exit code.

Exit codes: 0 finished; 2 bad input (one line on stderr, the run folder's manifest says
``failed``); 130 interrupted (Ctrl-C or SIGTERM; manifest ``failed``); 1 unexpected internal error.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import signal
import sys
import time
from pathlib import Path

from sim.config import CONF_DIR, RESULTS_DIR, RunConfig, from_dict, load_config
from sim.errors import SimInputError
from sim.manifest import (
    LOCK_NAME,
    RunFolder,
    close_abandoned,
    finished_error,
    in_use,
    in_use_error,
    read_status,
    run_facts,
)

log = logging.getLogger("sim")
HYDRA_FLAGS = {
    "--help",
    "-h",
    "--hydra-help",
    "--version",
    "--cfg",
    "-c",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
    "--resolve",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--experimental-rerun",
}


def setup_logging() -> None:
    """Progress and info lines on the console (Hydra also copies them to the run folder's log)."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("MESA").setLevel(logging.WARNING)  # mesa logs every model step at INFO


def expand_overrides(overrides: list[str], multirun: bool) -> list[list[str]]:
    """Every override combination a (multi)run will compose, for validation before Hydra runs."""
    if not multirun:
        return [overrides]
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    choices = []
    for o in parsed:
        key = o.get_key_element()
        if o.is_sweep_override():
            choices.append([f"{key}={v}" for v in o.sweep_string_iterator()])
        else:
            choices.append([o.input_line])
    return [list(c) for c in itertools.product(*choices)] if choices else [[]]


def claim_new(base: Path) -> Path:
    """Create and return the first of ``base``, ``base-2``, ``base-3``, ... that does not exist yet
    (``mkdir`` is atomic: two jobs started in the same second get different folders)."""
    base.parent.mkdir(parents=True, exist_ok=True)
    for k in itertools.count(1):
        path = base if k == 1 else base.with_name(f"{base.name}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")


def fail_folder(overrides: list[str], message: str, under: str = "runs") -> Path | None:
    """Record a run that failed before Hydra made its folder (bad override or config); ``None``
    when the named folder may not take it (:func:`named_folder_error`: left untouched)."""
    run_dir = next((o.split("=", 1)[1] for o in overrides if o.startswith("hydra.run.dir=")), None)
    if run_dir is None:
        path = claim_new(RESULTS_DIR / under / f"{time.strftime('%Y%m%d-%H%M%S')}-failed")
    else:
        path = Path(run_dir)
        if named_folder_error(path, multirun=False):  # finished, running, or not a run's: untouched
            return None
    folder = RunFolder(path, kind={"plans": "plan", "calibration": "calibration"}.get(under, "projection"))
    folder.update(command=sys.argv)
    folder.finish("failed", message)
    return path


LAUNCHER_PLUGINS = {
    "parallel": ("hydra_plugins.hydra_joblib_launcher", "parallel"),
    "ray_local": ("hydra_plugins.hydra_ray_launcher", "ray"),
    "ray_cluster": ("hydra_plugins.hydra_ray_launcher", "ray"),
    "slurm": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
}
"""Launcher options of ``conf/hydra/launcher`` and the plugin module and extra each needs."""


def launcher_error(overrides: list[str]) -> str | None:
    """One line when ``hydra/launcher=<name>`` names a launcher whose plugin is not installed."""
    import importlib.util

    for o in overrides:
        if o.startswith("hydra/launcher="):
            name = o.split("=", 1)[1]
            module, extra = LAUNCHER_PLUGINS.get(name, (None, None))
            if module and importlib.util.find_spec(module) is None:
                return f"hydra/launcher: '{name}' needs its plugin; install it with: pip install -e \".[{extra}]\""
    return None


def load_run_config(overrides: list[str]) -> RunConfig:
    """:func:`load_config`, then the checks that need the data: the observed-data folder, the
    simulated provinces, the scenario's levers (their keys, ranges and targets) and the posterior
    draws ``ensemble.n_draws`` asks for, so a bad value is refused before the run folder exists.

    Raises:
        SimInputError: one line naming the key (or the data file) and what is allowed.
    """
    from sim.ensemble import build_levers, parameter_sets
    from sim.levers.common import province_table
    from sim.model import select_provinces
    from sim.observed import ObservedDataError, load_observed

    cfg = load_config(overrides)
    quiet = logging.getLogger("sim.observed")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # the run logs the data it loads, once
    try:
        load_observed(cfg.observed_dir or None)
    except ObservedDataError as exc:
        raise SimInputError(str(exc)) from None
    finally:
        quiet.setLevel(level)
    select_provinces(province_table(cfg.observed_dir), cfg.population.provinces)
    build_levers(cfg)
    parameter_sets(cfg)
    return cfg


def output_dir(overrides: list[str], config_name: str, multirun: bool) -> tuple[Path, bool] | None:
    """The folder Hydra will write a command's results to (``hydra.run.dir``, or
    ``hydra.sweep.dir`` for a multirun), and whether it is the config's time-stamped default;
    ``None`` when Hydra's own settings among the overrides do not compose here (Hydra then
    reports them itself)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    key = "sweep" if multirun else "run"
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    except Exception:
        return None
    finally:
        GlobalHydra.instance().clear()
    node = OmegaConf.to_container(cfg.hydra[key], resolve=False)
    explicit = any(o.startswith(f"hydra.{key}.dir=") for o in overrides)
    return Path(str(OmegaConf.select(cfg, f"hydra.{key}.dir"))), (not explicit and "${now:" in str(node["dir"]))


def preflight(argv: list[str], load=load_config, under: str = "runs", config_name: str = "config") -> list[str]:
    """Compose and validate every configuration a command will run; exit 2 on the first error.
    Then settle the folder the results go to, before Hydra writes anything into it: a time-stamped
    default is created new (``-2``, ``-3``, ... when another job took that second's name) and
    returned as an override for Hydra; a named folder (``hydra.run.dir``, a calibration tag) that
    holds a finished run or one still running is refused (exit 2) and left untouched.

    Args:
        argv: the command-line overrides.
        load: composes and validates one override list (raises :class:`SimInputError`).
        under: folder of ``results/`` where a failure before Hydra starts is recorded.
        config_name: the command's root config in ``conf/``.

    Returns:
        The overrides to add to the command line (the claimed folder), possibly none.
    """
    if any(a.split("=")[0] in HYDRA_FLAGS for a in argv):
        return []
    multirun = "-m" in argv or "--multirun" in argv
    overrides = [a for a in argv if a not in ("-m", "--multirun")]
    try:
        combos = expand_overrides(overrides, multirun)
    except Exception as exc:  # the override grammar's own errors
        combos, error = None, f"overrides: {str(exc).splitlines()[0]}"
    else:
        error = None
    for combo in combos or []:
        try:
            load([o for o in combo if not o.startswith(("hydra.", "hydra/"))])
        except SimInputError as exc:
            error = str(exc)
            break
    error = error or launcher_error(overrides)
    if not error:
        first = [o for o in combos[0] if not o.startswith("hydra/launcher=")]
        found = output_dir(first, config_name, multirun)
        if found is None:
            return []
        path, stamped = found
        key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        if stamped:
            return [f"{key}={hydra_quote(str(claim_new(path)))}"]
        explicit = any(o.startswith("hydra.run.dir=") for o in first)
        error = named_folder_error(path, multirun, key if explicit else FOLDER_KEYS.get(config_name, key))
        if error is None:
            return []
    path = fail_folder(overrides, error, under) if not multirun else None
    print(f"error: {error}", file=sys.stderr)
    if path:
        print(f"(recorded as failed in {path}/manifest.json)", file=sys.stderr)
    sys.exit(2)


FOLDER_KEYS = {"calibrate": "calibration.tag"}
"""The setting that names a command's results folder when ``hydra.run.dir`` is not given and the
folder is not time-stamped (named in refusals)."""


def named_folder_error(path: Path, multirun: bool, key: str = "hydra.run.dir") -> str | None:
    """Why a folder the user named (``hydra.run.dir``, ``hydra.sweep.dir``, a calibration tag:
    ``key``, the setting named in the message) cannot take the results, or ``None``: it must be
    new, empty, or (for one run) a run folder that failed; a finished run, one still running and
    files that are not a run's are left untouched."""
    others = [p.name for p in path.iterdir() if p.name != LOCK_NAME] if path.is_dir() else []
    if multirun:
        if others:
            return f"hydra.sweep.dir: {path} is not empty (an earlier sweep?); allowed: a new or empty folder"
        return None
    if read_status(path) == "ok":
        return finished_error(path, key)
    if in_use(path):
        return in_use_error(path, key)
    if others and read_status(path) is None:
        return (
            f"{key}: {path} holds files that are not a run's ({', '.join(sorted(others)[:3])}); "
            "allowed: a new or empty folder, or a failed run's folder"
        )
    return None


def hydra_quote(value: str) -> str:
    """``value`` as a Hydra override value: quoted when it holds characters the grammar reads."""
    if all(ch.isalnum() or ch in "/._-" for ch in value):
        return value
    # Hydra's grammar: in a quoted value only backslashes before a quote (or the closing one) escape
    value = re.sub(r"(\\+)(?='|$)", lambda m: m.group(1) * 2, value)
    return "'" + value.replace("'", "\\'") + "'"


def guarded(run_dir: Path, work, kind: str = "projection") -> int:
    """Run ``work(folder)`` for a new run folder and return the exit code.

    0: ``work`` returned and the manifest says ``ok``. 2: bad input (a :class:`SimInputError` or a
    data error), printed as one line, manifest ``failed``; also when the folder holds a finished run.
    130: interrupted (Ctrl-C or a termination signal), one line, manifest ``failed``.
    Any other error marks the manifest ``failed`` and propagates (exit 1).
    """
    from sim.observed import ObservedDataError

    try:
        folder = RunFolder(run_dir, kind=kind)
    except SimInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        work(folder)
    except (SimInputError, ObservedDataError) as exc:
        folder.finish("failed", str(exc))
        print(f"error: {exc}", file=sys.stderr)
        print(f"(recorded as failed in {run_dir}/manifest.json)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C, or a termination signal (see hydra_entry)
        folder.finish("failed", "interrupted")
        log.warning("interrupted: %s is marked failed", run_dir)  # in the run's log too
        print(f"error: interrupted (recorded as failed in {run_dir}/manifest.json)", file=sys.stderr)
        return 130
    except Exception as exc:
        folder.finish("failed", f"{type(exc).__name__}: {exc}")
        raise
    folder.finish("ok")
    log.info("finished: %s (%.1f s)", run_dir, folder.manifest["wall_time_s"])
    return 0


def run_job(plain: dict, run_dir: Path) -> int:
    """Run one configured job into ``run_dir``; returns the exit code (see :func:`guarded`)."""

    def work(folder: RunFolder) -> None:
        from sim.ensemble import run_ensemble
        from sim.observed import load_observed
        from sim.outputs import chart_langs, write_run_outputs

        cfg: RunConfig = from_dict(RunConfig, plain)
        observed = load_observed(cfg.observed_dir or None)
        folder.update(command=sys.argv, scenario=cfg.scenario.name, **run_facts(cfg, observed))
        log.info("run folder %s", run_dir)
        ens = run_ensemble(cfg, observed, progress=True, keep_state=False)  # no output uses it
        langs = chart_langs(cfg)
        write_run_outputs(ens, observed, run_dir, figures=cfg.reporting.figures, langs=langs, dpi=cfg.reporting.dpi)
        folder.update(n_runs=len(ens.results), n_adult_agents_per_run=int(ens.results[0].adults.sum()))

    return guarded(run_dir, work)


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt


def hydra_entry(job=None, config_name: str = "config") -> None:
    """Run ``job(plain_config, run_dir) -> exit code`` as a Hydra app over ``conf/<config_name>.yaml``."""
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig, OmegaConf

    job = job or run_job

    signal.signal(signal.SIGTERM, _terminated)  # a scheduler's or `timeout`'s stop, as Ctrl-C

    @hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")
    def app(cfg: DictConfig) -> None:
        logging.getLogger("MESA").setLevel(logging.WARNING)  # also in a launcher's worker processes
        plain = OmegaConf.to_container(cfg, resolve=True)
        code = job(plain, Path(HydraConfig.get().runtime.output_dir))
        if code:
            sys.exit(code)

    app()


def command(job=None, config_name: str = "config", load=None, under: str = "runs") -> None:
    """A console entry point: logging, :func:`preflight` (the checks and the run folder), then the
    Hydra app (:func:`hydra_entry`). Ctrl-C or SIGTERM before a run folder is in use (while the
    packages load or the configuration is checked) stops with one line and exit code 130 too."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        setup_logging()
        sys.argv += preflight(sys.argv[1:], load=load or load_run_config, under=under, config_name=config_name)
        hydra_entry(job, config_name)
    except KeyboardInterrupt:
        sweep = sweep_dir(sys.argv[1:])
        marked = close_abandoned(sweep) if sweep else []
        where = f" ({len(marked)} job(s) of {sweep} recorded as failed)" if marked else ""
        print(f"error: interrupted{where}", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:  # the output's reader went away (`--help | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as the Python docs advise
        sys.exit(1)


def sweep_dir(argv: list[str]) -> Path | None:
    """The sweep folder of a multirun command line (its last ``hydra.sweep.dir=``, which
    :func:`preflight` adds for a time-stamped one), else ``None``."""
    if not ("-m" in argv or "--multirun" in argv):
        return None
    given = [a for a in argv if a.startswith("hydra.sweep.dir=")]
    if not given:
        return None
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return Path(str(OverridesParser.create().parse_overrides(given[-1:])[0].value()))  # quotes as Hydra reads them


def main() -> None:
    """Console entry point of ``python -m sim``."""
    command()


__all__ = ["main", "run_job", "preflight", "load_config"]
