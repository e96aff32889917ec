"""Run folders: provenance manifest, status (running -> ok/failed), atomic writes, no overwrites."""

from __future__ import annotations

import json
import os
import platform
import shutil
import stat
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.errors import SimInputError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

PACKAGES = ("numpy", "scipy", "pandas", "mesa", "hydra-core", "omegaconf", "matplotlib")
REPO_ROOT = Path(__file__).resolve().parents[1]


def _file_mode() -> int:
    """``0o666`` less the process's umask: the mode ``open()`` gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return (stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH) & ~mask


FILE_MODE = _file_mode()


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a half file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, FILE_MODE)  # mkstemp makes the file private; results get the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish(staging: Path, dest: Path) -> list[Path]:
    """Move every file of ``staging`` (a folder's ``.staging/``, written in full first) to the same
    place under ``dest``, then remove ``staging``; returns the paths moved to."""
    moved = []
    for src in sorted(Path(staging).rglob("*")):
        if src.is_file():
            dst = Path(dest) / src.relative_to(staging)
            dst.parent.mkdir(parents=True, exist_ok=True)
            src.replace(dst)
            moved.append(dst)
    shutil.rmtree(staging, ignore_errors=True)
    return moved


def git_commit() -> str:
    """Commit of the code that runs, with ``-dirty`` when the work tree has changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def versions() -> dict[str, str]:
    """Python and key package versions."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


LOCK_NAME = ".lock"
"""A run folder's lock file: a running job holds an exclusive ``flock`` on it until it finishes
(the system releases it if the process dies)."""


def _try_lock(path: Path) -> int | None:
    """An open descriptor holding the exclusive lock of folder ``path``, or ``None`` when another
    process holds it. Creates the folder and its lock file."""
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, FILE_MODE)
    if fcntl is None:  # no advisory locks on this platform: the finished-run check still holds
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def in_use(run_dir: Path | str) -> bool:
    """Whether a job that is still running holds folder ``run_dir`` (its lock is taken)."""
    path = Path(run_dir)
    if not (path / LOCK_NAME).exists():
        return False
    fd = _try_lock(path)
    if fd is None:
        return True
    os.close(fd)
    return False


def close_abandoned(root: Path | str, wait_s: float = 10.0) -> list[Path]:
    """Mark ``failed`` (``interrupted``) the run folders directly under ``root`` (a sweep's folder)
    whose manifest still says ``running`` though no job holds them any more: a sweep's jobs that a
    launcher's worker processes were running when the sweep was stopped. Their unfinished
    ``.staging/`` is removed. A folder whose lock is still held (a worker still stopping) is waited
    for up to ``wait_s`` seconds in all, then left as it is. Returns the folders marked."""
    if fcntl is None:  # no locks: a running job cannot be told from an abandoned one
        return []
    marked = []
    deadline = time.monotonic() + wait_s
    for path in sorted(p.parent for p in Path(root).glob("*/manifest.json")):
        if read_status(path) != "running":
            continue
        fd = _try_lock(path)
        while fd is None and time.monotonic() < deadline:
            time.sleep(0.1)
            fd = _try_lock(path)
        if fd is None:
            continue
        try:
            if read_status(path) != "running":  # it finished while we waited
                continue
            manifest = json.loads((path / "manifest.json").read_text())
            manifest.update(status="failed", error="interrupted", finished=_now())
            write_manifest(path, manifest)
            shutil.rmtree(path / ".staging", ignore_errors=True)
            marked.append(path)
        finally:
            os.close(fd)
    return marked


def _now() -> str:
    """The manifest's time stamp: local time with its UTC offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def write_manifest(run_dir: Path | str, manifest: dict) -> None:
    """Write ``run_dir/manifest.json`` atomically (:class:`RunFolder` and :func:`close_abandoned`)."""
    atomic_write(Path(run_dir) / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def in_use_error(run_dir: Path | str, key: str = "hydra.run.dir") -> str:
    """The one-line refusal of a folder another running job holds."""
    return f"{key}: {run_dir} is in use by a job still running; allowed: a new folder"


def run_facts(cfg, observed) -> dict[str, Any]:
    """The manifest's record of what a run of ``cfg`` (a :class:`sim.config.RunConfig`) on
    ``observed`` is: seed, scale, replicates, draws, the data files' hashes and the full config."""
    from sim.config import to_dict

    return {
        "rng_seed": cfg.rng_seed,
        "population_scale": cfg.population.scale,
        "n_reps": cfg.ensemble.n_reps,
        "n_draws": cfg.ensemble.n_draws,
        "data_hashes": observed.hashes,
        "config": to_dict(cfg),
    }


def read_status(run_dir: Path) -> str | None:
    """Status recorded in a run folder's manifest, or ``None`` when there is none."""
    try:
        return json.loads((Path(run_dir) / "manifest.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def finished_error(run_dir: Path | str, key: str = "hydra.run.dir") -> str:
    """The one-line refusal of a folder that holds a finished run."""
    return (
        f"{key}: {run_dir} already holds a finished run; allowed: a new folder (finished results are never overwritten)"
    )


class RunFolder:
    """A results folder with a manifest whose status goes ``running`` -> ``ok`` | ``failed``.

    The job holds the folder's lock (:data:`LOCK_NAME`) from here until :meth:`finish`, so a
    second job pointed at the same folder is refused while the first runs. As a context manager
    it finishes the folder ``ok`` when its body returns and ``failed`` when it raises.

    Raises:
        SimInputError: if the folder already holds a finished (``ok``) run (finished results are
            never overwritten) or another running job holds it; the message names ``key``, the
            setting that chose the folder.
    """

    def __init__(self, path: Path | str, kind: str = "projection", key: str = "hydra.run.dir") -> None:
        self.path = Path(path)
        self._lock = _try_lock(self.path)
        if self._lock is None:
            raise SimInputError(in_use_error(self.path, key))
        if read_status(self.path) == "ok":
            self._release()
            raise SimInputError(finished_error(self.path, key))
        self.kind = kind
        self.t0 = time.perf_counter()
        self.manifest: dict[str, Any] = {
            "status": "running",
            "kind": kind,
            "git_commit": git_commit(),
            "versions": versions(),
            "started": _now(),
        }
        self.write_manifest()

    def write_manifest(self) -> None:
        """Write the manifest atomically."""
        write_manifest(self.path, self.manifest)

    def update(self, **fields: Any) -> None:
        """Add fields to the manifest and rewrite it."""
        self.manifest.update(fields)
        self.write_manifest()

    def finish(self, status: str, error: str | None = None) -> None:
        """Close the run: status, wall time and, on failure, the one-line error."""
        self.manifest["status"] = status
        self.manifest["wall_time_s"] = round(time.perf_counter() - self.t0, 3)
        self.manifest["finished"] = _now()
        if error:
            self.manifest["error"] = error
        self.write_manifest()
        self._release()

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        """Finish ``ok``, or ``failed`` with the error when the body raised (the error propagates)."""
        if exc is None:
            self.finish("ok")
        else:
            self.finish("failed", f"{kind.__name__}: {exc}")

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None
