"""Typed settings of ``python -m sim.calibrate`` (``conf/calibrate.yaml`` + ``conf/calibration/``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from sim.config import RunConfig, _d, _f, from_dict
from sim.errors import SimInputError
from sim.timeline import parse_ym

TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SAMPLERS = ("local", "dask")


@dataclass
class CalibrationSettings:
    """The ``calibration`` group: what is fitted, how, and with which budget."""

    tag: str = _f(doc="name of the result folder results/calibration/<tag>/ and of conf/params/<tag>.yaml")
    population_size: int = _f(10, 100000, "accepted particles per ABC-SMC generation")
    max_generations: int = _f(1, 100, "ABC-SMC generations (the temperature reaches 1 in the last one)")
    max_simulations: int = _f(1, 100_000_000, "stop after this many model runs in total")
    max_walltime_minutes: float = _f(0.1, 10000.0, "stop after this wall time")
    min_acceptance_rate: float = _f(0.0, 1.0, "stop when a generation accepts fewer than this share")
    n_procs: int = _f(1, 256, "local worker processes")
    n_draws_saved: int = _f(10, 100000, "posterior draws written to conf/params/<tag>.draws.csv")
    move_steps: int = _d(0, 0, 1000, "Metropolis-Hastings steps applied to every saved draw after ABC-SMC (0 = none)")
    description: str = _d("", doc="one line saying what this calibration is")
    until: str = _d("", doc="fit only observations whose period ends by this YYYY-MM (empty = all)")
    sampler: str = _d("local", doc="local (worker processes) or dask (a Dask cluster, see dask_address)")
    dask_address: str = _d("", doc="scheduler address for sampler=dask, e.g. tcp://10.0.0.5:8786")
    write_params: bool = _d(True, doc="write conf/params/<tag>.yaml and its draws file")
    resume: bool = _d(False, doc="continue an interrupted calibration of this tag from its database")
    targets: list[dict] = field(default_factory=list, metadata={"doc": "observed series compared with the model"})
    priors: list[dict] = field(default_factory=list, metadata={"doc": "calibrated quantities and their ranges"})

    def __post_init__(self) -> None:
        if not TAG.fullmatch(self.tag):
            raise SimInputError(
                f"calibration.tag: '{self.tag}' is not allowed; allowed: lower-case letters, digits, '-' and '_' "
                "(it becomes a folder and a file name)"
            )
        if self.until:
            parse_ym(self.until, "calibration.until")
        if self.sampler not in SAMPLERS:
            raise SimInputError(f"calibration.sampler: '{self.sampler}' is not allowed; allowed: {', '.join(SAMPLERS)}")
        if self.sampler == "dask" and not self.dask_address:
            raise SimInputError("calibration.dask_address: needed for sampler=dask; allowed: a scheduler address")
        from sim.calibration.priors import parse_priors
        from sim.calibration.targets import parse_specs

        parse_specs(self.targets)
        parse_priors(self.priors)


@dataclass(kw_only=True)
class CalibrateConfig(RunConfig):
    """Root schema of ``python -m sim.calibrate``: a run config plus the ``calibration`` group."""

    calibration: CalibrationSettings = field()

    def run_config(self) -> RunConfig:
        """The model part (what every simulation of the calibration runs)."""
        return RunConfig(**{f.name: getattr(self, f.name) for f in fields(RunConfig)})


def load_calibrate_config(overrides: list[str] | None = None) -> CalibrateConfig:
    """Compose ``conf/calibrate.yaml`` with overrides and validate it (one-line errors)."""
    from sim.config import compose_plain

    return from_dict(CalibrateConfig, compose_plain(overrides, "calibrate"))
