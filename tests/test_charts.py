"""Charts: every figure renders in both languages, and Vietnamese text has all its glyphs."""

from __future__ import annotations

import io
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
