"""Briefing charts beyond a single run's fan charts: bottleneck decomposition by province, and the
scenario comparison (fans per scenario vs the targets; probabilities and cost-effectiveness).

Each function takes tidy tables and returns a matplotlib ``Figure`` (no pyplot state).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.reporting.charts import _pct_axis, _target, figure_legend, row_major, run_note, spread_labels, ym_to_year
from sim.reporting.formats import month, number, percent
from sim.reporting.labels import label
from sim.reporting.style import COLORS, style
from sim.results import P34_PREFIX, STAGE_GROUPS, bottleneck_table

GROUP_COLORS = {
    "full_online": "#2e7d32",
    "access": "#6d4c41",
    "supply": "#1f5fa8",
    "backoffice": "#8e44ad",
    "demand": "#e59400",
}
SCENARIO_COLORS = ("#444444", "#1f5fa8", "#c2571a", "#2e7d32", "#8e44ad", "#b8860b", "#d81b60", "#00838f")
SCOPES = ("ministries", "localities", "national")


def bottleneck_chart(table: pd.DataFrame, names: dict[str, str], meta: dict, lang: str = "en") -> Figure:
    """Stacked bars per province: share of local dossiers fully online and where the rest stop.

    Args:
        table: rows of :func:`sim.results.bottleneck_table` for one map (63 or 34 scopes), columns
            ``scope, date, threshold, full_online`` and the four groups of ``STAGE_GROUPS``.
        names: scope -> province name shown on the axis.
        meta: run facts for the footer.
        lang: ``en`` or ``vi``.
    """
    rows = table.sort_values("full_online").reset_index(drop=True)
    date, threshold = str(rows["date"].iloc[0]), float(rows["threshold"].iloc[0])
    groups = ["full_online", *STAGE_GROUPS]
    with style():
        fig = Figure(figsize=(9.5, 2.2 + 0.17 * len(rows)))
        ax = fig.subplots()
        y = np.arange(len(rows))
        left = np.zeros(len(rows))
        for g in groups:
            ax.barh(y, rows[g], left=left, color=GROUP_COLORS[g], height=0.78, label=label(f"stage_{g}", lang))
            left += rows[g].to_numpy()
        ax.axvline(threshold, color=COLORS["target"], ls="--", lw=1.4)
        ax.text(
            threshold,
            len(rows) - 0.3,
            f" {label('target', lang)} {percent(threshold, lang)}",
            color=COLORS["target"],
            fontsize=8,
            va="bottom",
        )
        ax.set_yticks(y, [names.get(s, s) for s in rows["scope"]], fontsize=7.5)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, len(rows) + 0.6)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: percent(v, lang)))
        ax.set_xlabel(label("share_of_dossiers", lang))
        ax.grid(axis="y", visible=False)
        handles, entries = ax.get_legend_handles_labels()
        ax.legend(
            row_major(handles, 2),
            row_major(entries, 2),
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=2,
            fontsize=8,
            frameon=False,
        )
        year = month(date, lang) if date[5:] != "12" else date[:4]
        title = label("title_bottleneck", lang, year=year, n=len(rows))
        ax.set_title(title, fontweight="bold", pad=52)  # room for the three-row legend above the bars
        note = "\n".join([run_note(meta, lang, bands=False), *textwrap.wrap(label("note_bottleneck", lang), 140)])
        ax.annotate(
            note,
            (0, 0),
            xycoords="axes fraction",
            xytext=(0, -32),
            textcoords="offset points",
            va="top",
            fontsize=7.5,
            color="#444",
        )
        return fig


def scenario_fan_chart(
    summary: pd.DataFrame,
    targets: pd.DataFrame,
    order: list[str],
    lang: str = "en",
    labels: dict[str, str] | None = None,
) -> Figure:
    """Monthly fully-online dossier shares by scenario from 2020: median and 90 % band vs the targets
    (a target is judged on the whole year's share, see ``targets.csv``).

    Args:
        summary: rows of several runs' ``summary.csv`` (column ``scenario``) for indicator
            ``share_dossiers_full_online`` and scopes ministries, localities, national.
        targets: targets table with ``scope, threshold, deadline`` (one row per scope).
        order: scenarios in legend order (the baseline first, drawn dashed on top).
        lang: ``en`` or ``vi``.
        labels: scenario name -> name shown in the legend (default: the name).
    """
    labels = labels or {}
    with style():
        fig = Figure(figsize=(13.5, 4.6))
        axes = fig.subplots(1, 3, sharey=True)
        for ax, scope in zip(axes, SCOPES, strict=True):
            for i, scen in enumerate(order):
                rows = summary[(summary["scenario"] == scen) & (summary["scope"] == scope)].sort_values("date")
                rows = rows[rows["date"] >= "2020-01"]
                x, color = ym_to_year(rows["date"]), SCENARIO_COLORS[i % len(SCENARIO_COLORS)]
                ax.fill_between(x, rows["q05"], rows["q95"], color=color, alpha=0.15, lw=0)
                first = i == 0  # the baseline: dashed and on top, so it shows where a scenario equals it
                ax.plot(
                    x,
                    rows["q50"],
                    color=color,
                    lw=1.4 if first else 1.8,
                    ls="--" if first else "-",
                    zorder=4 if first else 3,
                    label=labels.get(scen, scen),
                )
            _target(ax, targets[targets["scope"] == scope], lang, month_named=True)
            ax.set_title(label(scope, lang))
            ax.set_xlabel(label("year", lang))
            _pct_axis(ax, lang)
        axes[0].set_ylabel(label("share_of_dossiers", lang))
        legend_rows = figure_legend(fig, axes[0], per_row=4, grey=False)  # the scenarios, in their colours
        fig.suptitle(label("title_compare_fan", lang), fontweight="bold")
        below = -0.02 - 0.055 * legend_rows
        note = textwrap.fill(label("note_compare_fan", lang), 180)
        fig.text(0.01, below, note, fontsize=7.5, color="#444", va="top")
        return fig


def comparison_chart(
    comparison: pd.DataFrame, baseline: str, lang: str = "en", labels: dict[str, str] | None = None
) -> Figure:
    """Two panels from ``comparison.csv``: P(target met) with its 95 % interval per scenario and
    scope; and median gain over the baseline (pp) against central cost (trillion VND).

    Args:
        comparison: the comparison table (one row per scenario and scope).
        baseline: name of the baseline scenario.
        lang: ``en`` or ``vi``.
        labels: scenario name -> name shown in the legend and next to the points (default: the name).
    """
    labels = labels or {}
    order = list(dict.fromkeys(comparison["scenario"]))
    deadline = str(comparison["deadline"].iloc[0])
    with style():
        fig = Figure(figsize=(13, 4.8))
        ax_p, ax_c = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
        width = 0.8 / max(len(order), 1)
        national, markers = [], []
        for i, scen in enumerate(order):
            rows = comparison[comparison["scenario"] == scen].set_index("scope").reindex(list(SCOPES))
            x = np.arange(len(SCOPES)) + (i - (len(order) - 1) / 2) * width
            color = SCENARIO_COLORS[i % len(SCENARIO_COLORS)]
            ax_p.bar(x, rows["p_met"], width * 0.9, color=color, alpha=0.55, label=labels.get(scen, scen))
            err = [rows["p_met"] - rows["p_met_lo"], rows["p_met_hi"] - rows["p_met"]]
            ax_p.errorbar(x, rows["p_met"], yerr=err, fmt="o", ms=3, color="#222", ecolor=color, lw=1.4, capsize=2)
            for xj, p, hi in zip(x, rows["p_met"], rows["p_met_hi"], strict=True):
                if np.isfinite(p):  # the value, so a probability of 0 still shows
                    ax_p.text(xj, (hi if np.isfinite(hi) else p) + 0.02, percent(p, lang), ha="center", fontsize=6.5)
            cost = rows["cost_vnd_central"].to_numpy(float) / 1e12
            gain = rows["gain_pp"].to_numpy(float)
            for j in range(len(SCOPES)):
                ax_c.scatter(cost[j], gain[j], color=color, marker="os^"[j], s=45, zorder=3)
                if np.isfinite(cost[j]) and np.isfinite(gain[j]):
                    markers.append((cost[j], gain[j]))
            if scen != baseline and np.isfinite(cost[2]) and np.isfinite(gain[2]):  # the baseline sits at 0, 0
                national.append((cost[2], gain[2], labels.get(scen, scen), color))
        ax_p.set_xticks(np.arange(len(SCOPES)), [label(s, lang) for s in SCOPES])
        ax_p.set_ylim(0, 1.12)
        ax_p.yaxis.set_major_formatter(FuncFormatter(lambda v, _: percent(v, lang)))
        ax_p.set_ylabel(label("p_met", lang))
        ax_p.set_title(label("p_met", lang) + " — " + label("p_met_interval", lang), fontsize=9.5)
        ax_p.legend(fontsize=7.5, loc="upper right")
        ax_c.axhline(0, color="#888", lw=0.8)
        ax_c.set_xlim(left=0)
        costs = comparison["cost_vnd_central"].to_numpy(float) / 1e12
        if np.isfinite(costs).any():
            ax_c.set_xlim(0, max(np.nanmax(costs) * 1.25, 0.1))
        for j, scope in enumerate(SCOPES):
            ax_c.scatter([], [], color="#555", marker="os^"[j], label=label(scope, lang))
        ax_c.legend(fontsize=7.5, loc="upper left")
        ax_c.set_ylim(*ax_c.get_ylim())  # fixed before the labels are placed in page units
        spread_labels(ax_c, national, markers)
        ax_c.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tick_number(v, lang)))
        ax_c.yaxis.set_major_formatter(FuncFormatter(lambda v, _: tick_number(v, lang)))
        ax_c.set_xlabel(label("cost_axis", lang, unit=label("trillion_vnd", lang)))
        ax_c.set_ylabel(label("gain_axis", lang, year=deadline[:4]))
        fig.suptitle(label("title_compare", lang, year=deadline[:4]), fontweight="bold")
        note = label("note_compare", lang, baseline=labels.get(baseline, baseline))
        fig.text(0.01, -0.02, note, fontsize=7.5, color="#444", va="top", wrap=True)
        return fig


def tick_number(v: float, lang: str) -> str:
    """An axis tick with the decimals it needs, up to two (``10``, not ``10.0``; ``0.5``; ``0.25``)."""
    digits = next((d for d in (0, 1) if abs(v * 10**d - round(v * 10**d)) < 1e-9), 2)
    return number(v, lang, digits)


def province_names(observed) -> dict[str, str]:
    """Scope -> province name for the 63 old codes and the ``p34:<code>`` scopes."""
    names = observed.provinces["name_vi"].to_dict()
    names.update({P34_PREFIX + k: v for k, v in observed.provinces_2025["name_vi"].items()})
    return names


def province_figures(
    summary: pd.DataFrame, observed, meta: dict, lang: str, deadline: str, threshold: float
) -> dict[str, Figure]:
    """Maps (63 and 34 provinces) of the median local fully-online share in the year to ``deadline``,
    and the bottleneck decomposition for both, ``{name: Figure}``."""
    from sim.reporting.maps import choropleth_chart

    rows = summary[(summary["indicator"] == "share_dossiers_full_online_ytd") & (summary["date"] == deadline)]
    values = rows[["scope", "q50"]].rename(columns={"q50": "value"})
    old = values["scope"].str.fullmatch(r"\d\d")
    crosswalk = dict(zip(observed.merger["old_gso_code"], observed.merger["new_code_2025"], strict=True))
    year = deadline[:4] if deadline.endswith("-12") else month(deadline, lang)
    value_label = label("map_value", lang, year=year)
    table = bottleneck_table(summary, deadline, threshold)
    names = province_names(observed)
    figs = {}
    for n, sel, cw in (
        (63, values[old], None),
        (34, values[~old & values["scope"].str.startswith(P34_PREFIX)], crosswalk),
    ):
        title = label(f"title_map{n}", lang, year=year)
        figs[f"map_provinces{n}"] = choropleth_chart(sel, meta, lang, cw, threshold, title, value_label)
        part = table[table["scope"].isin(sel["scope"])]
        if len(part):
            figs[f"bottlenecks_provinces{n}"] = bottleneck_chart(part, names, meta, lang)
    return figs
