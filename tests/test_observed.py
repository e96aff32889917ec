"""The observed-data package: contents that matter, and clear errors for every kind of damage."""

from __future__ import annotations

import json
import shutil
import unicodedata

import pandas as pd
import pytest

from sim.observed import SEEDS_DIR, ObservedDataError, load_observed


def test_shipped_package_loads_with_the_published_figures(observed):
    prov = observed.provinces
    assert len(prov) == 63 and prov.index.str.fullmatch(r"\d{2}").all()
    assert int(prov["pop_census2019"].sum()) == 96_208_984  # 2019 Census national total
    t = observed.targets.set_index("target_id")
    assert t.loc["full_online_ministries_2025", "threshold"] == 0.85
    assert t.loc["full_online_localities_2025", "threshold"] == 0.70
    assert t.loc["full_online_localities_2025", "deadline"] == "2025-12"
    cit = observed.observation_series("share_citizens_using_ops", "national")
    assert list(cit["share"]) == [0.0178, 0.0951, 0.18]
    assert list(zip(cit.period_start, cit.period_end, strict=True)) == [
        ("2020-01", "2020-12"), ("2021-01", "2021-12"), ("2022-01", "2022-07")]
    hcmc = observed.observation_series("share_citizens_using_ops", "79")
    assert list(hcmc["share"]) == [0.32, 0.41, 0.56]
    full = observed.observation_series("share_dossiers_full_online")
    assert set(full.series) >= {"ems_full_online"}
    got = {(r.scope, r.period_end): r.share for r in full[full.series == "ems_full_online"].itertuples()}
    assert got[("ministries", "2023-12")] == 0.38 and got[("localities", "2024-06")] == 0.17
    assert got[("national", "2024-06")] == 0.42 and got[("localities", "2024-08")] == 0.17


def test_self_reported_and_monitored_series_are_kept_apart(observed):
    obs = observed.observations
    old = obs[obs.indicator == "share_dossiers_online_selfreported"]
    assert len(old) >= 4 and set(old.series) == {"mic_online_selfreported"}
    assert not (obs[obs.indicator == "share_dossiers_full_online"].series == "mic_online_selfreported").any()
    assert (obs.period_end <= "2024-08").all()  # outcome cut-off


def test_every_source_resolves_and_names_are_nfc(observed):
    known = set(observed.sources.source_id)
    for name, table in observed.tables.items():
        if "source_id" in table:
            assert table.source_id.isin(known).all(), name
    for name in observed.provinces.name_vi:
        assert unicodedata.normalize("NFC", name) == name


def test_crosswalk_maps_63_to_34_by_code(observed):
    m = observed.merger
    assert m.old_gso_code.nunique() == 63 and m.new_code_2025.nunique() == 34
    assert set(m.new_code_2025) == set(observed.provinces_2025.index)
    assert m.set_index("old_gso_code").loc["79", "new_code_2025"] == "79"  # HCMC keeps its code


def test_hashes_cover_every_file(observed):
    assert {"datapackage.json", "provinces.csv", "observations.csv", "geo/vn63_provinces.geojson"} <= set(observed.hashes)
    assert all(len(h) == 64 for h in observed.hashes.values())


def _break(tmp_path, how):
    root = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, root)
    how(root)
    return root


def _edit_csv(root, name, fn):
    df = pd.read_csv(root / name, dtype=str, keep_default_na=False)
    fn(df).to_csv(root / name, index=False)


CASES = {
    "missing file": (lambda r: (r / "targets.csv").unlink(), "targets.csv"),
    "missing descriptor": (lambda r: (r / "datapackage.json").unlink(), "datapackage.json"),
    "malformed json": (lambda r: (r / "datapackage.json").write_text("{not json"), "datapackage.json"),
    "dropped column": (lambda r: _edit_csv(r, "provinces.csv", lambda d: d.drop(columns=["urban_share_2019"])), "urban_share_2019"),
    "out of range": (lambda r: _edit_csv(r, "provinces.csv", lambda d: d.assign(urban_share_2019=d.urban_share_2019.where(d.index != 5, "1.3"))), "urban_share_2019"),
    "not a number": (lambda r: _edit_csv(r, "provinces.csv", lambda d: d.assign(pop_census2019=d.pop_census2019.where(d.index != 3, "many"))), "pop_census2019"),
    "bad source": (lambda r: _edit_csv(r, "observations.csv", lambda d: d.assign(source_id=d.source_id.where(d.index != 0, "nowhere"))), "source_id"),
    "duplicate key": (lambda r: _edit_csv(r, "provinces.csv", lambda d: pd.concat([d, d.iloc[[0]]])), "provinces.csv"),
    "wrong code": (lambda r: _edit_csv(r, "province_merger_2025.csv", lambda d: d.assign(new_code_2025=d.new_code_2025.where(d.index != 0, "99"))), "province_merger_2025.csv"),
    "bad month": (lambda r: _edit_csv(r, "observations.csv", lambda d: d.assign(period_end=d.period_end.where(d.index != 2, "2021-13"))), "period_end"),
    "start after end": (lambda r: _edit_csv(r, "observations.csv", lambda d: d.assign(period_start=d.period_start.where(d.index != 2, "2030-01"))), "period_start"),
    "empty required": (lambda r: _edit_csv(r, "targets.csv", lambda d: d.assign(threshold=d.threshold.where(d.index != 1, ""))), "threshold"),
    "not utf8": (lambda r: (r / "sources.csv").write_bytes(b"source_id,citation\n\xff\xfe,x\n"), "sources.csv"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_package_fails_with_one_line_naming_the_file(tmp_path, case):
    how, needle = CASES[case]
    root = _break(tmp_path, how)
    with pytest.raises(ObservedDataError) as err:
        load_observed(root)
    msg = str(err.value)
    assert "\n" not in msg and needle in msg, msg


def test_descriptor_lists_every_csv():
    listed = {r["path"] for r in json.loads((SEEDS_DIR / "datapackage.json").read_text())["resources"]}
    on_disk = {p.name for p in SEEDS_DIR.glob("*.csv")}
    assert on_disk <= listed
