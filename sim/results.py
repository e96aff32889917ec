"""Recording a run, indicators per replicate, and the tidy summary and target tables."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.behaviour.adoption import BACKOFFICE, FULL, PARTIAL, STAGES
from sim.geography import N_TIERS, TIERS
from sim.timeline import Timeline

SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"
P34_PREFIX = "p34:"  # scopes of the 34 provinces from 1 July 2025, distinct from the 63 old 2-digit codes

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
SUMMARY_CHUNK = 64
"""Indicators summarized together: their copies and sorts over the runs take ~64 x 1.3 kB a run."""
SUMMARY_COLUMNS = ["scenario", "indicator", "scope", "date", "mean", "q05", "q25", "q50", "q75", "q95"]
TARGET_COLUMNS = ["scenario", "target", "indicator", "scope", "deadline", "threshold", "p_met", "p_met_lo", "p_met_hi"]


class Recorder:
    """Preallocated monthly tallies of one replicate (``T`` months, ``P`` provinces); the province
    state by month only with ``keep_state`` (else ``state`` stays ``{}``)."""

    def __init__(
        self, timeline: Timeline, codes: list[str], adults: np.ndarray, scale: float, keep_state: bool = True
    ) -> None:
        n_t, n_p = timeline.n_months, len(codes)
        self.timeline, self.codes, self.scale = timeline, codes, scale
        self.adults = adults.sum(axis=1)
        self.dossiers = np.zeros((n_t, n_p, N_TIERS, len(STAGES)), np.int64)
        self.users_12m = np.zeros((n_t, n_p))
        self.users_ytd = np.zeros((n_t, n_p))
        self.adopters = np.zeros((n_t, n_p))
        self.state = {k: np.zeros((n_t, n_p, w)) for k, w in STATE_VARS.items()} if keep_state else {}

    def record(self, model, tally: np.ndarray) -> None:
        """Tally month ``model.t`` after the citizens' decisions (``tally``: dossiers ``(P, 2, 7)``)."""
        t, n_p = model.t, len(self.codes)
        self.dossiers[t] = tally
        hist = model.hist_use.sum(axis=1)
        january = t - (self.timeline.month_of_year(t) - 1)
        self.users_12m[t] = hist[:, max(1, t - 10) : t + 2].sum(axis=1)
        self.users_ytd[t] = hist[:, max(1, january + 1) : t + 2].sum(axis=1)
        self.adopters[t] = (model.adopter_share * model.adults).sum(axis=1)
        for k, values in self.state.items():
            values[t] = getattr(model.province_arrays, k).reshape(n_p, STATE_VARS[k])

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
        dossiers: ``(T, P, 2, 7)`` dossiers by month, province, tier and stage (``STAGES``).
        users_12m, users_ytd: ``(T, P)`` adults who used online services in the last 12 months /
            since January of the current year.
        adopters: ``(T, P)`` expected adults holding the online habit.
        state: province state by month, ``{name: (T, P, k)}``; ``{}`` for a run made with
            ``keep_state=False`` (as the command line makes them: no output file uses it).
        crosswalk: old 2-digit code -> new 2025 code; ``None`` = the repository's
            ``seeds/province_merger_2025.csv``.
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
    crosswalk: dict | None = None

    @property
    def timeline(self) -> Timeline:
        """The run's calendar."""
        return Timeline(self.start, self.end)

    def scope_groups(self) -> dict[str, tuple[int, list[int]]]:
        """Dossier scopes as ``{scope: (tier or -1 for both, province indices)}``.

        ``ministries``, ``localities``, ``national``, each simulated 2-digit province code (its
        local tier) and ``p34:<code>`` for each post-July-2025 province whose old provinces were all
        simulated (its local tier, counts summed over the old provinces).
        """
        every = list(range(len(self.codes)))
        groups = {TIERS[0]: (0, every), TIERS[1]: (1, every), "national": (-1, every)}
        groups.update({code: (1, [i]) for i, code in enumerate(self.codes)})
        groups.update({scope: (1, idx) for scope, idx in p34_groups(self.codes, self.crosswalk).items()})
        return groups

    def indicators(self) -> dict[tuple[str, str], np.ndarray]:
        """Every reported indicator as ``{(indicator, scope): (T,) array}`` of shares in 0-1.

        Dossier scopes: see :meth:`scope_groups` (a province's scope is its local-tier dossiers,
        the ones the 70 % target is about). Citizen scopes: ``national``, each province code and
        each ``p34:<code>`` (share of adults). Shares of merged provinces are ratios of summed
        counts, never averages of shares. ``share_dossiers_stage_<stage>_ytd`` is the share of the
        year's dossiers that stopped at ``<stage>`` (the first step that failed, see
        :mod:`sim.behaviour.adoption`); with ``share_dossiers_full_online_ytd`` the seven sum to 1.
        """
        tl = self.timeline
        year = np.array([tl.year(t) for t in range(tl.n_months)])
        d = self.dossiers.astype(float)
        groups = self.scope_groups()
        cube = np.stack(
            [d[:, idx].sum(axis=(1, 2)) if tier < 0 else d[:, idx, tier].sum(axis=1) for tier, idx in groups.values()],
            axis=1,
        )  # (T, S, 7)
        full, total = cube[..., FULL], cube.sum(axis=-1)
        submitted = full + cube[..., BACKOFFICE] + cube[..., PARTIAL]
        ytd_cube = _ytd(cube, year)
        ytd_total = ytd_cube.sum(axis=-1)
        out: dict[tuple[str, str], np.ndarray] = {}
        for j, scope in enumerate(groups):
            out[("share_dossiers_full_online", scope)] = _ratio(full[:, j], total[:, j])
            out[("share_dossiers_full_online_ytd", scope)] = _ratio(ytd_cube[:, j, FULL], ytd_total[:, j])
            out[("share_dossiers_submitted_online", scope)] = _ratio(submitted[:, j], total[:, j])
        citizen_groups = {"national": list(range(len(self.codes)))}
        citizen_groups.update({c: [i] for i, c in enumerate(self.codes)})
        citizen_groups.update(p34_groups(self.codes, self.crosswalk))
        for scope, idx in citizen_groups.items():
            adults = self.adults[idx].sum()
            out[("share_citizens_using_ops", scope)] = self.users_12m[:, idx].sum(1) / adults
            out[("share_citizens_using_ops_ytd", scope)] = self.users_ytd[:, idx].sum(1) / adults
        for k, stage in enumerate(STAGES):
            if k == FULL:
                continue
            for j, scope in enumerate(groups):
                out[(f"share_dossiers_stage_{stage}_ytd", scope)] = _ratio(ytd_cube[:, j, k], ytd_total[:, j])
        return out


@functools.lru_cache(maxsize=1)
def repository_crosswalk() -> dict[str, str]:
    """Old 2-digit GSO code -> post-July-2025 code, from ``seeds/province_merger_2025.csv``
    (Resolution 202/2025/QH15; source ``merger-2025-compiled`` in ``seeds/sources.csv``)."""
    table = pd.read_csv(SEEDS_DIR / "province_merger_2025.csv", dtype=str)
    return dict(zip(table["old_gso_code"], table["new_code_2025"], strict=True))


def p34_groups(codes: list[str], crosswalk: dict | None = None) -> dict[str, list[int]]:
    """``{"p34:<new code>": indices into codes}`` for each new province whose old provinces are all in
    ``codes`` (a new province only partly simulated is left out rather than shown incomplete)."""
    crosswalk = crosswalk or repository_crosswalk()
    members: dict[str, list[str]] = {}
    for old, new in crosswalk.items():
        members.setdefault(new, []).append(old)
    where = {c: i for i, c in enumerate(codes)}
    return {
        P34_PREFIX + new: [where[o] for o in sorted(olds)]
        for new, olds in sorted(members.items())
        if all(o in where for o in olds)
    }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _ytd(x: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 0 (months) restarting each calendar year."""
    out = np.cumsum(x, axis=0)
    starts = np.flatnonzero(np.diff(year)) + 1
    offsets = np.zeros_like(out)
    for s in starts:
        offsets[s:] = out[s - 1]
    return out - offsets


def stack_indicators(results: list[RunResult]) -> dict[tuple[str, str], np.ndarray]:
    """``{(indicator, scope): (R, T)}`` over replicates, filled run by run (one run's indicators
    in memory at a time besides the stacked arrays, not every run's)."""
    first = results[0].indicators()
    keys = list(first)
    cube = np.empty((len(keys), len(results), *first[keys[0]].shape))  # every indicator is (T,) float
    for i, r in enumerate(results):
        ind = first if i == 0 else r.indicators()
        cube[:, i] = np.stack([ind[k] for k in keys])
    return {k: cube[j] for j, k in enumerate(keys)}


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
    n_t = len(dates)
    q = np.empty((len(QUANTILES), len(keys), n_t))
    mean = np.empty((len(keys), n_t))
    for lo in range(0, len(keys), SUMMARY_CHUNK):  # a few indicators at a time: bounded memory
        part = slice(lo, lo + SUMMARY_CHUNK)
        cube = np.stack([stacked[k] for k in keys[part]])  # (k, R, T)
        q[:, part] = nan_quantiles(cube, QUANTILES, axis=1)
        with warnings.catch_warnings():  # months where a small province had no dossier stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean[part] = np.nanmean(cube, axis=1)
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

    The localities target is also applied to every ``p34:<code>`` scope in ``stacked`` (the 34
    provinces from July 2025), after the other rows.
    """
    rows = [
        (r.target_id, r.indicator, r.scope, r.deadline, float(r.threshold))
        for r in targets.itertuples()
        if bool(r.modelled)
    ]
    rows += list(scopes_extra)
    p34 = [scope for ind, scope in stacked if ind == "share_dossiers_full_online_ytd" and scope.startswith(P34_PREFIX)]
    rows += [(t, ind, scope, dl, th) for t, ind, sc, dl, th in rows if sc == TIERS[1] for scope in p34]
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


STAGE_GROUPS = {
    "access": ("no_access",),
    "supply": ("not_offered", "not_full_process"),
    "backoffice": ("backoffice",),
    "demand": ("unaware", "declined"),
}
BOTTLENECK_COLUMNS = [
    "scenario",
    "scope",
    "date",
    "threshold",
    "full_online",
    *STAGE_GROUPS,
    "gap_pp",
    *(f"gap_{g}_pp" for g in STAGE_GROUPS),
]


def bottleneck_table(summary: pd.DataFrame, date: str, threshold: float) -> pd.DataFrame:
    """Where each province's local dossiers stop, in the year to ``date``, and its gap to the target.

    Uses the ``mean`` over replicates of ``share_dossiers_full_online_ytd`` and of the six
    ``share_dossiers_stage_<stage>_ytd`` shares, so the five shares of a row (``full_online`` and
    the four groups of :data:`STAGE_GROUPS`) sum to 1. ``gap_pp`` = ``max(threshold - full_online,
    0) * 100``. ASSUMPTION: ``gap_<group>_pp`` splits the gap in proportion to each group's share of
    the dossiers that are not fully online (a dossier is counted at its first failed step, so this
    is an accounting split, not the effect of removing one bottleneck alone).

    Args:
        summary: the ``summary.csv`` table of one run.
        date: ``YYYY-MM`` month (December = the whole year).
        threshold: target share in 0-1 (0.70 for localities).

    Returns:
        One row per province scope (2-digit codes, then ``p34:<code>``), columns
        :data:`BOTTLENECK_COLUMNS`.
    """
    rows = summary[(summary["date"] == date) & summary["indicator"].str.startswith("share_dossiers_")]
    rows = rows[rows["scope"].str.fullmatch(r"\d\d") | rows["scope"].str.startswith(P34_PREFIX)]
    wide = rows.pivot_table(index="scope", columns="indicator", values="mean", sort=False)
    if wide.empty or "share_dossiers_full_online_ytd" not in wide:
        return pd.DataFrame(columns=BOTTLENECK_COLUMNS)
    out = pd.DataFrame(index=wide.index)
    out["full_online"] = wide["share_dossiers_full_online_ytd"]
    for group, stages in STAGE_GROUPS.items():
        out[group] = sum(wide[f"share_dossiers_stage_{s}_ytd"] for s in stages)
    gap = (threshold - out["full_online"]).clip(lower=0.0)
    out["gap_pp"] = 100.0 * gap
    lost = out[list(STAGE_GROUPS)].sum(axis=1)
    for group in STAGE_GROUPS:
        out[f"gap_{group}_pp"] = 100.0 * gap * _ratio(out[group].to_numpy(), lost.to_numpy())
    out = out.reset_index()
    out.insert(0, "scenario", summary["scenario"].iloc[0] if len(summary) else "")
    out.insert(2, "date", date)
    out.insert(3, "threshold", threshold)
    old = out["scope"].str.fullmatch(r"\d\d")
    return pd.concat([out[old].sort_values("scope"), out[~old].sort_values("scope")])[BOTTLENECK_COLUMNS]
