"""Notebooks run top to bottom on a tiny population, so they never rot; committed without outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
DATA_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_data.ipynb"
# appended to a notebook before it runs: prints, as JSON, what the notebook computed
READ_BACK = {
    "02_data.ipynb": """
print(json.dumps({
    "lang": LANG,
    "text_keys_match": set(TEXT["en"]) == set(TEXT["vi"]),
    "text_nfc": all(unicodedata.is_normalized("NFC", t) for d in TEXT.values() for t in d.values()),
    "obs_ids": sorted(catalogue.obs_id),
    "series": [list(k) for k in series_index.index],
    "implied": {p: [r.implied_ministry_volume, r.lowest, r.highest] for p, r in implied.iterrows()},
    "crosswalk_total": int(crosswalk.pop_census2019.sum()),
}))
"""
}
_EXECUTED: dict[Path, nbformat.NotebookNode] = {}


def execute(path: Path, monkeypatch) -> nbformat.NotebookNode:
    """Run a notebook once per session (tiny population; the data notebook draws its charts in
    Vietnamese) with its read-back cell appended; later calls reuse the executed notebook."""
    if path not in _EXECUTED:
        monkeypatch.setenv("SIM_NB_OVERRIDES", "population=tiny ensemble.n_reps=1 ensemble.n_draws=2 ensemble.n_jobs=1")
        monkeypatch.setenv("SIM_NB_LANG", "vi")
        monkeypatch.setenv("MPLBACKEND", "Agg")
        nb = nbformat.read(path, as_version=4)
        if path.name in READ_BACK:
            nb.cells.append(nbformat.v4.new_code_cell(READ_BACK[path.name]))
        client = NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        )
        client.execute()
        _EXECUTED[path] = nb
    return _EXECUTED[path]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    nb = execute(path, monkeypatch)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    assert os.path.getsize(path) < 50_000


def test_data_notebook_figures_come_from_seeds(observed, monkeypatch):
    """The data notebook (charts in Vietnamese; both languages have the same NFC chart texts) lists every
    observation once and derives the tier shares exactly as recomputed here from seeds/observations.csv."""
    nb = execute(DATA_NOTEBOOK, monkeypatch)
    out = json.loads("".join(o["text"] for o in nb.cells[-1].outputs if o.get("name") == "stdout"))
    assert out["lang"] == "vi" and out["text_keys_match"] and out["text_nfc"]
    obs = observed.observations
    assert out["obs_ids"] == sorted(obs.obs_id)  # every published figure, each once
    groups = obs.groupby(["kind", "indicator", "series"]).size()
    assert sorted(map(tuple, out["series"])) == sorted(groups.index)
    emc = obs[(obs.indicator == "share_dossiers_full_online") & (obs.series == "ems_full_online")]
    for period in ("2023-01..2023-12", "2024-01..2024-06"):
        start, end = period.split("..")
        v = emc[(emc.period_start == start) & (emc.period_end == end)].set_index("scope").share
        w = (v.national - v.localities) / (v.ministries - v.localities)
        # exact arithmetic on the published values; rounding each rate by up to half a point moves w by
        # at most 2 half-points over (M - L)
        spread = 0.01 / (v.ministries - v.localities)
        assert out["implied"][period] == pytest.approx([w, w - spread, w + spread], abs=1e-12)
    assert out["implied"]["2023-01..2023-12"][2] < out["implied"]["2024-01..2024-06"][1]
    assert out["crosswalk_total"] == int(observed.provinces.pop_census2019.sum())
