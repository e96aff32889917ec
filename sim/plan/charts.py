"""Planner charts in English and Vietnamese: the budget-vs-probability frontier, the chosen plan's
fan chart against the baseline, and per-province probabilities on a map.

Each function takes tidy tables and returns a matplotlib ``Figure`` (no pyplot state).
"""

from __future__ import annotations

import unicodedata

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.reporting.charts import spread_labels
from sim.reporting.formats import month, number, percent
from sim.reporting.style import COLORS, style

LABELS = {  # chart sentences in two languages
    "en": {
        "title_frontier": "Budget vs probability of meeting every target by {deadline}",
        "x_cost": "Central cost up to the deadline (trillion VND; horizontal bar: low-high range)",
        "x_cost_plain": "Central cost up to the deadline (trillion VND)",
        "y_median": "Median share reached in the deadline's year (dashed: target)",
        "budget": "Budget",
        "y_p": "Probability that every target is met",
        "frontier": "Best plan found for each budget",
        "robust": "Costs {factor} higher: the plan the budget then buys",
        "required": "Required probability {p}",
        "note_frontier": "Targets: {targets}. Vertical bars: 95 % Jeffreys interval (Monte-Carlo error) over {n} runs at 1 agent = {scale} people{draws}. Labels: share of the budget.",  # noqa: E501
        "draws": ", across {k} posterior parameter draws",
        "point_values": ", at the point parameter values (no posterior draws)",
        "title_map": "Probability that local dossiers reach {threshold} fully online by {deadline}, with the plan",
        "map_value": "P(province's local dossiers fully online ≥ {threshold})",
        "plan": "plan",
        "baseline": "baseline",
        "title_fan": "Fully online dossiers, plan and baseline, vs the chosen targets for {deadline}",
        "title_fan_none": "Fully online dossiers, plan and baseline (no fully-online dossier target chosen)",
    },
    "vi": {
        "title_frontier": "Ngân sách và xác suất đạt mọi mục tiêu vào {deadline}",
        "x_cost": "Chi phí trung tâm đến hạn (nghìn tỷ đồng; vạch ngang: khoảng thấp-cao)",
        "x_cost_plain": "Chi phí trung tâm đến hạn (nghìn tỷ đồng)",
        "y_median": "Trung vị tỷ lệ đạt được trong năm đến hạn (nét đứt: mục tiêu)",
        "budget": "Ngân sách",
        "y_p": "Xác suất đạt mọi mục tiêu",
        "frontier": "Phương án tốt nhất tìm được cho mỗi mức ngân sách",
        "robust": "Chi phí cao hơn {factor}: phương án ngân sách khi đó mua được",
        "required": "Xác suất yêu cầu {p}",
        "note_frontier": "Mục tiêu: {targets}. Vạch dọc: khoảng Jeffreys 95 % (sai số Monte-Carlo) trên {n} lần mô phỏng, 1 tác tử = {scale} người{draws}. Nhãn: tỷ lệ của ngân sách.",  # noqa: E501
        "draws": ", trên {k} bộ tham số rút từ phân phối hậu nghiệm",
        "point_values": ", tại giá trị tham số điểm (không rút từ phân phối hậu nghiệm)",
        "title_map": "Xác suất hồ sơ địa phương đạt {threshold} trực tuyến toàn trình vào {deadline}, với phương án",
        "map_value": "Xác suất tỷ lệ hồ sơ địa phương trực tuyến toàn trình của tỉnh ≥ {threshold}",
        "plan": "phương án",
        "baseline": "kịch bản cơ sở",
        "title_fan": "Hồ sơ trực tuyến toàn trình, phương án và kịch bản cơ sở, so với mục tiêu đã chọn cho {deadline}",
        "title_fan_none": "Hồ sơ trực tuyến toàn trình, phương án và kịch bản cơ sở (không chọn mục tiêu về hồ sơ)",
    },
}


TARGET_NAMES = {  # the modelled targets of seeds/targets.csv, by id without the year
    "en": {
        "full_online_ministries": "ministries' dossiers fully online",
        "full_online_localities": "local dossiers fully online",
        "full_online_national": "all dossiers fully online",
        "adults_using_ops": "adults using online public services",
    },
    "vi": {
        "full_online_ministries": "hồ sơ của bộ, ngành trực tuyến toàn trình",
        "full_online_localities": "hồ sơ địa phương trực tuyến toàn trình",
        "full_online_national": "toàn bộ hồ sơ trực tuyến toàn trình",
        "adults_using_ops": "người trưởng thành dùng dịch vụ công trực tuyến",
    },
}


def target_name(target_id: str, lang: str, threshold: float | None = None, deadline: str | None = None) -> str:
    """A target in words with the year it is judged in, e.g. ``local dossiers fully online >= 70 % (2030)``.

    The year is that of ``deadline`` (``YYYY-MM``: the target's deadline after ``planner.deadline``,
    :attr:`sim.plan.spec.Plan.targets`), else the year in the id (its own deadline in
    seeds/targets.csv). An id the table does not name is returned as it is, followed by the
    deadline's year when that is not the id's.
    """
    stem, _, own = target_id.rpartition("_")
    year = str(deadline)[:4] if deadline else own
    name = TARGET_NAMES[lang].get(stem)
    if name is None or not own.isdigit():
        return target_id if not deadline or year == own else f"{target_id} ({year})"
    level = f" ≥ {percent(threshold, lang)}" if threshold is not None else ""
    return unicodedata.normalize("NFC", f"{name}{level} ({year})")


def text(key: str, lang: str, **fmt) -> str:
    """Planner label ``key`` in ``lang`` (NFC), formatted with ``fmt``."""
    value = LABELS[lang][key].format(**fmt) if fmt else LABELS[lang][key]
    return unicodedata.normalize("NFC", value)


def sample_note(meta: dict, lang: str) -> str:
    """Where the probability's spread comes from: posterior draws or point values."""
    k = meta.get("n_draws", 0)
    return text("draws", lang, k=k) if k else text("point_values", lang)


def tick_decimals(ticks) -> int:
    """The fewest decimals (0-3) that write every tick value exactly (0.25 steps need two)."""
    for d in range(4):
        if all(abs(round(float(v), d) - float(v)) < 1e-9 for v in ticks):
            return d
    return 3


def frontier_chart(frontier: pd.DataFrame, meta: dict, lang: str = "en") -> Figure:
    """Two panels against the plan's central cost, one point per budget: P(every target met) with
    its 95 % interval, and the median share each target reaches (its threshold dashed).

    Args:
        frontier: ``frontier.csv`` rows: ``label`` (``budget_<fraction>``, ``baseline``,
            ``costs_x``), ``budget_fraction``, ``cost_vnd_low/central/high`` (VND), ``p_met``,
            ``p_met_lo``, ``p_met_hi`` and ``median_<target_id>`` (0-1).
        meta: ``deadline`` (YYYY-MM), ``targets`` ({target_id: threshold}), ``deadlines``
            ({target_id: YYYY-MM judged}, default the id's year), ``n_runs``, ``scale``,
            ``n_draws``, ``cost_factor``, ``budget`` (VND, max_probability mode) and ``required``
            (a probability, min_cost mode) if any.
        lang: ``en`` or ``vi``.
    """
    rows = frontier[frontier["label"].str.startswith("budget_")].sort_values("cost_vnd_central")
    robust = frontier[frontier["label"] == "costs_x"]
    with style():
        fig = Figure(figsize=(13, 5.4))
        ax, ax_m = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
        for part, color, marker, name in (
            (rows, COLORS["localities"], "o", text("frontier", lang)),
            (robust, "#555555", "s", text("robust", lang, factor=_factor(meta, lang))),
        ):
            if part.empty:
                continue
            x = part["cost_vnd_central"].to_numpy(float) / 1e12
            xerr = [x - part["cost_vnd_low"] / 1e12, part["cost_vnd_high"] / 1e12 - x]
            yerr = [part["p_met"] - part["p_met_lo"], part["p_met_hi"] - part["p_met"]]
            ax.errorbar(
                x, part["p_met"], xerr=xerr, yerr=yerr, fmt=marker, color=color, ms=6, capsize=3, lw=1.2, label=name
            )
        if len(rows):
            ax.plot(rows["cost_vnd_central"] / 1e12, rows["p_met"], color=COLORS["localities"], lw=1, alpha=0.6)
        if meta.get("required") is not None:
            req = meta["required"]
            ax.axhline(req, color=COLORS["target"], ls="--", lw=1.2, label=text("required", lang, p=percent(req, lang)))
        if meta.get("budget"):
            ax.axvline(meta["budget"] / 1e12, color="#888888", ls=":", lw=1.2, label=text("budget", lang))
        ax.set_ylim(-0.03, 1.05)
        ax.set_ylabel(text("y_p", lang))
        ax.legend(loc="upper left", fontsize=8)
        deadlines = meta.get("deadlines") or {}
        for j, (target, threshold) in enumerate(meta["targets"].items()):
            color = _TARGET_COLORS[j % len(_TARGET_COLORS)]
            name = target_name(target, lang, threshold, deadlines.get(target))
            ax_m.plot(rows["cost_vnd_central"] / 1e12, rows[f"median_{target}"], marker="o", color=color, label=name)
            ax_m.axhline(threshold, color=color, ls="--", lw=1)
        ax_m.set_ylim(0, 1)
        ax_m.set_ylabel(text("y_median", lang))
        ax_m.legend(loc="lower right", fontsize=8)
        for a, xlabel in ((ax, "x_cost"), (ax_m, "x_cost_plain")):
            a.set_xlim(left=0)
            a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: percent(v, lang)))
            a.xaxis.set_major_formatter(FuncFormatter(lambda v, _, a=a: number(v, lang, tick_decimals(a.get_xticks()))))
            a.set_xlabel(text(xlabel, lang))
        ax.set_xlim(*ax.get_xlim())  # fixed before the labels are placed in page units
        _label_points(ax, rows, lang)
        fig.suptitle(text("title_frontier", lang, deadline=month(meta["deadline"], lang)), fontweight="bold")
        note = text(
            "note_frontier",
            lang,
            targets="; ".join(target_name(t, lang, v, deadlines.get(t)) for t, v in meta["targets"].items()),
            n=meta["n_runs"],
            scale=number(meta["scale"], lang, 0),
            draws=sample_note(meta, lang),
        )
        fig.text(0.01, -0.02, note, fontsize=7.5, color="#444", va="top", wrap=True)
        return fig


_TARGET_COLORS = (COLORS["ministries"], COLORS["localities"], COLORS["national"], "#8e44ad", "#b8860b")


def _label_points(ax, rows: pd.DataFrame, lang: str) -> None:
    """One label per distinct plan: the budget fractions that chose it (e.g. ``50 %, 100 %``),
    stacked where plans lie close together (:func:`sim.reporting.charts.spread_labels`)."""
    points, markers = [], []
    for (cost, p), part in rows.groupby(["cost_vnd_central", "p_met"], sort=False):
        names = ", ".join(percent(f, lang) for f in part["budget_fraction"])
        points.append((cost / 1e12, p, names, "#222222"))
        markers.append((cost / 1e12, p))
    spread_labels(ax, points, markers)


def _factor(meta: dict, lang: str) -> str:
    return percent(meta.get("cost_factor", 1.5) - 1.0, lang)


def plan_fan_chart(summary: pd.DataFrame, targets: pd.DataFrame, lang: str = "en") -> Figure:
    """Fully-online dossier shares of the plan and the baseline (median, 90 % band) vs the targets.

    Args:
        summary: ``summary.csv`` rows of both (``scenario`` = ``baseline`` / ``plan``).
        targets: ``scope, threshold, deadline`` of the chosen dossier targets, the deadline the one
            judged (:func:`sim.plan.report.targets_for_fan`); only these are marked, and the title
            names their deadlines.
        lang: ``en`` or ``vi``.
    """
    from sim.reporting.briefing import scenario_fan_chart

    rows = summary[summary["indicator"] == "share_dossiers_full_online"].copy()
    rows["scenario"] = rows["scenario"].map(lambda s: text(s, lang) if s in ("plan", "baseline") else s)
    fig = scenario_fan_chart(rows, targets, [text("baseline", lang), text("plan", lang)], lang)
    deadlines = sorted(set(targets["deadline"].astype(str)))
    if deadlines:
        title = text("title_fan", lang, deadline=", ".join(month(d, lang, True) for d in deadlines))
    else:
        title = text("title_fan_none", lang)
    fig.suptitle(title, fontweight="bold")  # replaces the scenario comparison's "vs the 2025 targets"
    return fig


def province_map(probabilities: pd.DataFrame, meta: dict, lang: str = "en") -> Figure:
    """Map of each province's P(local target met) with the plan.

    Args:
        probabilities: ``province_probabilities.csv`` rows with ``scenario == "plan"``:
            ``gso_code``, ``p_met`` (0-1), ``threshold``, ``deadline``.
        meta: run facts for the footer (``scenario``, ``n_runs``, ``scale``, ``n_draws``).
        lang: ``en`` or ``vi``.
    """
    from sim.reporting.maps import choropleth_chart

    values = pd.DataFrame(
        {"scope": probabilities["gso_code"].astype(str), "value": probabilities["p_met"].astype(float)}
    )
    threshold = percent(float(probabilities["threshold"].iloc[0]), lang)
    deadline = month(str(probabilities["deadline"].iloc[0]), lang)
    title = text("title_map", lang, threshold=threshold, deadline=deadline)
    return choropleth_chart(values, meta, lang, None, None, title, text("map_value", lang, threshold=threshold))
