"""What a calibration reports: posterior draws, fit and predictive check, identifiability, naive peer.

All functions are pure: they take the posterior particles (values on the natural scale, weights,
and the model's shares at every target stored with each particle) and return tidy tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.calibration.priors import Prior
from sim.calibration.targets import CalibrationTarget, logit

Q = (0.05, 0.5, 0.95)
EDGE = 0.05
"""Part of a prior's range next to each bound that :func:`posterior_table` checks for heaped mass."""
EDGE_FLAG = 0.10
"""Posterior share within :data:`EDGE` of a bound that flags it (twice the prior's share)."""


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs=Q) -> np.ndarray:
    """Quantiles of weighted samples ``x`` (``(n,)`` or ``(n, k)``), by the weighted empirical CDF."""
    x = np.asarray(x, float)
    flat = x.reshape(len(x), -1)
    w = np.asarray(w, float) / np.sum(w)
    keep = w > 0  # zero-weight samples carry no probability (and would tie the CDF)
    flat, w = flat[keep], w[keep]
    out = np.empty((len(qs), flat.shape[1]))
    for j in range(flat.shape[1]):
        order = np.argsort(flat[:, j])
        cdf = np.cumsum(w[order]) - 0.5 * w[order]
        out[:, j] = np.interp(qs, cdf, flat[order, j])
    return out.reshape((len(qs),) + x.shape[1:])


def resample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: ``n`` indices drawn with probability ``weights``, in random order."""
    w = np.asarray(weights, float) / np.sum(weights)
    positions = (rng.random() + np.arange(n)) / n
    idx = np.minimum(np.searchsorted(np.cumsum(w), positions), len(w) - 1)
    return rng.permutation(idx)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights."""
    w = np.asarray(weights, float)
    return float(w.sum() ** 2 / np.sum(w**2))


def posterior_table(priors: list[Prior], values: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """Per calibrated key: prior, posterior median and 90 % interval, and identifiability.

    ``contraction = 1 - posterior var / prior var`` (on the scale the prior is uniform on: log for
    loguniform priors). Keys with contraction >= 0.5 are ``pinned by the data``, 0.2-0.5
    ``partly informed``, below 0.2 ``prior-driven``. The thresholds are conventions, not tests.

    ``mass_near_lower`` and ``mass_near_upper`` are the posterior's shares within the outer
    :data:`EDGE` of the prior's range next to each bound (on the same scale; the prior puts
    ``EDGE`` there). ``against_bound`` names a bound whose share is at least :data:`EDGE_FLAG`
    (twice the prior's): there the data push against the range, so the range, an assumption,
    shapes the posterior, and its contraction is not the data's alone.
    """
    rows = []
    w = np.asarray(weights, float) / np.sum(weights)
    for i, p in enumerate(priors):
        x = values[:, i]
        z = np.log(x) if p.dist == "loguniform" else x
        mean = np.sum(w * z)
        var_post = np.sum(w * (z - mean) ** 2)
        width = (np.log(p.upper) - np.log(p.lower)) if p.dist == "loguniform" else (p.upper - p.lower)
        var_prior = width**2 / 12.0
        lo = np.log(p.lower) if p.dist == "loguniform" else p.lower
        near_lo = float(np.sum(w[z <= lo + EDGE * width]))
        near_hi = float(np.sum(w[z >= lo + (1.0 - EDGE) * width]))
        contraction = 1.0 - var_post / var_prior
        q05, q50, q95 = weighted_quantiles(x, w)
        verdict = (
            "pinned by the data" if contraction >= 0.5 else "partly informed" if contraction >= 0.2 else "prior-driven"
        )
        rows.append(
            {
                "key": p.key,
                "prior": f"{p.dist}({p.lower:g}, {p.upper:g})",
                "posterior_q05": q05,
                "posterior_median": q50,
                "posterior_q95": q95,
                "contraction": contraction,
                "identifiability": verdict,
                "mass_near_lower": near_lo,
                "mass_near_upper": near_hi,
                "against_bound": "lower" if near_lo >= EDGE_FLAG else "upper" if near_hi >= EDGE_FLAG else "",
                "prior_reason": p.why,
            }
        )
    return pd.DataFrame(rows)


def correlations(priors: list[Prior], values: np.ndarray, weights: np.ndarray, threshold: float = 0.5) -> pd.DataFrame:
    """Pairs of calibrated keys whose weighted posterior correlation exceeds ``threshold`` in size
    (the data pin down a combination of the two, not each one)."""
    z = np.column_stack(
        [np.log(values[:, i]) if p.dist == "loguniform" else values[:, i] for i, p in enumerate(priors)]
    )
    c = np.cov(z, rowvar=False, aweights=weights)
    sd = np.sqrt(np.diag(c))
    r = c / np.outer(sd, sd)
    rows = [
        {"key_a": priors[i].key, "key_b": priors[j].key, "correlation": r[i, j]}
        for i in range(len(priors))
        for j in range(i + 1, len(priors))
        if abs(r[i, j]) >= threshold
    ]
    return pd.DataFrame(rows, columns=["key_a", "key_b", "correlation"]).sort_values(
        "correlation", key=np.abs, ascending=False
    )


def period_mid_year(t: CalibrationTarget) -> float:
    """Decimal year of the middle of an observation's period."""
    y0, m0 = (int(v) for v in t.period_start.split("-"))
    y1, m1 = (int(v) for v in t.period_end.split("-"))
    return (y0 + (m0 - 1) / 12 + y1 + m1 / 12) / 2


def naive_peer(fit: list[CalibrationTarget], all_targets: list[CalibrationTarget]) -> np.ndarray:
    """A naive peer forecast: one logistic curve fitted to the same observations.

    ``logit(share) = a_series + b * (year - 2020)`` by least squares on the logit scale, with a
    common slope ``b`` and a level ``a`` per series; a series without a fitted observation takes
    the level of the series with the most observations (before 2023 that is the citizens series,
    the only one published). Needs at least two fitted observations in one series for the slope.

    Returns:
        Predicted shares at every target, ``(len(all_targets),)``.
    """
    names = sorted({t.name for t in fit}, key=lambda n: -sum(t.name == n for t in fit))
    x = np.array([period_mid_year(t) - 2020.0 for t in fit])
    y = logit([t.observed for t in fit])
    design = np.column_stack([[t.name == n for t in fit] for n in names] + [x]).astype(float)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    level = dict(zip(names, coef[:-1], strict=True))
    pred = [level.get(t.name, coef[0]) + coef[-1] * (period_mid_year(t) - 2020.0) for t in all_targets]
    return 1.0 / (1.0 + np.exp(-np.array(pred)))


def fit_table(
    all_targets: list[CalibrationTarget],
    fitted: list[bool],
    shares: np.ndarray,
    weights: np.ndarray,
    naive: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Observed vs posterior (predictive) values at every target.

    Args:
        shares: model shares stored with each posterior particle, ``(n_particles, n_targets)``.
        fitted: whether each target was in the likelihood (False = held out).
        naive: the naive peer's predictions.

    ``model_*`` quantiles are of the model value; ``pred_*`` add the measurement error of the
    observation (``logit(obs) = logit(model) + N(0, sd_logit^2)``), so an observation inside
    ``pred_q05..pred_q95`` is consistent with the model at the stated error.
    """
    sd = np.array([t.sd_logit for t in all_targets])
    noisy = logit(shares) + rng.standard_normal(shares.shape) * sd
    noisy = 1.0 / (1.0 + np.exp(-noisy))
    mq = weighted_quantiles(shares, weights)
    pq = weighted_quantiles(noisy, weights)
    obs = np.array([t.observed for t in all_targets])
    return pd.DataFrame(
        {
            "target": [t.name for t in all_targets],
            "obs_id": [t.obs_id for t in all_targets],
            "period": [f"{t.period_start}..{t.period_end}" for t in all_targets],
            "use": ["fitted" if f else "held out" for f in fitted],
            "observed": obs,
            "sd_logit": sd,
            "model_q05": mq[0],
            "model_median": mq[1],
            "model_q95": mq[2],
            "pred_q05": pq[0],
            "pred_q95": pq[2],
            "inside_pred90": (obs >= pq[0]) & (obs <= pq[2]),
            "error_pp": (mq[1] - obs) * 100.0,
            "naive_peer": naive,
            "naive_error_pp": (naive - obs) * 100.0,
        }
    )


def lfo_summary(fit: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute error (percentage points) of the model median and the naive peer, by use."""
    rows = []
    for use, g in fit.groupby("use", sort=False):
        rows.append(
            {
                "use": use,
                "n": len(g),
                "model_mae_pp": float(np.mean(np.abs(g.error_pp))),
                "naive_mae_pp": float(np.mean(np.abs(g.naive_error_pp))),
                "inside_pred90": int(g.inside_pred90.sum()),
            }
        )
    return pd.DataFrame(rows)
