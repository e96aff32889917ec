"""Calibration charts: posterior predictive vs every observation, and parameter marginals (en/vi)."""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.calibration.abc import to_abc_space
from sim.reporting.charts import row_major
from sim.reporting.formats import MONTHS_EN, month
from sim.reporting.style import COLORS, style

TEXT = {
    "en": {
        "title_pred": "Calibration: model vs every published figure",
        "observed": "Published figure (bar: 95 % measurement range)",
        "model": "Model, posterior median and 90 % range",
        "pred": "90 % range with measurement error",
        "held": "held out: not fitted",
        "share": "Share",
        "title_marg": "Calibrated parameters: prior (grey) and posterior (blue)",
        "foot": "ABC-SMC (pyabc), {n} simulations; observations fitted: {until}. Calibration '{tag}'.",
        "pinned by the data": "pinned by the data",
        "partly informed": "partly informed",
        "prior-driven": "prior-driven",
        "lower": "against the prior's lower bound",
        "upper": "against the prior's upper bound",
        "citizens_national": "Citizens using online services",
        "full_online_ministries": "Fully online, ministries",
        "full_online_localities": "Fully online, localities",
        "full_online_national": "Fully online, national",
        "all": "all, to {last}",
        "all_plain": "all",
        "until": "to {until} only",
        "held_legend": "Held-out figure (open: not fitted)",
        "density": "density",
        "params.need_rate_per_year": "Procedure needs per adult per year",
        "params.share_needs_ministry": "Share of needs at ministry tier",
        "params.p_innovation": "Bass innovation hazard p (at each need)",
        "params.q_imitation": "Bass imitation hazard q (at each need)",
        "params.beta_ministry": "Utility shift, ministry tier",
        "params.supply_volume_exponent": "Supply-volume exponent",
        "params.backoffice_hi_localities": "Local back-office ceiling (share)",
        "drivers.officials_trained.mid_year": "Year half of officials are trained",
    },
    "vi": {
        "title_pred": "Hiệu chỉnh: mô hình so với mọi số liệu đã công bố",
        "observed": "Số liệu công bố (thanh: khoảng đo lường 95 %)",
        "model": "Mô hình, trung vị hậu nghiệm và khoảng 90 %",
        "pred": "Khoảng 90 % kể cả sai số đo lường",
        "held": "giữ lại: không dùng để hiệu chỉnh",
        "share": "Tỷ lệ",
        "title_marg": "Tham số hiệu chỉnh: tiên nghiệm (xám) và hậu nghiệm (xanh)",
        "foot": "ABC-SMC (pyabc), {n} lần mô phỏng; số liệu dùng để hiệu chỉnh: {until}. Lần hiệu chỉnh '{tag}'.",
        "pinned by the data": "dữ liệu xác định rõ",
        "partly informed": "dữ liệu xác định một phần",
        "prior-driven": "chủ yếu theo tiên nghiệm",
        "lower": "sát cận dưới của tiên nghiệm",
        "upper": "sát cận trên của tiên nghiệm",
        "citizens_national": "Người dân sử dụng dịch vụ công trực tuyến",
        "full_online_ministries": "Toàn trình, bộ, ngành",
        "full_online_localities": "Toàn trình, địa phương",
        "full_online_national": "Toàn trình, toàn quốc",
        "all": "toàn bộ, đến {last}",
        "all_plain": "toàn bộ",
        "until": "chỉ đến {until}",
        "held_legend": "Số liệu giữ lại (điểm rỗng: không dùng để hiệu chỉnh)",
        "density": "mật độ",
        "params.need_rate_per_year": "Số nhu cầu thủ tục mỗi người lớn mỗi năm",
        "params.share_needs_ministry": "Tỷ lệ nhu cầu ở cấp bộ, ngành",
        "params.p_innovation": "Hệ số đổi mới Bass p (mỗi lần có nhu cầu)",
        "params.q_imitation": "Hệ số bắt chước Bass q (mỗi lần có nhu cầu)",
        "params.beta_ministry": "Dịch chuyển độ thỏa dụng, cấp bộ, ngành",
        "params.supply_volume_exponent": "Số mũ khối lượng cung ứng",
        "params.backoffice_hi_localities": "Trần xử lý hồ sơ của địa phương (tỷ lệ)",
        "drivers.officials_trained.mid_year": "Năm một nửa cán bộ được đào tạo",
    },
}


def _t(key: str, lang: str) -> str:
    return unicodedata.normalize("NFC", TEXT[lang].get(key, key))


def _pct(x: float, lang: str) -> str:
    s = f"{100 * x:.0f} %"
    return s if lang == "en" else s.replace(".", ",")


def _period(period: str, lang: str) -> str:
    """``2024-01..2024-06`` as ``2024 Jan-Jun`` (en) or ``1-6/2024`` (vi); a whole year as ``2024``."""
    start, end = period.split("..")
    y0, m0 = start.split("-")
    y1, m1 = end.split("-")
    if m0 == "01" and m1 == "12" and y0 == y1:
        return y0
    return f"{int(m0)}-{int(m1)}/{y1}" if lang == "vi" else f"{y1} {MONTHS_EN[int(m0) - 1]}-{MONTHS_EN[int(m1) - 1]}"


def _fitted(meta: dict, lang: str, last: str | None = None) -> str:
    """What the calibration fitted, for the footer: up to ``until``, or all (to ``last``)."""
    if meta.get("until"):
        return _t("until", lang).format(until=month(meta["until"], lang))
    last = last or meta.get("last")
    return _t("all", lang).format(last=month(last, lang)) if last else _t("all_plain", lang)


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k) between ``exp(lo)`` and ``exp(hi)``; the two ends if
    fewer than two fall inside."""
    a, b = math.exp(lo), math.exp(hi)
    ticks = [m * 10.0**e for e in range(math.floor(math.log10(a)) - 1, math.ceil(math.log10(b)) + 1) for m in (1, 2, 5)]
    inside = [t for t in ticks if a * (1 - 1e-9) <= t <= b * (1 + 1e-9)]
    if len(inside) > 4:
        inside = [t for t in inside if abs(math.log10(t) - round(math.log10(t))) < 1e-9] or inside  # powers of 10
    return inside if len(inside) >= 2 else [a, b]


def predictive_chart(table: pd.DataFrame, meta: dict, lang: str = "en") -> Figure:
    """One row per published figure: model 90 % range and median, the figure with its error bar.

    Args:
        table: ``fit.csv`` (:func:`sim.calibration.report.fit_table`).
        meta: ``tag``, ``n_sims``, ``until``.
    """
    with style():
        n = len(table)
        fig = Figure(figsize=(8.5, 0.42 * n + 1.8))
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        for yi, r in zip(y, table.itertuples(), strict=True):
            ax.plot([r.pred_q05, r.pred_q95], [yi, yi], color="#9ecae1", lw=7, solid_capstyle="butt", zorder=1)
            ax.plot([r.model_q05, r.model_q95], [yi, yi], color=COLORS["ministries"], lw=3, zorder=2)
            ax.plot(r.model_median, yi, "o", color=COLORS["ministries"], ms=6, zorder=3)
            z = math.log(r.observed / (1 - r.observed))
            lo, hi = (1 / (1 + math.exp(-(z + k * 1.96 * r.sd_logit))) for k in (-1, 1))
            held = r.use == "held out"
            ax.errorbar(
                r.observed, yi + 0.22, xerr=[[r.observed - lo], [hi - r.observed]], fmt="D",
                mfc="white" if held else COLORS["observed"], mec=COLORS["observed"], ecolor=COLORS["observed"],
                ms=5, capsize=2, lw=1, zorder=4,
            )  # fmt: skip
        labels = [
            f"{_t(r.target, lang)}, {_period(r.period, lang)}"
            + (f" ({_t('held', lang)})" if r.use == "held out" else "")
            for r in table.itertuples()
        ]
        ax.set_yticks(y, labels)
        ax.set_xlim(0, min(1.0, max(table.pred_q95.max(), table.observed.max()) * 1.15 + 0.02))
        ax.xaxis.set_major_formatter(lambda v, _: _pct(v, lang))
        ax.set_xlabel(_t("share", lang))
        fig.suptitle(_t("title_pred", lang), x=0.01, y=0.88 + 0.75 / (0.42 * n + 1.8), ha="left", fontweight="bold")
        handles = [
            ax.plot([], [], "D", color=COLORS["observed"], label=_t("observed", lang))[0],
            ax.plot([], [], "-o", color=COLORS["ministries"], lw=3, label=_t("model", lang))[0],
            ax.plot([], [], "-", color="#9ecae1", lw=7, label=_t("pred", lang))[0],
        ]
        if (table.use == "held out").any():
            handles.append(ax.plot([], [], "D", mfc="white", mec=COLORS["observed"], label=_t("held_legend", lang))[0])
        ax.legend(handles=row_major(handles, 2), loc="lower left", bbox_to_anchor=(-0.02, 1.0), ncol=2, frameon=False)
        last = max(str(p).split("..")[1] for p in table.period)
        until = _fitted(meta, lang, last)
        fig.text(0.01, -0.01, _t("foot", lang).format(n=meta["n_sims"], until=until, tag=meta["tag"]), fontsize=8)
        return fig


def marginals_chart(
    priors, values: np.ndarray, weights: np.ndarray, ident: pd.DataFrame, meta: dict, lang="en"
) -> Figure:
    """A panel per calibrated key: prior (flat on its sampling scale) vs weighted posterior histogram."""
    with style():
        k = len(priors)
        cols = 4
        rows = math.ceil(k / cols)
        fig = Figure(figsize=(3.0 * cols, 2.3 * rows + 0.8))
        w = weights / weights.sum()
        for i, p in enumerate(priors):
            ax = fig.add_subplot(rows, cols, i + 1)
            lo, hi = to_abc_space(p, p.lower), to_abc_space(p, p.upper)
            z = to_abc_space(p, values[:, i])
            ax.axhspan(0, 1.0 / (hi - lo), color="#bdbdbd", alpha=0.6)
            ax.hist(z, bins=20, range=(lo, hi), weights=w, density=True, color=COLORS["ministries"], alpha=0.8)
            ax.set_xlim(lo, hi)
            if p.dist == "loguniform":  # the axis is log(value): ticks at round values
                ticks = _log_ticks(lo, hi)
                ax.set_xticks([math.log(t) for t in ticks], [f"{t:.3g}" for t in ticks])
            row = ident.loc[ident.key == p.key].iloc[0]
            verdict = _t(row["identifiability"], lang)
            bound = row.get("against_bound", "")  # empty (NaN when read back from the CSV): none
            if isinstance(bound, str) and bound:  # the range, an assumption, shapes this posterior
                verdict += f",\n{_t(bound, lang)}"
            name = _t(p.key, lang) if p.key in TEXT[lang] else p.key.split(".", 1)[1]
            ax.set_title(f"{name}\n{p.key.split('.', 1)[1]}: {verdict}", fontsize=8.5)
            ax.set_yticks([])
            if i % cols == 0:
                ax.set_ylabel(_t("density", lang), fontsize=8)
            ax.grid(False)
        fig.suptitle(_t("title_marg", lang), x=0.01, ha="left", fontweight="bold")
        until = _fitted(meta, lang)
        fig.text(0.01, -0.01, _t("foot", lang).format(n=meta["n_sims"], until=until, tag=meta["tag"]), fontsize=8)
        fig.tight_layout()
        return fig
