"""The observed-data package seeds/: the figures that matter, and one-line errors for every kind of damage."""

from __future__ import annotations

import json
import shutil
import unicodedata

import pandas as pd
import pytest

from sim.observed import SEEDS_DIR, ObservedData, ObservedDataError, load_observed


@pytest.fixture(scope="module")
def data() -> ObservedData:
    return load_observed()


def test_shipped_package_loads_typed(data):
    assert data.root == SEEDS_DIR
    prov = data.provinces
    assert len(prov) == 63 and prov.index.is_monotonic_increasing
    assert prov.index.str.fullmatch(r"\d{2}").all() and prov.index[0] == "01" and prov.index[-1] == "96"
    assert prov["is_land_border"].dtype == bool and prov["pop_census2019"].dtype == "int64"
    assert str(prov["n_em_communes_region3_qd861"].dtype) == "Int64"  # optional integer: nullable
    assert prov["new_code_2025"].str.fullmatch(r"\d{2}").all()
    assert prov["urban_share_2019"].between(0, 1).all() and prov["ethnic_minority_share"].between(0, 1).all()
    assert set(data.tables) >= {
        "sources",
        "provinces",
        "province_electricity",
        "province_papi_egov",
        "province_population",
        "province_highland_island",
        "province_egov_index_points",
        "provinces_2025",
        "province_merger_2025",
        "observations",
        "targets",
        "lever_costs",
    }


def test_census_population_sums_to_the_published_total(data):
    assert int(data.provinces["pop_census2019"].sum()) == 96_208_984
    assert data.provinces.loc["79", "name_vi"] == "Hồ Chí Minh"


def test_modelled_targets(data):
    t = data.targets.set_index("target_id")
    modelled = t[t["modelled"]]
    assert set(modelled["indicator"]) == {"share_dossiers_full_online", "share_citizens_using_ops"}
    full = modelled[modelled["indicator"] == "share_dossiers_full_online"].set_index("scope")
    assert full.loc["ministries", "threshold"] == 0.85 and full.loc["ministries", "deadline"] == "2025-12"
    assert full.loc["localities", "threshold"] == 0.70 and full.loc["localities", "deadline"] == "2025-12"
    assert full.loc["national", "threshold"] == 0.80
    ops = modelled[modelled["indicator"] == "share_citizens_using_ops"].set_index("deadline")
    assert ops.loc["2025-12", "threshold"] == 0.40 and ops.loc["2030-12", "threshold"] == 0.70
    assert not t.loc["local_it_budget_min_1pct", "modelled"]


def test_national_citizens_using_ops(data):
    cit = data.observation_series("share_citizens_using_ops", "national")
    assert list(cit["share"]) == [0.0178, 0.0951, 0.18]
    assert list(zip(cit["period_start"], cit["period_end"], strict=True)) == [
        ("2020-01", "2020-12"),
        ("2021-01", "2021-12"),
        ("2022-01", "2022-07"),
    ]
    assert cit["caveat"].str.contains("denominator not stated").all()
    hcmc = data.observation_series("share_citizens_using_ops", "79")
    assert list(hcmc["share"]) == [0.32, 0.41, 0.56] and hcmc["caveat"].str.contains("definition not given").all()


def test_monitored_and_self_reported_dossier_series_are_different_indicators(data):
    obs = data.observations
    ems = obs[obs["indicator"] == "share_dossiers_full_online"]
    old = obs[obs["indicator"] == "share_dossiers_online_selfreported"]
    assert set(ems["series"]) == {"ems_full_online"} and set(old["series"]) == {"mic_online_selfreported"}
    assert sorted(old["share"]) == [0.298, 0.4, 0.432, 0.548]
    got = {(r.scope, r.period_start, r.period_end): r.share for r in ems.itertuples()}
    assert got[("ministries", "2023-01", "2023-12")] == 0.38 and got[("localities", "2023-01", "2023-12")] == 0.09
    assert got[("national", "2024-01", "2024-06")] == 0.42 and got[("localities", "2024-01", "2024-08")] == 0.17
    assert set(ems[ems["period_end"] == "2024-08"]["source_id"]) == {
        "seed-000-gdtd-2024-08-31",
        "seed-001-conference-2024-08-31",
    }
    assert (obs["period_start"] <= obs["period_end"]).all() and (obs["period_end"] <= "2024-08").all()  # cut-off
    series = data.observation_series("share_dossiers_full_online", "localities")
    assert series["period_end"].is_monotonic_increasing


def test_merger_maps_63_to_34(data):
    m = data.merger
    assert len(m) == 63 and m["old_gso_code"].is_unique and m["new_code_2025"].nunique() == 34
    assert set(m["new_code_2025"]) == set(data.provinces_2025.index) and len(data.provinces_2025) == 34
    assert data.provinces_2025["n_old_provinces"].sum() == 63
    assert dict(zip(m["old_gso_code"], m["new_code_2025"], strict=True))["74"] == "79"  # Bình Dương -> HCMC


def test_every_source_resolves_and_text_is_nfc(data):
    known = set(data.sources["source_id"])
    assert data.sources["source_id"].is_unique
    for name, table in data.tables.items():
        if name != "sources":
            assert table["source_id"].isin(known).all(), name
    for names in (
        data.provinces["name_vi"],
        data.provinces["name_vi_full"],
        data.provinces_2025["name_vi"],
        data.tables["province_highland_island"]["name_vi"],
    ):
        assert all(unicodedata.normalize("NFC", s) == s for s in names)
    for path in SEEDS_DIR.rglob("*"):
        if path.suffix in {".csv", ".md", ".json"}:
            text = path.read_text(encoding="utf-8")
            assert unicodedata.normalize("NFC", text) == text, path


def test_lever_costs_keep_post_cutoff_and_comparator_flags(data):
    lc = data.tables["lever_costs"]
    assert len(lc) == 85 and lc["comparator"].dtype == bool and lc["comparator"].sum() > 0
    assert lc["reliability"].str.startswith("POST-CUTOFF").sum() > 0


def test_hashes_cover_every_listed_file(data):
    listed = {r["path"] for r in json.loads((SEEDS_DIR / "datapackage.json").read_text(encoding="utf-8"))["resources"]}
    assert set(data.hashes) == listed | {"datapackage.json"}
    assert all(len(h) == 64 for h in data.hashes.values())
    assert {p.name for p in SEEDS_DIR.glob("*.csv")} <= listed


def _edit(root, name, fn):
    df = pd.read_csv(root / name, dtype=str, keep_default_na=False)
    fn(df).to_csv(root / name, index=False)


def _set(column, row, value):
    return lambda d: d.assign(**{column: d[column].where(d.index != row, value)})


CASES = {  # name: (damage, texts the message must contain)
    "missing csv": (lambda r: (r / "targets.csv").unlink(), ["targets.csv", "not found"]),
    "missing geojson": (lambda r: (r / "geo" / "vn63_provinces.geojson").unlink(), ["geo/vn63_provinces.geojson"]),
    "missing descriptor": (  # no data package at all: the message names the key
        lambda r: (r / "datapackage.json").unlink(),
        ["observed_dir: ", "no datapackage.json in it", "seeds/datapackage.json: file not found"],
    ),
    "malformed json": (
        lambda r: (r / "datapackage.json").write_text("{not json", encoding="utf-8"),
        ["datapackage.json", "JSON"],
    ),
    "descriptor without resources": (
        lambda r: (r / "datapackage.json").write_text('{"name": "x"}', encoding="utf-8"),
        ["datapackage.json", "resources"],
    ),
    "dropped column": (
        lambda r: _edit(r, "provinces.csv", lambda d: d.drop(columns=["urban_share_2019"])),
        ["provinces.csv", "urban_share_2019"],
    ),
    "extra column": (
        lambda r: _edit(r, "observations.csv", lambda d: d.assign(extra="x")),
        ["observations.csv", "extra"],
    ),
    "out of range": (
        lambda r: _edit(r, "provinces.csv", _set("urban_share_2019", 13, "1.3")),
        ["provinces.csv", "urban_share_2019", "row 14", "gso_code 22", "1.3", "[0, 1]"],
    ),
    "not a number": (
        lambda r: _edit(r, "provinces.csv", _set("pop_census2019", 3, "many")),
        ["provinces.csv", "pop_census2019"],
    ),
    "not a boolean": (
        lambda r: _edit(r, "provinces.csv", _set("is_land_border", 0, "yes")),
        ["provinces.csv", "is_land_border"],
    ),
    "enum": (lambda r: _edit(r, "observations.csv", _set("kind", 0, "guess")), ["observations.csv", "kind", "outcome"]),
    "bad source_id": (
        lambda r: _edit(r, "observations.csv", _set("source_id", 0, "nowhere")),
        ["observations.csv", "source_id", "nowhere", "sources.csv"],
    ),
    "duplicate key": (
        lambda r: _edit(r, "provinces.csv", lambda d: pd.concat([d, d.iloc[[0]]])),
        ["provinces.csv", "gso_code"],
    ),
    "duplicate primary key": (
        lambda r: _edit(r, "province_electricity.csv", lambda d: pd.concat([d, d.iloc[[5]]])),
        ["province_electricity.csv", "primary key"],
    ),
    "wrong code in merger": (
        lambda r: _edit(r, "province_merger_2025.csv", _set("new_code_2025", 0, "99")),
        ["province_merger_2025.csv", "99"],
    ),
    "wrong province code": (
        lambda r: _edit(r, "provinces.csv", _set("gso_code", 2, "03")),
        ["provinces.csv", "gso_code"],
    ),
    "unknown code in a province table": (
        lambda r: _edit(r, "province_papi_egov.csv", _set("gso_code", 0, "03")),
        ["province_papi_egov.csv", "gso_code", "03"],
    ),
    "code not zero-padded": (
        lambda r: _edit(r, "province_merger_2025.csv", _set("old_gso_code", 0, "1")),
        ["province_merger_2025.csv", "old_gso_code"],
    ),
    "bad month": (
        lambda r: _edit(r, "observations.csv", _set("period_end", 2, "2021-13")),
        ["observations.csv", "period_end"],
    ),
    "start after end": (
        lambda r: _edit(r, "observations.csv", _set("period_start", 2, "2023-01")),
        ["observations.csv", "period_start", "after"],
    ),
    "share above one": (
        lambda r: _edit(r, "observations.csv", _set("share", 0, "29.8")),
        ["observations.csv", "share"],
    ),
    "share disagrees with value": (  # row 0: 29.8 %, share 0.298
        lambda r: _edit(r, "observations.csv", _set("share", 0, "0.0298")),
        ["observations.csv", "share", "row 1", "disagrees with value 29.8", "share = value / 100"],
    ),
    "empty required cell": (
        lambda r: _edit(r, "targets.csv", _set("threshold", 1, "")),
        ["targets.csv", "threshold", "required"],
    ),
    "modelled target on another indicator": (
        lambda r: _edit(r, "targets.csv", _set("indicator", 0, "npsp_services")),
        ["targets.csv", "modelled"],
    ),
    "not utf-8": (
        lambda r: (r / "sources.csv").write_bytes(b"source_id,citation\n\xff\xfe,x\n"),
        ["sources.csv", "UTF-8"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_package_fails_with_one_line_naming_the_file(tmp_path, case):
    damage, needles = CASES[case]
    root = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, root)
    damage(root)
    with pytest.raises(ObservedDataError) as err:
        load_observed(root)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("observed_dir: " if case == "missing descriptor" else f"{root}/"), msg
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_a_data_folder_that_does_not_exist_names_the_key(tmp_path):
    with pytest.raises(ObservedDataError, match=r"^observed_dir: .*nowhere: no such folder; allowed: "):
        load_observed(tmp_path / "nowhere")


def test_untouched_copy_loads_and_hashes_match(tmp_path, data):
    root = tmp_path / "copy"
    shutil.copytree(SEEDS_DIR, root)
    again = load_observed(str(root))
    assert again.hashes == data.hashes and again.root == root
