"""Province choropleths from ``seeds/geo/vn63_provinces.geojson`` (63 provinces) and, grouped by the
2025 crosswalk, the 34 provinces from July 2025. Plain matplotlib patches, no GIS dependency.

Every map carries the boundary attribution from ``seeds/geo/LICENSE.md`` (Open Development Mekong,
CC BY-SA 4.0). The 34-province map fills each old polygon with its new province's value and draws
only the edges that are not shared by two old provinces of the same new province, so merged
provinces show as one shape.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.errors import SimInputError
from sim.reporting.charts import run_note
from sim.reporting.formats import percent
from sim.reporting.labels import label
from sim.reporting.style import style

GEO_DIR = Path(__file__).resolve().parents[2] / "seeds" / "geo"
MID_LAT = 16.0  # degrees N, middle of the mainland: x is scaled by cos(MID_LAT) (equirectangular view)


@functools.lru_cache(maxsize=2)
def boundaries(path: str | None = None) -> dict[str, list[np.ndarray]]:
    """Outer rings of every province, ``{2-digit GSO code: [ (n, 2) lon/lat arrays ]}``.

    Raises:
        SimInputError: missing file or a feature without ``gso_code``.
    """
    path = Path(path) if path else GEO_DIR / "vn63_provinces.geojson"
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
    except (OSError, ValueError, KeyError) as exc:
        raise SimInputError(f"{path}: not a readable GeoJSON FeatureCollection ({type(exc).__name__})") from None
    out: dict[str, list[np.ndarray]] = {}
    for i, feat in enumerate(features):
        code = (feat.get("properties") or {}).get("gso_code")
        if not code:
            raise SimInputError(f"{path}: feature {i} has no properties.gso_code")
        geom = feat["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        out.setdefault(str(code), []).extend(np.asarray(p[0], float) for p in polys)
    return out


@functools.lru_cache(maxsize=2)
def attribution(lang: str = "en") -> str:
    """The boundary attribution line from ``seeds/geo/LICENSE.md`` (kept on every map)."""
    text = (GEO_DIR / "LICENSE.md").read_text(encoding="utf-8")
    start = text.index("**Attribution:**") + len("**Attribution:**")
    line = " ".join(text[start:].split("\n\n")[0].split())
    line = line.split(" Dataset page:")[0].strip()
    return line.replace("Province boundaries:", "Ranh giới tỉnh (province boundaries):") if lang == "vi" else line


def outline_segments(rings: dict[str, list[np.ndarray]], group_of: dict[str, str]) -> np.ndarray:
    """Edges to draw, ``(n, 2, 2)``: every ring edge except those shared by two provinces of one group.

    Args:
        rings: outer rings by old province code (see :func:`boundaries`).
        group_of: old code -> group (itself for the 63-province map, the new code for 34).
    """
    owners: dict[tuple, list[str]] = {}
    for code, parts in rings.items():
        for ring in parts:
            for a, b in zip(ring[:-1], ring[1:], strict=True):
                key = (tuple(a), tuple(b)) if tuple(a) <= tuple(b) else (tuple(b), tuple(a))
                owners.setdefault(key, []).append(code)
    keep = []
    for key, codes in owners.items():
        groups = Counter(group_of.get(c, c) for c in codes)
        if len(codes) == 1 or len(groups) > 1:
            keep.append(key)
    return np.array(keep, float).reshape(-1, 2, 2)


def _project(xy: np.ndarray) -> np.ndarray:
    return np.column_stack([xy[..., 0].ravel() * math.cos(math.radians(MID_LAT)), xy[..., 1].ravel()]).reshape(xy.shape)


def choropleth_chart(
    values: pd.DataFrame,
    meta: dict,
    lang: str = "en",
    crosswalk: dict[str, str] | None = None,
    threshold: float | None = None,
    title: str = "",
    value_label: str = "",
) -> Figure:
    """Map of one value per province.

    Args:
        values: tidy table with columns ``scope`` (2-digit old codes, or ``p34:<code>`` when
            ``crosswalk`` is given) and ``value`` (a share in 0-1).
        meta: run facts for the footer (scenario, n_runs, scale).
        lang: ``en`` or ``vi``.
        crosswalk: old code -> new 2025 code; draws the 34-province map.
        threshold: target share; the colour scale diverges there (red below, green above).
        title: figure title (already in ``lang``).
        value_label: colour-bar label (already in ``lang``).

    Returns:
        The figure; provinces without a value are grey.
    """
    rings = boundaries()
    group_of = {c: ("p34:" + crosswalk[c]) if crosswalk else c for c in rings}
    value_of = dict(zip(values["scope"].astype(str), values["value"].astype(float), strict=True))
    centre = threshold if threshold is not None and 0 < threshold < 1 else 0.5
    norm, cmap = TwoSlopeNorm(vcenter=centre, vmin=0.0, vmax=1.0), colormaps["RdYlGn"]
    polys, colors = [], []
    for code, parts in rings.items():
        v = value_of.get(group_of[code], np.nan)
        for ring in parts:
            polys.append(_project(ring))
            colors.append("#cccccc" if np.isnan(v) else cmap(norm(v)))
    with style():
        fig = Figure(figsize=(7.5, 8.2))
        ax = fig.subplots()
        ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors=colors, linewidths=0.3))
        segs = _project(outline_segments(rings, group_of))
        ax.add_collection(LineCollection(segs, colors="#ffffff", linewidths=0.6 if crosswalk else 0.35))
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_axis_off()
        sm = ax.figure.colorbar(
            _scalar_mappable(norm, cmap),
            ax=ax,
            shrink=0.55,
            pad=0.02,
            format=FuncFormatter(lambda v, _: percent(v, lang)),
        )
        sm.set_label(value_label)
        if threshold is not None:
            sm.ax.axhline(threshold, color="#111111", lw=1.5)
            sm.ax.text(
                -0.15,
                threshold,
                f"{label('target', lang)} {percent(threshold, lang)}",
                ha="right",
                va="center",
                fontsize=8,
                transform=sm.ax.get_yaxis_transform(),
            )
        ax.set_title(title, fontweight="bold")
        note = run_note(meta, lang, bands=False)
        grey = label("map_grey", lang)
        scale = f"\n{label('map_scale', lang)}" if threshold is not None else ""
        ax.text(
            0.0,
            -0.01,
            f"{note}\n{grey}{scale}\n{attribution(lang)}",
            fontsize=6.8,
            color="#444",
            va="top",
            transform=ax.transAxes,
        )
        return fig


def _scalar_mappable(norm, cmap):
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=norm, cmap=cmap)
    sm.set_array([])
    return sm
