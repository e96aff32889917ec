"""Recording a run, indicators per replicate, and the tidy summary and target tables."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sim.behaviour.adoption import BACKOFFICE, FULL, PARTIAL, STAGES
from sim.geography import N_TIERS, TIERS
from sim.timeline import Timeline

STATE_VARS = {
    "electricity": 3,
    "connectivity": 3,
    "device": 3,
    "awareness": 3,
    "supply": 2,
    "supply_online": 2,
    "offered_volume": 2,
    "offered_online_volume": 2,
    "backoffice": 2,
    "quality": 1,
    "assisted": 1,
    "eid": 1,
    "officials_trained": 1,
    "interoperability": 1,
    "it_budget_share": 1,
}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
SUMMARY_COLUMNS = ["scenario", "indicator", "scope", "date", "mean", "q05", "q25", "q50", "q75", "q95"]
TARGET_COLUMNS = ["scenario", "target", "indicator", "scope", "deadline", "threshold", "p_met", "p_met_lo", "p_met_hi"]


class Recorder:
    """Preallocated monthly tallies of one replicate (``T`` months, ``P`` provinces)."""

    def __init__(self, timeline: Timeline, codes: list[str], adults: np.ndarray, scale: float) -> None:
        n_t, n_p = timeline.n_months, len(codes)
        self.timeline, self.codes, self.scale = timeline, codes, scale
        self.adults = adults.sum(axis=1)
        self.dossiers = np.zeros((n_t, n_p, N_TIERS, len(STAGES)), np.int64)
        self.users_12m = np.zeros((n_t, n_p))
        self.users_ytd = np.zeros((n_t, n_p))
        self.adopters = np.zeros((n_t, n_p))
        self.state = {k: np.zeros((n_t, n_p, w)) for k, w in STATE_VARS.items()}

    def record(self, model, tally: np.ndarray) -> None:
        """Tally month ``model.t`` after the citizens' decisions (``tally``: dossiers ``(P, 2, 7)``)."""
        t, n_p = model.t, len(self.codes)
        self.dossiers[t] = tally
        hist = model.hist_use.sum(axis=1)
        january = t - (self.timeline.month_of_year(t) - 1)
        self.users_12m[t] = hist[:, max(1, t - 10) : t + 2].sum(axis=1)
        self.users_ytd[t] = hist[:, max(1, january + 1) : t + 2].sum(axis=1)
        self.adopters[t] = (model.adopter_share * model.adults).sum(axis=1)
        for k, w in STATE_VARS.items():
            self.state[k][t] = np.array([getattr(p, k) for p in model.provinces], float).reshape(n_p, w)

    def result(self, replicate: int, draw: int = 0) -> RunResult:
        """Freeze the tallies into a :class:`RunResult`."""
        return RunResult(
            self.timeline.start,
            self.timeline.end,
            list(self.codes),
            self.adults,
            self.scale,
            replicate,
            draw,
            self.dossiers,
            self.users_12m,
            self.users_ytd,
            self.adopters,
            self.state,
        )


@dataclass
class RunResult:
    """Outcome of one replicate. Counts are in agents (multiply by ``scale`` for people).

    Attributes:
        dossiers: ``(T, P, 2, 6)`` dossiers by month, province, tier and stage (``STAGES``).
        users_12m, users_ytd: ``(T, P)`` adults who used online services in the last 12 months /
            since January of the current year.
        adopters: ``(T, P)`` expected adults holding the online habit.
        state: province state by month, ``{name: (T, P, k)}``.
    """

    start: str
    end: str
    codes: list[str]
    adults: np.ndarray
    scale: float
    replicate: int
    draw: int
    dossiers: np.ndarray
    users_12m: np.ndarray
    users_ytd: np.ndarray
    adopters: np.ndarray
    state: dict = field(default_factory=dict)

    @property
    def timeline(self) -> Timeline:
        """The run's calendar."""
        return Timeline(self.start, self.end)

    def indicators(self) -> dict[tuple[str, str], np.ndarray]:
        """Every reported indicator as ``{(indicator, scope): (T,) array}`` of shares in 0-1.

        Dossier scopes: ``ministries``, ``localities``, ``national`` and each province code (a
        province's scope is its local-tier dossiers, the ones the 70 % target is about). Citizen
        scopes: ``national`` and each province code (share of adults).
        """
        tl = self.timeline
        year = np.array([tl.year(t) for t in range(tl.n_months)])
        out: dict[tuple[str, str], np.ndarray] = {}
        d = self.dossiers.astype(float)
        full, total = d[..., FULL], d.sum(axis=-1)
        submitted = full + d[..., BACKOFFICE] + d[..., PARTIAL]
        groups = {
            TIERS[0]: (full[:, :, 0].sum(1), submitted[:, :, 0].sum(1), total[:, :, 0].sum(1)),
            TIERS[1]: (full[:, :, 1].sum(1), submitted[:, :, 1].sum(1), total[:, :, 1].sum(1)),
            "national": (full.sum((1, 2)), submitted.sum((1, 2)), total.sum((1, 2))),
        }
        for i, code in enumerate(self.codes):
            groups[code] = (full[:, i, 1], submitted[:, i, 1], total[:, i, 1])
        for scope, (f, s, n) in groups.items():
            out[("share_dossiers_full_online", scope)] = _ratio(f, n)
            out[("share_dossiers_full_online_ytd", scope)] = _ratio(_ytd(f, year), _ytd(n, year))
            out[("share_dossiers_submitted_online", scope)] = _ratio(s, n)
        adults = self.adults
        out[("share_citizens_using_ops", "national")] = self.users_12m.sum(1) / adults.sum()
        out[("share_citizens_using_ops_ytd", "national")] = self.users_ytd.sum(1) / adults.sum()
        for i, code in enumerate(self.codes):
            out[("share_citizens_using_ops", code)] = self.users_12m[:, i] / adults[i]
            out[("share_citizens_using_ops_ytd", code)] = self.users_ytd[:, i] / adults[i]
        return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _ytd(x: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting each calendar year."""
    out = np.cumsum(x)
    starts = np.r_[0, np.flatnonzero(np.diff(year)) + 1]
    offsets = np.zeros_like(out)
    for s in starts[1:]:
        offsets[s:] = out[s - 1]
    return out - offsets


def stack_indicators(results: list[RunResult]) -> dict[tuple[str, str], np.ndarray]:
    """``{(indicator, scope): (R, T)}`` over replicates."""
    per = [r.indicators() for r in results]
    return {k: np.stack([p[k] for p in per]) for k in per[0]}


def nan_quantiles(arr: np.ndarray, qs: tuple[float, ...], axis: int = 1) -> np.ndarray:
    """Quantiles ignoring NaN (numpy's default linear method), vectorized over all other axes.

    Equivalent to ``np.nanquantile(arr, qs, axis=axis)`` but fast for many short columns; a column
    with no finite value gives NaN.
    """
    arr = np.moveaxis(np.asarray(arr, float), axis, -1)
    srt = np.sort(arr, axis=-1)  # NaN sort last
    n = np.sum(~np.isnan(arr), axis=-1)
    out = np.full((len(qs), *n.shape), np.nan)
    valid = n > 0
    for i, q in enumerate(qs):
        pos = q * np.maximum(n - 1, 0)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        v_lo = np.take_along_axis(srt, lo[..., None], axis=-1)[..., 0]
        v_hi = np.take_along_axis(srt, hi[..., None], axis=-1)[..., 0]
        out[i] = np.where(valid, v_lo + (v_hi - v_lo) * (pos - lo), np.nan)
    return out


def summary_table(stacked: dict[tuple[str, str], np.ndarray], dates: list[str], scenario: str) -> pd.DataFrame:
    """Tidy summary: one row per (indicator, scope, month) with mean and quantiles over replicates."""
    keys = list(stacked)
    cube = np.stack([stacked[k] for k in keys])  # (K, R, T)
    q = nan_quantiles(cube, QUANTILES, axis=1)  # (5, K, T)
    with warnings.catch_warnings():  # months where a small province had no dossier stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(cube, axis=1)
    n_t = len(dates)
    frame = pd.DataFrame(
        {
            "scenario": scenario,
            "indicator": np.repeat([k[0] for k in keys], n_t),
            "scope": np.repeat([k[1] for k in keys], n_t),
            "date": np.tile(np.asarray(dates), len(keys)),
            "mean": mean.ravel(),
            **{name: q[i].ravel() for i, name in enumerate(("q05", "q25", "q50", "q75", "q95"))},
        }
    )
    return frame[SUMMARY_COLUMNS]


def p_met_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Jeffreys interval for a probability estimated as ``k`` successes in ``n`` replicates."""
    a = (1.0 - level) / 2.0
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k + 0.5, n - k + 0.5))
    hi = 1.0 if k == n else float(stats.beta.ppf(1.0 - a, k + 0.5, n - k + 0.5))
    return lo, hi


def targets_table(
    stacked: dict[tuple[str, str], np.ndarray],
    dates: list[str],
    targets: pd.DataFrame,
    scenario: str,
    scopes_extra: list[tuple[str, str, str, str, float]] = (),
) -> pd.DataFrame:
    """Probability that each modelled target is met.

    A target on ``share_dossiers_full_online`` or ``share_citizens_using_ops`` with deadline
    ``YYYY-MM`` is met in a replicate when the calendar-year-to-date value at the deadline (the
    whole year's share for a December deadline) reaches the threshold.

    Args:
        stacked: indicators over replicates.
        dates: month labels of the run.
        targets: the observed ``targets`` table.
        scenario: scenario name.
        scopes_extra: extra rows ``(target, indicator, scope, deadline, threshold)`` (e.g. the
            localities target applied to each province).
    """
    rows = [
        (r.target_id, r.indicator, r.scope, r.deadline, float(r.threshold))
        for r in targets.itertuples()
        if bool(r.modelled)
    ]
    rows += list(scopes_extra)
    out = []
    for target, indicator, scope, deadline, threshold in rows:
        arr = stacked.get((indicator + "_ytd", scope))
        if arr is None or deadline not in dates:
            continue
        values = arr[:, dates.index(deadline)]
        k, n = int(np.sum(values >= threshold)), values.size
        lo, hi = p_met_interval(k, n)
        out.append((scenario, target, indicator, scope, deadline, threshold, k / n, lo, hi))
    return pd.DataFrame(out, columns=TARGET_COLUMNS)
