"""Calibration targets: which published figure is compared with which model indicator, and how.

``conf/calibration/default.yaml`` lists the series (used or left out, with the reason).
:func:`build_targets` turns the used ones into :class:`CalibrationTarget` rows; :func:`model_values`
reads the matching model values from an ensemble; :func:`log_likelihood` scores them with a normal
measurement error on the logit scale, widened by the simulation noise of the replicates.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim.config import CONF_DIR
from sim.errors import SimInputError

EPS = 1e-4


@dataclass(frozen=True)
class TargetSpec:
    """One entry of ``conf/calibration/*.yaml`` ``targets``."""

    name: str
    indicator: str
    scope: str
    series: str
    model: str
    sd_logit: float
    use: bool
    why: str


@dataclass(frozen=True)
class CalibrationTarget:
    """One published figure and the model value that measures it."""

    name: str
    obs_id: str
    model_indicator: str
    scope: str
    period_start: str
    period_end: str
    observed: float
    sd_logit: float


MODEL_INDICATORS = (
    "share_dossiers_full_online_ytd",
    "share_dossiers_submitted_online_ytd",
    "share_citizens_using_ops_ytd",
)
"""Model indicators a target may be compared with (year-to-date shares: periods start in January)."""


def load_specs(path: Path | str | None = None) -> list[TargetSpec]:
    """Read and validate the target list of a calibration file (default ``conf/calibration/default.yaml``)."""
    path = Path(path) if path else CONF_DIR / "calibration" / "default.yaml"
    try:
        entries = OmegaConf.to_container(OmegaConf.load(path))["targets"]
    except Exception as exc:  # a missing or malformed file
        raise SimInputError(f"{path}: cannot read a 'targets' list ({str(exc).splitlines()[0]})") from None
    return parse_specs(entries)


def parse_specs(entries, where: str = "calibration.targets") -> list[TargetSpec]:
    """Validate a list of target entries (unknown or missing keys, bad values stop with one line)."""
    if not isinstance(entries, list) or not entries:
        raise SimInputError(f"{where}: needs a non-empty list of targets")
    allowed = [f.name for f in fields(TargetSpec)]
    specs, names = [], set()
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise SimInputError(f"{at}: expected a mapping with keys {', '.join(allowed)}")
        unknown = sorted(set(entry) - set(allowed))
        missing = [k for k in allowed if k not in entry]
        if unknown or missing:
            key = (unknown or missing)[0]
            kind = "unknown" if unknown else "missing"
            raise SimInputError(f"{at}.{key}: {kind} key; allowed: {', '.join(allowed)}")
        sd = entry["sd_logit"]
        if isinstance(sd, bool) or not isinstance(sd, (int, float)) or not sd > 0:
            raise SimInputError(f"{at}.sd_logit: '{sd}' is not allowed; allowed: a number > 0")
        if not isinstance(entry["use"], bool):
            raise SimInputError(f"{at}.use: '{entry['use']}' is not allowed; allowed: true, false")
        if entry["model"] not in MODEL_INDICATORS:
            raise SimInputError(
                f"{at}.model: '{entry['model']}' is not a model indicator; allowed: {', '.join(MODEL_INDICATORS)}"
            )
        if entry["name"] in names:
            raise SimInputError(f"{at}.name: '{entry['name']}' is used twice; allowed: each name once")
        names.add(entry["name"])
        specs.append(TargetSpec(**{**entry, "scope": str(entry["scope"]), "sd_logit": float(sd)}))
    if not any(s.use for s in specs):
        raise SimInputError(f"{where}: no target has use: true; allowed: at least one used target")
    return specs


def build_targets(observed, specs: list[TargetSpec], until: str | None = None) -> list[CalibrationTarget]:
    """The used targets, one per distinct published figure.

    Args:
        observed: :class:`~sim.observed.ObservedData`.
        specs: from :func:`load_specs`.
        until: keep only figures whose period ends by this ``YYYY-MM`` (leave-future-out checks).

    Raises:
        SimInputError: a used entry that matches no observation, or a period not starting in January.
    """
    obs = observed.observations
    out: list[CalibrationTarget] = []
    for i, spec in enumerate(specs):
        if not spec.use:
            continue
        rows = obs[(obs.indicator == spec.indicator) & (obs.scope == spec.scope) & (obs.series == spec.series)]
        if rows.empty:
            raise SimInputError(
                f"calibration.targets[{i}]: no observation with indicator '{spec.indicator}', scope '{spec.scope}', "
                f"series '{spec.series}' in {observed.root / 'observations.csv'}"
            )
        rows = rows.drop_duplicates(["period_start", "period_end", "share"]).sort_values("period_end")
        if until is not None:
            rows = rows[rows.period_end <= until]
        for r in rows.itertuples():
            if not r.period_start.endswith("-01"):
                raise SimInputError(
                    f"calibration.targets[{i}]: observation {r.obs_id} starts in {r.period_start}; only periods "
                    "starting in January can be compared with year-to-date model values"
                )
            out.append(
                CalibrationTarget(
                    spec.name,
                    r.obs_id,
                    spec.model,
                    spec.scope,
                    r.period_start,
                    r.period_end,
                    float(r.share),
                    spec.sd_logit,
                )
            )
    return out


def model_values(indicators: dict, dates: list[str], targets: list[CalibrationTarget]) -> np.ndarray:
    """Model values at each target, ``(n_replicates, n_targets)``.

    Args:
        indicators: ``{(indicator, scope): (R, T)}`` from an ensemble.
        dates: the ensemble's month labels.
    """
    cols = []
    for t in targets:
        if t.period_end not in dates:
            raise SimInputError(
                f"timeline: {t.period_end} (target {t.obs_id}) is outside the run {dates[0]}..{dates[-1]}"
            )
        cols.append(indicators[(t.model_indicator, t.scope)][:, dates.index(t.period_end)])
    return np.column_stack(cols)


def logit(p: np.ndarray) -> np.ndarray:
    """Logit with shares clipped to [1e-4, 1 - 1e-4]."""
    p = np.clip(np.asarray(p, float), EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))


def log_likelihood(values: np.ndarray, targets: list[CalibrationTarget]) -> float:
    """Sum over targets of ``log N(logit(observed) | mean_r logit(model_r), sd^2 + var_sim / R)``.

    ``var_sim / R`` is the simulation noise of the replicate mean (0 with one replicate), so noisy
    small runs are not over-trusted.
    """
    z = logit(values)
    n_rep = z.shape[0]
    mean = z.mean(axis=0)
    var_sim = z.var(axis=0, ddof=1) / n_rep if n_rep > 1 else np.zeros_like(mean)
    sd2 = np.array([t.sd_logit for t in targets]) ** 2 + var_sim
    resid = logit([t.observed for t in targets]) - mean
    return float(np.sum(-0.5 * resid**2 / sd2 - 0.5 * np.log(2.0 * np.pi * sd2)))


def fit_table(values: np.ndarray, targets: list[CalibrationTarget]) -> pd.DataFrame:
    """Observed vs model for every target: median and 90 % range over replicates, and the z-score."""
    z = (logit([t.observed for t in targets]) - logit(values).mean(axis=0)) / np.array([t.sd_logit for t in targets])
    return pd.DataFrame(
        {
            "target": [t.name for t in targets],
            "obs_id": [t.obs_id for t in targets],
            "period": [f"{t.period_start}..{t.period_end}" for t in targets],
            "observed": [t.observed for t in targets],
            "model_q05": np.quantile(values, 0.05, axis=0),
            "model_q50": np.median(values, axis=0),
            "model_q95": np.quantile(values, 0.95, axis=0),
            "z_logit": z,
        }
    )
