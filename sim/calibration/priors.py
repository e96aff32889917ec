"""Priors of the calibrated quantities and how a parameter vector becomes a run config.

A prior names a numeric key of the run config by its dotted path (``params.q_imitation``,
``drivers.officials_trained.mid_year``), a distribution (``uniform`` or ``loguniform`` between
``lower`` and ``upper``) and the reason for its range. :func:`apply_values` writes a vector of
such values into a :class:`~sim.config.RunConfig`; posterior draws files
(``conf/params/<tag>.draws.csv``) use the same dotted column names.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config import DriversConfig, ParamsConfig, RunConfig
from sim.errors import SimInputError

DISTRIBUTIONS = ("uniform", "loguniform")
GROUPS = {"params": ParamsConfig, "drivers": DriversConfig}


@dataclass(frozen=True)
class Prior:
    """One calibrated quantity.

    Attributes:
        key: dotted config path, e.g. ``params.p_innovation``.
        dist: ``uniform`` or ``loguniform``.
        lower, upper: support bounds (``0 < lower`` for ``loguniform``).
        why: the reasoning behind the range (an ASSUMPTION unless a source is named).
    """

    key: str
    dist: str
    lower: float
    upper: float
    why: str = ""

    def sample_transform(self, u: np.ndarray) -> np.ndarray:
        """Map uniforms in [0, 1) to prior draws (inverse CDF)."""
        if self.dist == "uniform":
            return self.lower + (self.upper - self.lower) * u
        return np.exp(math.log(self.lower) + (math.log(self.upper) - math.log(self.lower)) * u)

    def density(self, x: np.ndarray) -> np.ndarray:
        """Prior density at ``x`` (0 outside the support)."""
        x = np.asarray(x, float)
        inside = (x >= self.lower) & (x <= self.upper)
        if self.dist == "uniform":
            return np.where(inside, 1.0 / (self.upper - self.lower), 0.0)
        width = math.log(self.upper) - math.log(self.lower)
        return np.where(inside, 1.0 / (np.where(x > 0, x, 1.0) * width), 0.0)

    def sd(self) -> float:
        """Standard deviation of the prior (for identifiability: posterior sd / prior sd)."""
        draws = self.sample_transform((np.arange(20000) + 0.5) / 20000)
        return float(np.std(draws))


def numeric_keys() -> list[str]:
    """Every dotted config key a prior may name (numeric fields of ``params`` and ``drivers``)."""
    keys = []
    for group, cls in GROUPS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            typ = hints[f.name]
            if typ is float:
                keys.append(f"{group}.{f.name}")
            elif dataclasses.is_dataclass(typ):
                keys += [
                    f"{group}.{f.name}.{g.name}"
                    for g in dataclasses.fields(typ)
                    if typing.get_type_hints(typ)[g.name] is float
                ]
    return keys


def _field_range(key: str) -> tuple[float | None, float | None]:
    """The inclusive range the config schema allows for ``key``."""
    parts = key.split(".")
    cls: Any = GROUPS[parts[0]]
    for name in parts[1:-1]:
        cls = typing.get_type_hints(cls)[name]
    meta = {f.name: f.metadata for f in dataclasses.fields(cls)}[parts[-1]]
    return meta.get("range", (None, None))


def parse_priors(entries: Any, where: str = "calibration.priors") -> list[Prior]:
    """Validate the ``priors`` list of a calibration config.

    Raises:
        SimInputError: one line naming the entry and key (unknown parameter, unknown
            distribution, ``lower >= upper``, bounds outside what the config schema allows,
            a key listed twice, an empty list).
    """
    if not isinstance(entries, list) or not entries:
        raise SimInputError(f"{where}: needs a non-empty list of priors (key, dist, lower, upper, why)")
    allowed_keys = numeric_keys()
    fields = [f.name for f in dataclasses.fields(Prior)]
    out, seen = [], set()
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise SimInputError(f"{at}: expected a mapping with keys {', '.join(fields)}")
        unknown = sorted(set(entry) - set(fields))
        if unknown:
            raise SimInputError(f"{at}.{unknown[0]}: unknown key; allowed: {', '.join(fields)}")
        for k in ("key", "dist", "lower", "upper"):
            if k not in entry:
                raise SimInputError(f"{at}.{k}: missing key; every prior needs key, dist, lower, upper")
        key = str(entry["key"])
        if key not in allowed_keys:
            raise SimInputError(
                f"{at}.key: '{key}' is not a numeric config key; allowed: params.<name> or drivers.<trend>.<field> "
                f"(e.g. {', '.join(allowed_keys[:4])}; list them with sim.calibration.priors.numeric_keys())"
            )
        if key in seen:
            raise SimInputError(f"{at}.key: '{key}' is listed twice; allowed: each key once")
        seen.add(key)
        if entry["dist"] not in DISTRIBUTIONS:
            raise SimInputError(f"{at}.dist: '{entry['dist']}' is not allowed; allowed: {', '.join(DISTRIBUTIONS)}")
        lo, hi = (entry[k] for k in ("lower", "upper"))
        for name, v in (("lower", lo), ("upper", hi)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SimInputError(f"{at}.{name}: '{v}' is not a finite number")
        if not lo < hi:
            raise SimInputError(f"{at}.lower: {lo} is not below upper {hi}; allowed: lower < upper")
        if entry["dist"] == "loguniform" and lo <= 0:
            raise SimInputError(f"{at}.lower: {lo} must be > 0 for a loguniform prior")
        s_lo, s_hi = _field_range(key)
        if (s_lo is not None and lo < s_lo) or (s_hi is not None and hi > s_hi):
            raise SimInputError(f"{at}: [{lo}, {hi}] leaves the range {key} allows; allowed: {s_lo} to {s_hi}")
        out.append(Prior(key, str(entry["dist"]), float(lo), float(hi), str(entry.get("why", ""))))
    return out


def _replace_path(obj: Any, parts: list[str], value: float) -> Any:
    if len(parts) == 1:
        return dataclasses.replace(obj, **{parts[0]: float(value)})
    child = getattr(obj, parts[0])
    return dataclasses.replace(obj, **{parts[0]: _replace_path(child, parts[1:], value)})


def apply_values(cfg: RunConfig, values: dict[str, float]) -> RunConfig:
    """A copy of ``cfg`` with each dotted key set to its value (other keys unchanged).

    Raises:
        SimInputError: a key that is not a numeric config key, or a value the schema rejects
            (e.g. a back-office upper level below its lower level).
    """
    allowed = set(numeric_keys())
    for key, value in values.items():
        if key not in allowed:
            raise SimInputError(f"{key}: not a numeric config key; allowed: params.<name> or drivers.<trend>.<field>")
        lo, hi = _field_range(key)
        if not np.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            raise SimInputError(f"{key}: {value} is out of range; allowed: {lo} to {hi}")
        cfg = _replace_path(cfg, key.split("."), value)
    return cfg
