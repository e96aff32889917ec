"""Chart style as a context manager (no global rcParams or backend change at import).

Charts are built on ``matplotlib.figure.Figure`` directly, so they need no pyplot backend and
notebooks keep their own.
"""

from __future__ import annotations

from contextlib import contextmanager

import matplotlib

STYLE = {
    "font.family": "DejaVu Sans",  # covers every Vietnamese letter; STIX drops stacked accents
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
    "savefig.bbox": "tight",
}
COLORS = {
    "ministries": "#1f5fa8",
    "localities": "#c2571a",
    "national": "#2e7d32",
    "observed": "#111111",
    "target": "#b71c1c",
    "band": 0.18,
}


@contextmanager
def style():
    """Apply the project's chart style inside a ``with`` block."""
    with matplotlib.rc_context(STYLE):
        yield
