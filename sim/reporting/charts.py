"""Briefing charts. Each function takes tidy tables and returns a matplotlib ``Figure``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

from sim.reporting.formats import integer, month, number
from sim.reporting.labels import label, percent, region
from sim.reporting.style import COLORS, style
from sim.timeline import parse_ym


def ym_to_year(ym) -> np.ndarray:
    """``YYYY-MM`` strings to mid-month decimal years."""
    return np.array([parse_ym(s) / 12.0 + 1.0 / 24.0 for s in np.atleast_1d(ym)])


def _pct_axis(ax, lang: str) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: percent(v, lang)))
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_locator(MultipleLocator(2))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))


def _fan(ax, rows: pd.DataFrame, color: str, lang: str, name: str | None = None) -> None:
    x = ym_to_year(rows["date"])
    ax.fill_between(x, rows["q05"], rows["q95"], color=color, alpha=COLORS["band"], lw=0, label=label("band90", lang))
    ax.fill_between(
        x, rows["q25"], rows["q75"], color=color, alpha=2 * COLORS["band"], lw=0, label=label("band50", lang)
    )
    ax.plot(x, rows["q50"], color=color, lw=1.8, label=name or label("median", lang))


def _observed(ax, obs: pd.DataFrame, lang: str, first: bool = True) -> None:
    if obs.empty:
        return
    start, end = ym_to_year(obs["period_start"]) - 1 / 24, ym_to_year(obs["period_end"]) + 1 / 24
    mid = (start + end) / 2
    ax.errorbar(
        mid,
        obs["share"],
        xerr=[mid - start, end - mid],
        fmt="o",
        color=COLORS["observed"],
        ms=5,
        capsize=2,
        lw=1,
        label=label("observed", lang) if first else None,
        zorder=5,
    )
    shown: list[tuple[float, float]] = []
    for xm, y in zip(mid, obs["share"], strict=True):
        if any(abs(xm - a) < 0.6 and abs(y - b) < 0.03 for a, b in shown):
            continue  # one label for points that sit on top of each other
        shown.append((xm, y))
        ax.annotate(
            percent(y, lang, 1 if y < 0.1 else 0), (xm, y), textcoords="offset points", xytext=(4, 5), fontsize=7.5
        )


def _crowding(ax, x0: float, x1: float, y0: float, y1: float) -> int:
    """Points of the lines already drawn on ``ax`` inside the box ``[x0, x1] x [y0, y1]``."""
    n = 0
    for line in ax.lines:
        xs, ys = (np.asarray(v, float) for v in line.get_data())
        if xs.size > 1:  # the curves, not the one-point markers
            n += int(np.sum((xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)))
    return n


def _target(ax, targets: pd.DataFrame, lang: str, month_named: bool = False) -> None:
    """Each target as a dashed line with a star at its deadline, named on the line (not in the legend,
    which would cover the line): above it, or below where the curves drawn so far run just above it.
    The deadline is written as its year, or as its month with ``month_named``."""
    for r in targets.itertuples():
        x = ym_to_year([r.deadline])[0]
        ax.axhline(r.threshold, color=COLORS["target"], ls="--", lw=1)
        ax.plot([x], [r.threshold], marker="*", ms=11, color=COLORS["target"])
        above = _crowding(ax, x - 5, x, r.threshold, r.threshold + 0.07)
        below = _crowding(ax, x - 5, x, r.threshold - 0.07, r.threshold)
        when = month(r.deadline, lang) if month_named else r.deadline[:4]
        ax.annotate(
            f"{label('target', lang)} {percent(r.threshold, lang)} ({when})",
            (x, r.threshold),
            textcoords="offset points",
            xytext=(-8, 5) if above <= below else (-8, -5),
            ha="right",
            va="bottom" if above <= below else "top",
            fontsize=7.5,
            color=COLORS["target"],
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},  # over a band
            zorder=5,
        )


def row_major(items: list, ncols: int) -> list:
    """``items`` reordered so that a legend of ``ncols`` columns, which matplotlib fills column by
    column, reads in the original order row by row (left to right, then the next row)."""
    return [x for c in range(ncols) for x in items[c::ncols]]


def figure_legend(fig: Figure, ax, per_row: int, grey: bool = True) -> int:
    """One legend for all panels, below them, from ``ax``'s entries; with ``grey`` drawn in grey
    (when each panel has its own colour). Returns its number of rows (for the note under it)."""
    handles, names = ax.get_legend_handles_labels()
    if grey:
        handles = [
            Line2D([], [], color="#555", lw=h.get_linewidth(), ls=h.get_linestyle())
            if isinstance(h, Line2D)
            else Patch(facecolor="#555", alpha=h.get_alpha(), lw=0)
            if isinstance(h, PolyCollection)  # a band
            else h  # the observed figures (an error bar), already in neutral black
            for h in handles
        ]
    ncol = max(1, min(len(names), per_row))
    handles, names = row_major(handles, ncol), row_major(names, ncol)
    fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol)
    return max(1, -(-len(names) // per_row))


def spread_labels(ax, points: list[tuple[float, float, str, str]], markers: list[tuple[float, float]]) -> None:
    """Write each ``(x, y, text, color)`` point's label to its right, moved up in steps of one line
    until it covers neither a label written before it nor one of the ``markers`` (positions in
    points on the page; a moved label gets a thin line to its point)."""
    to_pt = 72.0 / ax.figure.dpi

    def page(x: float, y: float) -> tuple[float, float]:
        px, py = ax.transData.transform((x, y))
        return px * to_pt, py * to_pt

    taken = [(mx - 5.0, my - 5.0, 10.0, 10.0) for mx, my in (page(x, y) for x, y in markers)]
    for x, y, text, color in sorted(points, key=lambda p: (p[1], p[0])):
        px, py = page(x, y)
        left, width, height, dy = px + 6.0, 4.3 * len(text) + 4.0, 10.0, 3.0
        while any(
            left < bx + bw and bx < left + width and py + dy < by + bh and by < py + dy + height
            for bx, by, bw, bh in taken
        ):
            dy += height
        taken.append((left, py + dy, width, height))
        ax.annotate(
            text,
            (x, y),
            textcoords="offset points",
            xytext=(6, dy),
            fontsize=7.5,
            color=color,
            arrowprops={"arrowstyle": "-", "color": color, "lw": 0.6, "relpos": (0, 0.5)} if dy > 3.0 else None,
        )


def scale_text(scale, lang: str) -> str:
    """People per agent in ``lang``'s number format (text passes through unchanged)."""
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        return integer(scale, lang) if scale >= 1 else number(scale, lang, 2)
    return str(scale)


def run_note(meta: dict, lang: str, bands: bool = True) -> str:
    """The one-line run description (scenario, replicates, scale) printed under every chart; with
    ``bands`` it also says what the chart's bands show (charts without bands pass ``False``)."""
    draws = meta.get("n_draws")
    name = meta.get("scenario", "")
    shown = (meta.get("scenario_label") or {}).get(lang) or name
    return label(
        "note_run" if bands else "note_run_plain",
        lang,
        scenario=shown if shown == name else f"{shown} ({name})",
        n=meta.get("n_runs", 1),
        scale=scale_text(meta.get("scale", ""), lang),
        draws=(label("draws", lang) if bands else label("draws_across", lang)) if draws else "",
    )


def _footer(fig: Figure, meta: dict, lang: str, legend_rows: int = 0, extra: str = "") -> None:
    below = -0.02 - 0.055 * legend_rows  # under a figure legend of that many rows
    chosen = meta.get("provinces") or ()
    obs = label("note_selection", lang, n=len(chosen), codes=", ".join(chosen)) if chosen else label("note_obs", lang)
    lines = [run_note(meta, lang), obs] + ([extra] if extra else [])
    fig.text(0.01, below, "\n".join(lines), fontsize=7.5, color="#444", va="top")


def _finish_panel(ax, title: str, lang: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(label("year", lang))
    _pct_axis(ax, lang)


def _finish_figure(
    fig: Figure, first_ax, ylabel_key: str, title_key: str, meta: dict, lang: str, extra: str = ""
) -> None:
    first_ax.set_ylabel(label(ylabel_key, lang))
    fig.suptitle(label(title_key, lang), fontweight="bold")
    _footer(fig, meta, lang, figure_legend(fig, first_ax, per_row=5), extra)


def targets_chart(
    summary: pd.DataFrame, observations: pd.DataFrame, targets: pd.DataFrame, meta: dict, lang: str = "en"
) -> Figure:
    """Fully-online dossier shares (ministries, localities, national) vs the 2025 targets."""
    with style():
        fig = Figure(figsize=(13, 4.4))
        axes = fig.subplots(1, 3, sharey=True)
        chosen = meta.get("provinces") or ()  # a run of some provinces: the published figures are national
        for ax, scope in zip(axes, ("ministries", "localities", "national"), strict=True):
            rows = summary[(summary.indicator == "share_dossiers_full_online") & (summary.scope == scope)]
            _fan(ax, rows, COLORS[scope], lang)
            obs = observations[(observations.indicator == "share_dossiers_full_online") & (observations.scope == scope)]
            if not chosen:
                _observed(ax, obs.drop_duplicates(["period_start", "period_end", "share"]), lang)
            _target(
                ax,
                targets[
                    (targets.indicator == "share_dossiers_full_online")
                    & (targets.scope == scope)
                    & targets.modelled.astype(bool)
                ],
                lang,
            )
            title = label("selection", lang, n=len(chosen)) if chosen and scope == "national" else label(scope, lang)
            _finish_panel(ax, title, lang)
        _finish_figure(fig, axes[0], "share_of_dossiers", "title_targets", meta, lang, label("note_monthly", lang))
        return fig


def usage_chart(
    summary: pd.DataFrame, observations: pd.DataFrame, targets: pd.DataFrame, meta: dict, lang: str = "en"
) -> Figure:
    """Share of adults who used online public services in the last 12 months: national and Ho Chi
    Minh City, vs the published figures (a calendar-year figure equals the 12-month value in
    December; the 2022 national figure covers January-July)."""
    chosen = meta.get("provinces") or ()  # a run of some provinces: Ho Chi Minh City only if simulated
    panels = [("national", label("selection", lang, n=len(chosen)) if chosen else label("national", lang))]
    if not chosen or "79" in chosen:
        panels.append(("79", label("hcmc", lang)))
    with style():
        fig = Figure(figsize=(11 if len(panels) == 2 else 6.5, 4.4))
        axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
        for ax, (scope, title) in zip(axes, panels, strict=True):
            rows = summary[(summary.indicator == "share_citizens_using_ops") & (summary.scope == scope)]
            _fan(ax, rows, COLORS["national"], lang, label("usage_12m", lang))
            obs = observations[(observations.indicator == "share_citizens_using_ops") & (observations.scope == scope)]
            if not chosen or (scope == "79" and "79" in chosen):
                _observed(ax, obs, lang)
            if scope == "national":
                _target(
                    ax, targets[(targets.indicator == "share_citizens_using_ops") & targets.modelled.astype(bool)], lang
                )
            _finish_panel(ax, title, lang)
        _finish_figure(fig, axes[0], "share_of_adults", "title_usage", meta, lang)
        return fig


def province_ranking_chart(
    summary: pd.DataFrame,
    provinces: pd.DataFrame,
    meta: dict,
    lang: str = "en",
    date: str = "2025-12",
    threshold: float = 0.70,
) -> Figure:
    """63 provinces ranked by the share of local dossiers fully online in the year ending ``date``."""
    rows = summary[
        (summary.indicator == "share_dossiers_full_online_ytd")
        & (summary.date == date)
        & summary.scope.isin(provinces.index)
    ].set_index("scope")
    rows = rows.join(provinces[["name_vi", "region_gso6"]]).sort_values("q50")
    regions = sorted(provinces["region_gso6"].unique())
    palette = dict(zip(regions, ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"], strict=False))
    shown = [r for r in regions if r in set(rows["region_gso6"])]  # the simulated provinces' regions
    height = max(3.5, 0.17 * len(rows) + 1.6)  # 12 in for the 63 provinces
    with style():
        fig = Figure(figsize=(8.5, height))
        ax = fig.subplots()
        y = np.arange(len(rows))
        ax.barh(y, rows["q50"], color=[palette[r] for r in rows["region_gso6"]], alpha=0.85, height=0.8)
        ax.errorbar(
            rows["q50"],
            y,
            xerr=[rows["q50"] - rows["q05"], rows["q95"] - rows["q50"]],
            fmt="none",
            ecolor="#333",
            lw=0.8,
            capsize=1.5,
        )
        ax.axvline(
            threshold,
            color=COLORS["target"],
            ls="--",
            lw=1.2,
            label=f"{label('target', lang)} {percent(threshold, lang)}",
        )
        ax.set_yticks(y, rows["name_vi"], fontsize=7.5)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: percent(v, lang)))
        ax.set_xlabel(label("share_of_dossiers", lang))
        handles = [Patch(color=palette[r], label=region(r, lang)) for r in shown]
        handles += ax.get_legend_handles_labels()[0]
        ncol = 2 if len(handles) > 3 else len(handles)
        n_rows = -(-len(handles) // ncol)
        ax.set_ylim(-1, len(rows))
        ax.set_title(label("title_ranking", lang, year=date[:4], target=percent(threshold, lang)), fontweight="bold")
        ax.grid(axis="y", visible=False)
        # legend and note under the axis (not over the bars or the target line): rows of ~0.2 in
        fig.subplots_adjust(bottom=(0.75 + 0.2 * n_rows + 0.45) / height, top=1 - 0.45 / height)
        legend_top = 0.55 / height
        fig.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, fig.subplotpars.bottom - legend_top),
            ncol=ncol,
            fontsize=7.5,
            frameon=False,
        )
        note = (
            run_note(meta, lang, bands=False)
            + "\n"
            + label("note_ranking", lang, year=date[:4], draws=label("draws", lang) if meta.get("n_draws") else "")
        )
        fig.text(0.01, 0.3 / height, note, fontsize=7.5, color="#444", va="top", wrap=True)
        return fig
