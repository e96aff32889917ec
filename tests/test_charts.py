"""Charts: every figure renders in both languages, and Vietnamese text has all its glyphs."""

from __future__ import annotations

import io
import unicodedata
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager

from sim.reporting import charts
from sim.reporting.labels import LABELS
from sim.reporting.style import STYLE


@pytest.fixture(scope="module")
def summary(observed):
    dates = [f"{y}-{m:02d}" for y in range(2017, 2031) for m in range(1, 13)]
    rows = []
    scopes = ["ministries", "localities", "national", *observed.provinces.index]
    for ind in ("share_dossiers_full_online", "share_dossiers_full_online_ytd", "share_citizens_using_ops"):
        for scope in scopes:
            v = np.linspace(0, 0.7, len(dates))
            rows.append(
                pd.DataFrame(
                    {
                        "scenario": "s",
                        "indicator": ind,
                        "scope": scope,
                        "date": dates,
                        "mean": v,
                        "q05": v * 0.9,
                        "q25": v * 0.95,
                        "q50": v,
                        "q75": v * 1.02,
                        "q95": v * 1.05,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_style_font_has_every_vietnamese_glyph():
    font = font_manager.findfont(STYLE["font.family"], fallback_to_default=False)
    assert "DejaVuSans" in font.replace(" ", "")
    from matplotlib.ft2font import FT2Font

    face = FT2Font(font)
    charmap = face.get_charmap()
    text = "".join(v for v in LABELS["vi"].values())
    missing = {ch for ch in text if ch.strip() and ord(ch) not in charmap}
    assert not missing


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_every_chart_renders_without_missing_glyphs(summary, observed, lang):
    meta = {"scenario": "baseline", "n_runs": 2, "n_draws": 0, "scale": "100"}
    figs = [
        charts.targets_chart(summary, observed.observations, observed.targets, meta, lang),
        charts.usage_chart(summary, observed.observations, observed.targets, meta, lang),
        charts.province_ranking_chart(summary, observed.provinces, meta, lang),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in figs:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=60, bbox_inches="tight")
            assert buf.tell() > 5_000
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_target_is_named_on_its_line_on_the_side_the_curves_leave_free(summary, observed):
    """Targets are labelled next to their dashed line, one grey legend sits below the panels, and the
    label goes below the line where the curve runs just above it (the usage chart's 2030 target)."""
    meta = {"scenario": "lever_fees", "scenario_label": {"en": "Online fees halved"}, "n_runs": 2, "scale": 100}
    fig = charts.targets_chart(summary, observed.observations, observed.targets, meta, "en")
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names == ["90 % range", "50 % range", "Model median", "Observed"]
    assert any(t.get_text() == "Target 85 % (2025)" for t in fig.axes[0].texts)
    assert "Scenario: Online fees halved (lever_fees)." in " ".join(t.get_text() for t in fig.texts)
    flat = summary.copy()
    flat["q50"] = np.where(flat["date"] >= "2026-01", 0.74, flat["q50"])  # just above a 70 % line
    fig = charts.usage_chart(flat, observed.observations, observed.targets, meta, "en")
    side = {t.get_text(): t.get_position()[1] for t in fig.axes[0].texts if t.get_text().startswith("Target")}
    late = [k for k in side if k.endswith("(2030)")]
    assert late and side[late[0]] < 0  # offset below the line
    assert all(v > 0 for k, v in side.items() if k not in late)


def test_formats_follow_each_language():
    from sim.reporting import formats as f

    assert f.percent(0.705, "vi", 1) == "70,5 %" and f.percent(0.705, "en", 1) == "70.5 %"
    assert f.number(1234.5, "vi", 1) == "1.234,5" and f.number(1234.5, "en", 1) == "1,234.5"
    assert f.integer(1234567, "vi") == "1.234.567" and f.integer(1234567, "en") == "1,234,567"
    assert f.money_vnd(1.234e12, "vi") == "1.234 tỷ đồng" and f.money_vnd(1.234e12, "en") == "VND 1,234 billion"
    assert f.money_vnd(1.234e12, "vi", 1, unit="trillion") == "1,2 nghìn tỷ đồng"
    assert f.money_vnd(2.5e12, "en", 1, unit="trillion") == "VND 2.5 trillion"
    assert f.month("2025-12", "vi") == "12/2025" and f.month("2025-12", "vi", long=True) == "tháng 12/2025"
    assert f.month("2025-07", "en") == "Jul 2025"
    assert f.points(3.21, "vi") == "+3,2 điểm %" and f.points(-1.25, "en", 2) == "−1.25 pp"
    assert f.percent(float("nan"), "vi") == "–"
    for text in (f.month("2025-12", "vi", long=True), f.money_vnd(5e12, "vi")):
        assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize("bad", [("month", "2025-13"), ("month", "2025/12"), ("lang", "fr"), ("unit", "million")])
def test_formats_reject_bad_input_with_one_line(bad):
    from sim.errors import SimInputError
    from sim.reporting import formats as f

    with pytest.raises(SimInputError) as err:
        {"month": lambda: f.month(bad[1], "vi"), "lang": lambda: f.percent(0.5, bad[1])}.get(
            bad[0], lambda: f.money_vnd(1e9, "vi", unit=bad[1])
        )()
    assert "\n" not in str(err.value) and "allowed" in str(err.value)


def test_labels_exist_in_both_languages_and_are_nfc():
    assert set(LABELS["en"]) == set(LABELS["vi"])
    assert all(unicodedata.is_normalized("NFC", v) for v in LABELS["vi"].values())


def test_merged_outline_drops_only_edges_inside_a_group():
    from sim.reporting.maps import outline_segments

    left = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], float)
    right = left + [1, 0]  # shares the edge x = 1 with left
    rings = {"a": [left], "b": [right]}
    assert len(outline_segments(rings, {"a": "a", "b": "b"})) == 7  # 8 edges, the shared one once
    assert len(outline_segments(rings, {"a": "g", "b": "g"})) == 6  # merged: the shared edge is gone


def test_every_map_polygon_belongs_to_a_province_and_the_attribution_is_the_licence_text(observed):
    from sim.reporting.maps import attribution, boundaries

    assert set(boundaries()) == set(observed.provinces.index)
    assert "Open Development Mekong" in attribution("en") and "CC BY-SA 4.0" in attribution("vi")


@pytest.fixture(scope="module")
def briefing_tables(summary, observed):
    """Stage shares added to the synthetic summary, and a two-scenario comparison table."""
    from sim.results import P34_PREFIX, STAGES

    scopes = [*observed.provinces.index, *(P34_PREFIX + c for c in observed.provinces_2025.index)]
    rows = []
    for i, scope in enumerate(scopes):
        full = 0.2 + 0.6 * i / len(scopes)
        shares = {"full_online_ytd": full, **{f"stage_{s}_ytd": (1 - full) / 6 for s in STAGES[1:]}}
        for name, v in shares.items():
            rows.append(("s", f"share_dossiers_{name}", scope, "2025-12", v, v, v, v, v, v))
    extra = pd.DataFrame(rows, columns=summary.columns)
    full = pd.concat([summary[summary.scope.isin(["ministries", "localities", "national"])], extra])
    comp = pd.DataFrame(
        [
            (s, scope, "2025-12", th, m + g, p, max(p - 0.2, 0), min(p + 0.2, 1), 100 * g, c)
            for s, g, p, c in (("baseline", 0.0, 0.1, 0.0), ("fees", 0.04, 0.5, 2.4e12))
            for scope, th, m in (("ministries", 0.85, 0.6), ("localities", 0.7, 0.45), ("national", 0.8, 0.5))
        ],
        columns=["scenario", "scope", "deadline", "threshold", "median_share", "p_met", "p_met_lo", "p_met_hi"]
        + ["gain_pp", "cost_vnd_central"],
    )
    return full, comp


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_briefing_charts_render_in_both_languages(briefing_tables, summary, observed, lang):
    from sim.reporting import briefing

    full, comp = briefing_tables
    meta = {"scenario": "baseline", "n_runs": 2, "n_draws": 0, "scale": 20000.0}
    figs = briefing.province_figures(full, observed, meta, lang, "2025-12", 0.7)
    assert set(figs) == {"map_provinces63", "map_provinces34", "bottlenecks_provinces63", "bottlenecks_provinces34"}
    fan = summary[summary.indicator == "share_dossiers_full_online"]
    fan = pd.concat([fan.assign(scenario="baseline"), fan.assign(scenario="fees", q50=fan.q50 + 0.05)])
    targets = comp.drop_duplicates("scope")[["scope", "threshold", "deadline"]]
    figs["fan"] = briefing.scenario_fan_chart(fan, targets, ["baseline", "fees"], lang)
    figs["comparison"] = briefing.comparison_chart(comp, "baseline", lang)
    band_word = "Bands" if lang == "en" else "Dải:"  # charts without bands do not describe bands
    for name in ("bottlenecks_provinces63", "map_provinces63"):
        notes = [t.get_text() for t in figs[name].findobj(lambda a: hasattr(a, "get_text"))]
        assert any("1 " in t and ("agent" in t or "tác tử" in t) for t in notes)
        assert not any(band_word in t for t in notes), name
    shown = [t.get_text() for t in figs["comparison"].axes[0].texts]  # each probability as a number
    assert len(shown) == comp["p_met"].notna().sum() and all(t.endswith("%") for t in shown)
    texts = [t.get_text() for fig in figs.values() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    attributions = [t for t in texts if "Open Development Mekong" in t]
    assert len(attributions) == 2  # one on each map
    assert any(("20.000" if lang == "vi" else "20,000") in t for t in texts)  # scale in the language's format
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in figs.values():
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=50, bbox_inches="tight")
            assert buf.tell() > 5_000
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_legends_read_row_by_row():
    """A legend over several columns lists its entries left to right, then on the next row
    (matplotlib fills columns first): 7 entries in rows of 5 read 1-5 on the first row, 6-7 below."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3))
    ax = fig.add_subplot()
    names = [f"entry {i}" for i in range(1, 8)]
    for i, name in enumerate(names):
        ax.plot([0, 1], [i, i], label=name)
    assert charts.figure_legend(fig, ax, per_row=5, grey=False) == 2
    fig.draw_without_rendering()
    boxes = [(t.get_window_extent(), t.get_text()) for t in fig.legends[0].get_texts()]
    rows = sorted({round(b.y0) for b, _ in boxes}, reverse=True)
    assert len(rows) == 2
    shown = [name for row in rows for _, name in sorted((b.x0, n) for b, n in boxes if round(b.y0) == row)]
    assert shown == names
    assert charts.row_major(list("abcdefg"), 3) == list("adgbecf")


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_the_ranking_explains_its_bars_and_shows_only_what_it_draws(summary, observed, lang):
    from sim.reporting.labels import label

    meta = {"scenario": "s", "n_runs": 4, "n_draws": 2, "scale": 100}
    fig = charts.province_ranking_chart(summary, observed.provinces, meta, lang)
    note = fig.texts[-1].get_text()
    assert label("note_ranking", lang, year="2025", draws=label("draws", lang)) in note
    assert label("note_obs", lang) not in note  # no observed figures on this chart
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 7  # six regions and the target line, under the axis
    two = summary[summary.scope.isin(["02", "04"])]  # a run of two provinces of one region
    small = charts.province_ranking_chart(two, observed.provinces, meta, lang)
    assert [t.get_text() for t in small.legends[0].get_texts()][1:] == [f"{label('target', lang)} 70 %"]
    assert small.get_figheight() < fig.get_figheight() / 2


def test_notes_keep_a_number_with_its_percent_sign_and_ticks_drop_needless_decimals():
    from sim.reporting.briefing import tick_number
    from sim.reporting.labels import label

    for lang in ("en", "vi"):
        assert "90\u00a0%" in label("note_compare_fan", lang) and " 90 %" not in label("note_compare_fan", lang)
        assert "90 %" in label("band90", lang)  # short legend labels do not wrap: unchanged
    assert [tick_number(v, "en") for v in (0.0, 10.0, 0.5, 0.25, 1.2)] == ["0", "10", "0.5", "0.25", "1.2"]
    assert tick_number(2.5, "vi") == "2,5"


def test_a_run_of_some_provinces_is_not_drawn_against_the_national_figures(summary, observed):
    from sim.reporting.labels import label

    meta = {"scenario": "s", "n_runs": 4, "n_draws": 0, "scale": 100, "provinces": ("02", "04")}
    obs, tg = observed.observations, observed.targets
    for lang in ("en", "vi"):
        fig = charts.targets_chart(summary, obs, tg, meta, lang)
        assert [ax.get_title() for ax in fig.axes[:3]][2] == label("selection", lang, n=2)
        assert all(not ax.containers for ax in fig.axes[:3])  # no observed error bars
        assert label("note_selection", lang, n=2, codes="02, 04") in fig.texts[-1].get_text()
        usage = charts.usage_chart(summary, obs, tg, meta, lang)
        assert len(usage.axes) == 1  # Ho Chi Minh City (79) is not simulated
    whole = charts.targets_chart(summary, obs, tg, {**meta, "provinces": ()}, "en")
    assert (
        all(ax.containers for ax in whole.axes[:3])
        and len(charts.usage_chart(summary, obs, tg, meta | {"provinces": ()}, "en").axes) == 2
    )
