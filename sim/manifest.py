"""Run folders: provenance manifest, status (running -> ok/failed), atomic writes, no overwrites."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.errors import SimInputError

PACKAGES = ("numpy", "scipy", "pandas", "mesa", "hydra-core", "omegaconf", "matplotlib")
REPO_ROOT = Path(__file__).resolve().parents[1]


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a half file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def read_status(run_dir: Path) -> str | None:
    """Status recorded in a run folder's manifest, or ``None`` when there is none."""
    try:
        return json.loads((Path(run_dir) / "manifest.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


class RunFolder:
    """A results folder with a manifest whose status goes ``running`` -> ``ok`` | ``failed``.

    Raises:
        SimInputError: if the folder already holds a finished (``ok``) run: finished results are
            never overwritten.
    """

    def __init__(self, path: Path | str, kind: str = "projection") -> None:
        self.path = Path(path)
        if read_status(self.path) == "ok":
            raise SimInputError(
                f"hydra.run.dir: {self.path} already holds a finished run; "
                "allowed: a new folder (finished results are never overwritten)"
            )
        self.kind = kind
        self.t0 = time.perf_counter()
        self.manifest: dict[str, Any] = {
            "status": "running",
            "kind": kind,
            "git_commit": git_commit(),
            "versions": versions(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        self.write_manifest()

    def write_manifest(self) -> None:
        """Write the manifest atomically."""
        atomic_write(self.path / "manifest.json", json.dumps(self.manifest, indent=2, ensure_ascii=False) + "\n")

    def update(self, **fields: Any) -> None:
        """Add fields to the manifest and rewrite it."""
        self.manifest.update(fields)
        self.write_manifest()

    def finish(self, status: str, error: str | None = None) -> None:
        """Close the run: status, wall time and, on failure, the one-line error."""
        self.manifest["status"] = status
        self.manifest["wall_time_s"] = round(time.perf_counter() - self.t0, 3)
        self.manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if error:
            self.manifest["error"] = error
        self.write_manifest()
