"""Levers: validation, schedule, effect paths (direction and targeting), zero-size identity, costs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.behaviour.adoption import BACKOFFICE, FULL, PARTIAL
from sim.config import load_config
from sim.ensemble import run_replicate
from sim.errors import SimInputError
from sim.levers import COST_COLUMNS, REGISTRY, build, cost_draws, cost_table
from sim.levers.common import gap_shift
from sim.levers.training import POOL

FOUR = '["01","02","04","91"]'  # Hà Nội, Hà Giang (mountain, border), Cao Bằng (border), Kiên Giang (island)
SHORT = ["ensemble=single", "timeline.start=2023-01", "timeline.end=2025-12", f"population.provinces={FOUR}"]
START = "2024-01"
T0 = 12  # month index of 2024-01 in a run starting 2023-01

ZERO = {
    "electricity": {"gap_closed": 0.0},
    "broadband": {"mobile_gap_closed": 0.0, "fixed_gap_closed": 0.0},
    "it_budget": {"share": 0.003},  # the baseline share: no extra budget
    "process": {"gap_closed": 0.0, "quality_gap_closed": 0.0},
    "training": {"officials": 0},
    "data": {"gap_closed": 0.0, "documents_removed": 0.0},
    "teams": {"teams_per_unit": 0.0},
    "awareness": {"reach_per_year": 0.0},
    "eid": {"gap_closed": 0.0},
    "electronic_only": {"share": 0.0},
    "fees": {"fee_cut": 0.0},
}


def with_levers(cfg, levers: list[dict]):
    return dataclasses.replace(cfg, scenario=dataclasses.replace(cfg.scenario, name="test", levers=levers))


@pytest.fixture(scope="module")
def cfg4():
    """Four provinces at 20,000 people per agent (deterministic province states)."""
    return load_config(["population=tiny", *SHORT])


@pytest.fixture(scope="module")
def cfg4_dense():
    """The same four provinces at 500 people per agent (~47,900 dossiers in 2024-2025) for dossier shares."""
    return load_config(["population=tiny", "population.scale=500", *SHORT])


@pytest.fixture(scope="module")
def base4(cfg4, observed):
    return run_replicate(cfg4, observed, 0)


@pytest.fixture(scope="module")
def base4_dense(cfg4_dense, observed):
    return run_replicate(cfg4_dense, observed, 0)


def run_with(cfg, observed, *levers: dict):
    return run_replicate(with_levers(cfg, list(levers)), observed, 0)


def col(result, name: str, code: str) -> np.ndarray:
    """State ``name`` of province ``code`` by month, ``(T, k)``."""
    return result.state[name][:, result.codes.index(code)]


def submitted(result) -> tuple[int, int]:
    """Dossiers submitted online and all dossiers, 2024-01 .. 2025-12."""
    d = result.dossiers[T0:]
    return int((d[..., FULL] + d[..., BACKOFFICE] + d[..., PARTIAL]).sum()), int(d.sum())


# --- validation -----------------------------------------------------------------------------

BAD = [
    (
        {"kind": "electricity", "start": START, "gap_closd": 1.0},
        r"scenario\.levers\[1\]\.gap_closd: unknown key; allowed: ",
    ),
    (
        {"kind": "electricity", "start": START, "gap_closed": 1.5},
        r"scenario\.levers\[1\]\.gap_closed: 1\.5 is out of range; allowed: 0\.0 to 1\.0",
    ),
    (
        {"kind": "electricity", "start": START, "gap_closed": "all"},
        r"scenario\.levers\[1\]\.gap_closed: 'all' is not a number",
    ),
    ({"kind": "electricity", "gap_closed": 1.0}, r"scenario\.levers\[1\]\.start: missing; allowed: "),
    (
        {"kind": "electricity", "start": "2025-13", "gap_closed": 1.0},
        r"scenario\.levers\[1\]\.start: '2025-13' is not a month",
    ),
    ({"kind": "electricity", "start": START}, r"scenario\.levers\[1\]\.gap_closed: missing; allowed: share"),
    (
        {"kind": "electricity", "start": START, "gap_closed": 1.0, "strata": ["remot"]},
        r"\.strata: 'remot' is not allowed; allowed: urban, rural, remote",
    ),
    (
        {"kind": "teams", "start": START, "teams_per_unit": 1.0, "strata": ["remote"]},
        r"\.strata: unknown key; allowed: ",
    ),
    (
        {"kind": "teams", "start": START, "teams_per_unit": 1.0, "regions": ["North"]},
        r"\.regions: 'North' is not allowed; allowed: Central Highlands, ",
    ),
    (
        {"kind": "teams", "start": START, "teams_per_unit": 1.0, "areas": ["coast"]},
        r"\.areas: 'coast' is not allowed; allowed: all, mountain, border, island",
    ),
    (
        {"kind": "teams", "start": START, "teams_per_unit": 1.0, "provinces": ["03"]},
        r"\.provinces: '03' is not a province code; allowed: 2-digit",
    ),
    (
        {"kind": "teams", "start": START, "teams_per_unit": 1.0, "provinces": ["01"], "areas": ["island"]},
        r"\.areas: .* match no province",
    ),
    (
        {"kind": "fees", "start": START, "fee_cut": 1.0, "tiers": ["ministry"]},
        r"\.tiers: 'ministry' is not allowed; allowed: ministries, localities",
    ),
    ({"kind": "training", "start": START, "officials": -5}, r"\.officials: -5\.0 is out of range"),
    (
        {"kind": "it_budget", "start": START, "share": 0.01, "ramp_months": 2.5},
        r"\.ramp_months: '2\.5' is not a whole number",
    ),
    (
        {"kind": "fee", "start": START},
        r"scenario\.levers\[1\]\.kind: 'fee' is not a lever; allowed: awareness, broadband, ",
    ),
]


@pytest.mark.parametrize(("entry", "pattern"), BAD, ids=[f"{e['kind']}-{i}" for i, (e, _) in enumerate(BAD)])
def test_bad_lever_entry_fails_with_one_line_naming_index_and_key(entry, pattern, tiny_cfg):
    good = {"kind": "awareness", "start": START, "reach_per_year": 0.2}
    with pytest.raises(SimInputError, match=pattern) as info:
        build([good, entry], tiny_cfg)
    message = str(info.value)
    assert "\n" not in message and message.startswith("scenario.levers[1].")
    if entry["kind"] in REGISTRY:
        assert message.endswith(f"({entry['kind']} lever)")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "scenario.levers.0.mobile_gap_close=1",
            "scenario.levers[0].mobile_gap_close: unknown key; allowed: areas, fixed_gap_closed, kind, "
            "mobile_gap_closed, provinces, ramp_months, regions, start, strata (broadband lever)",
        ),
        (
            "scenario.levers.0.provinces=[02]",
            "scenario.levers[0].provinces: not set in this scenario's entry; add it with a leading +, "
            "e.g. +scenario.levers.0.provinces=... (broadband lever)",
        ),
    ],
)
def test_override_of_a_key_the_lever_entry_lacks_names_the_lever_keys(override, expected):
    """Hydra refuses such an override without naming the lever; the error says what it allows."""
    with pytest.raises(SimInputError) as err:
        load_config(["scenario=lever_broadband", "scenario.levers.0.ramp_months=6", override])
    assert str(err.value) == expected


def test_provinces_written_as_integers_are_read_as_codes(tiny_cfg):
    (lever,) = build([{"kind": "teams", "start": START, "teams_per_unit": 1.0, "provinces": [1, 2]}], tiny_cfg)
    assert lever.codes == ("01", "02")


def test_targeting_intersects_keys_and_unites_names(tiny_cfg, observed):
    prov = observed.provinces
    entry = {"kind": "teams", "start": START, "teams_per_unit": 1.0}
    (border,) = build([{**entry, "areas": ["border"]}], tiny_cfg)
    assert set(border.codes) == set(prov.index[prov["is_land_border"].astype(bool)])
    (both,) = build([{**entry, "areas": ["border", "island"]}], tiny_cfg)
    island = set(prov.index[prov["n_island_districts"] > 0])
    assert set(both.codes) == set(border.codes) | island and island - set(border.codes)
    region = "Northern midlands and mountain areas"
    (north_border,) = build([{**entry, "regions": [region], "areas": ["border"]}], tiny_cfg)
    expected = set(prov.index[(prov["region_gso6"] == region) & prov["is_land_border"].astype(bool)])
    assert set(north_border.codes) == expected and 0 < len(expected) < len(border.codes)
    (everyone,) = build([entry], tiny_cfg)
    assert len(everyone.codes) == 63 and "all provinces (63 provinces)" == everyone.describe_targets()


def test_targeting_text_counts_the_provinces_the_run_simulates(tiny_cfg):
    """A run of some provinces says how many of the targeted provinces it holds (the cost covers
    only those)."""
    import dataclasses

    cfg = dataclasses.replace(tiny_cfg, population=dataclasses.replace(tiny_cfg.population, provinces=["02", "04"]))
    entry = {"kind": "fees", "start": START, "fee_cut": 0.5, "tiers": ["localities"]}
    (lever,) = build([entry], cfg)
    assert lever.describe_targets() == "all provinces; tiers=localities (2 of the 63 provinces in this run)"


# --- schedule and the gap-closing shift -----------------------------------------------------


def test_schedule_is_zero_before_start_and_linear_over_the_ramp(tiny_cfg):
    (lever,) = build([{"kind": "teams", "start": "2025-03", "ramp_months": 4, "teams_per_unit": 1.0}], tiny_cfg)
    months = [2025 * 12 + m for m in range(0, 9)]  # 2025-01 .. 2025-09
    assert [lever.fraction_at(m) for m in months] == [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0]


def test_gap_shift_closes_the_stated_share_of_the_distance_to_the_ceiling():
    x = np.linspace(-8.0, 8.0, 33)
    s = 1.0 / (1.0 + np.exp(-x))
    for gap in (0.1, 0.5, 0.9):
        shifted = 1.0 / (1.0 + np.exp(-(x + gap_shift(x, gap))))
        np.testing.assert_allclose((1.0 - shifted) / (1.0 - s), 1.0 - gap, rtol=1e-9)
    assert np.array_equal(gap_shift(x, 0.0), np.zeros_like(x))


# --- zero-size levers are the baseline, bit for bit ----------------------------------------


def test_zero_table_covers_every_lever_kind():
    assert set(ZERO) == set(REGISTRY)


@pytest.mark.parametrize("kind", sorted(ZERO))
def test_zero_size_lever_gives_bit_identical_outcomes(kind, cfg4, base4, observed):
    result = run_with(cfg4, observed, {"kind": kind, "start": START, **ZERO[kind]})
    assert np.array_equal(result.dossiers, base4.dossiers)
    assert np.array_equal(result.users_12m, base4.users_12m) and np.array_equal(result.adopters, base4.adopters)
    for name, values in base4.state.items():
        assert np.array_equal(result.state[name], values), name
    ours, theirs = result.indicators(), base4.indicators()
    assert all(np.array_equal(ours[k], theirs[k], equal_nan=True) for k in theirs)


# --- each lever moves its indicator, only where targeted, only after start -------------------


def assert_moves(result, base, name: str, code: str, cols=slice(None), others=()):
    """State ``name`` of ``code`` is unchanged before START and higher after it; ``others`` unchanged."""
    ours, theirs = col(result, name, code)[:, cols], col(base, name, code)[:, cols]
    assert np.array_equal(ours[:T0], theirs[:T0]), f"{name} moved before the start"
    assert (ours[T0:] > theirs[T0:]).all(), f"{name} of {code} did not rise after the start"
    for other in others:
        assert np.array_equal(col(result, name, other), col(base, name, other)), f"{name} of {other} moved"


def test_electricity_connects_the_targeted_rural_and_remote_strata_only(cfg4, base4, observed):
    result = run_with(cfg4, observed, {"kind": "electricity", "start": START, "gap_closed": 1.0, "provinces": ["02"]})
    assert_moves(result, base4, "electricity", "02", slice(1, 3), others=("01", "04", "91"))
    assert (col(result, "electricity", "02")[T0:, 1:] == 1.0).all()  # the whole gap, from the first month
    assert np.array_equal(col(result, "electricity", "02")[:, 0], col(base4, "electricity", "02")[:, 0])  # urban
    assert_moves(result, base4, "connectivity", "02", slice(2, 3), others=("01", "04", "91"))


def test_broadband_raises_remote_connectivity_in_targeted_provinces(cfg4, base4, observed):
    lever = {"kind": "broadband", "start": START, "mobile_gap_closed": 1.0, "fixed_gap_closed": 0.5}
    result = run_with(cfg4, observed, {**lever, "strata": ["remote"], "provinces": ["01"]})
    assert_moves(result, base4, "connectivity", "01", slice(2, 3), others=("02", "04", "91"))
    assert np.array_equal(col(result, "connectivity", "01")[:, :2], col(base4, "connectivity", "01")[:, :2])


def test_it_budget_share_raises_local_supply_and_back_office(cfg4, base4, observed):
    result = run_with(cfg4, observed, {"kind": "it_budget", "start": START, "ramp_months": 12, "share": 0.01})
    share = col(result, "it_budget_share", "02")[:, 0]
    assert (
        share[T0 - 1] == 0.003
        and share[T0 + 5] == pytest.approx(0.003 + 0.007 * 6 / 12)
        and share[-1] == pytest.approx(0.01)
    )
    for code in ("01", "02"):
        assert_moves(result, base4, "supply", code, slice(1, 2))
        assert_moves(result, base4, "interoperability", code)
        assert_moves(result, base4, "backoffice", code)
    assert np.array_equal(col(result, "supply", "02")[:, 0], col(base4, "supply", "02")[:, 0])  # ministries


def test_process_reengineering_raises_the_chosen_tier_and_usability(cfg4, base4, observed):
    lever = {"kind": "process", "start": START, "gap_closed": 0.5, "quality_gap_closed": 0.3, "tiers": ["localities"]}
    result = run_with(cfg4, observed, lever)
    assert_moves(result, base4, "supply", "04", slice(1, 2))
    assert_moves(result, base4, "quality", "04")
    assert np.array_equal(col(result, "supply", "04")[:, 0], col(base4, "supply", "04")[:, 0])


def test_training_closes_officials_over_pool_of_the_gap_and_raises_back_office(cfg4, base4, observed):
    officials = 10_000
    result = run_with(cfg4, observed, {"kind": "training", "start": START, "officials": officials})
    spec = cfg4.drivers.officials_trained
    ours, theirs = col(result, "officials_trained", "02")[T0:, 0], col(base4, "officials_trained", "02")[T0:, 0]
    # all 63 provinces are targeted: each closes officials / POOL of its untrained share
    np.testing.assert_allclose((spec.hi - ours) / (spec.hi - theirs), 1.0 - officials / POOL, rtol=1e-9)
    assert_moves(result, base4, "backoffice", "02")


def test_teams_add_teams_per_unit_along_the_ramp(cfg4, base4, observed):
    lever = {"kind": "teams", "start": START, "ramp_months": 6, "teams_per_unit": 1.0, "provinces": ["04"]}
    result = run_with(cfg4, observed, lever)
    extra = col(result, "assisted", "04")[:, 0] - col(base4, "assisted", "04")[:, 0]
    expected = np.r_[np.zeros(T0), np.minimum(np.arange(1, 25) / 6, 1.0)]
    np.testing.assert_allclose(extra, expected, atol=1e-12)
    assert_moves(result, base4, "awareness", "04", others=("01", "02", "91"))


def test_awareness_campaign_and_eid_move_their_states(cfg4, base4, observed):
    campaign = run_with(cfg4, observed, {"kind": "awareness", "start": START, "reach_per_year": 0.3})
    assert_moves(campaign, base4, "awareness", "02")
    eid = run_with(cfg4, observed, {"kind": "eid", "start": START, "gap_closed": 0.5, "areas": ["island"]})
    spec = cfg4.drivers.eid
    ours, theirs = col(eid, "eid", "91")[T0:, 0], col(base4, "eid", "91")[T0:, 0]
    np.testing.assert_allclose((spec.hi - ours) / (spec.hi - theirs), 0.5, rtol=1e-9)
    assert np.array_equal(col(eid, "eid", "01"), col(base4, "eid", "01"))


# With common random numbers every replicate sees the same needs (identical dossier totals), so a
# lever that does nothing gives a difference of exactly 0 (tests above). As a conservative bar the
# rise must also exceed 3 standard errors of a difference between two *independent* samples of
# n dossiers, sqrt(2 p (1 - p) / n) (~0.003 at p ~ 0.68, n ~ 47,900); measured rises: fees 0.019,
# electronic-only 0.024, data (pre-filled forms) 0.013.
UTILITY_LEVERS = [
    {"kind": "fees", "start": START, "fee_cut": 1.0},
    {"kind": "electronic_only", "start": START, "share": 0.25},
    {"kind": "data", "start": START, "gap_closed": 0.4, "documents_removed": 0.3},
]


@pytest.mark.parametrize("lever", UTILITY_LEVERS, ids=[lv["kind"] for lv in UTILITY_LEVERS])
def test_utility_levers_raise_the_submitted_online_share(lever, cfg4_dense, base4_dense, observed):
    result = run_with(cfg4_dense, observed, lever)
    (s0, n0), (s1, n1) = submitted(base4_dense), submitted(result)
    assert n1 == n0 > 40_000
    p = s0 / n0
    assert (s1 - s0) / n0 > 3.0 * np.sqrt(2.0 * p * (1.0 - p) / n0)
    assert np.array_equal(result.dossiers[:T0], base4_dense.dossiers[:T0])


# --- costs ----------------------------------------------------------------------------------


def year_cfg(*levers: dict, provinces: str = "[]"):
    cfg = load_config(
        ["population=tiny", "timeline.start=2025-01", "timeline.end=2025-12", f"population.provinces={provinces}"]
    )
    return with_levers(cfg, list(levers))


def test_cost_table_columns_rows_and_total(observed):
    levers = [{"kind": k, "start": "2025-01", **v} for k, v in ZERO.items()]
    levers[0] = {"kind": "electricity", "start": "2025-01", "gap_closed": 0.5, "areas": ["mountain"]}
    levers[6] = {"kind": "teams", "start": "2025-01", "teams_per_unit": 1.0}
    table = cost_table(year_cfg(*levers), observed)
    assert list(table.columns) == COST_COLUMNS and len(table) == len(levers) + 1
    assert list(table["kind"]) == [lv["kind"] for lv in levers] + ["total"]
    body, total = table.iloc[:-1], table.iloc[-1]
    for k in ("low", "central", "high"):
        assert total[f"cost_vnd_{k}"] == pytest.approx(body[f"cost_vnd_{k}"].sum())
    assert (body.cost_vnd_low <= body.cost_vnd_central).all() and (body.cost_vnd_central <= body.cost_vnd_high).all()
    nonzero = set(body.index[body.cost_vnd_central > 0])
    assert nonzero == {0, 6}
    assert table.at[0, "targeting"].startswith("areas=mountain; strata=rural|remote (")


def test_baseline_cost_table_is_a_zero_total(tiny_cfg, observed):
    table = cost_table(tiny_cfg, observed)
    assert (
        list(table["kind"]) == ["total"]
        and (table[["cost_vnd_low", "cost_vnd_central", "cost_vnd_high"]] == 0).all().all()
    )


def test_it_budget_and_fee_costs_match_the_seed_figures(observed):
    budget = {"kind": "it_budget", "start": "2025-01", "share": 0.01}
    # (1 % - 0.3 %) of the 2023 local spending envelope, 1,193,381 bn VND, for one year
    central = cost_table(year_cfg(budget), observed).at[0, "cost_vnd_central"]
    assert central == pytest.approx(0.007 * 1_193_381e9, rel=1e-9)
    ramped = cost_table(year_cfg({**budget, "ramp_months": 12}), observed).at[0, "cost_vnd_central"]
    assert ramped == pytest.approx(central * 6.5 / 12, rel=1e-9)  # mean of 1/12 .. 12/12
    fees = {"kind": "fees", "start": "2025-01", "fee_cut": 1.0, "provinces": ["01"]}
    row = cost_table(year_cfg(fees), observed).iloc[0]
    assert row.cost_vnd_central == pytest.approx(36.5e9, rel=1e-9)  # Hà Nội's online fee revenue, 2022
    assert row.cost_vnd_low == pytest.approx(36.5e9 / 2, rel=1e-9)


def test_one_off_costs_scale_with_size_and_add_over_simulated_provinces(observed):
    lever = {"kind": "electricity", "start": "2025-01", "gap_closed": 0.5, "areas": ["mountain"]}
    half = cost_table(year_cfg(lever), observed).at[0, "cost_vnd_central"]
    full = cost_table(year_cfg({**lever, "gap_closed": 1.0}), observed).at[0, "cost_vnd_central"]
    assert half > 0 and full == pytest.approx(2 * half, rel=1e-12)
    one = cost_table(year_cfg(lever, provinces='["02"]'), observed).at[0, "cost_vnd_central"]
    two = cost_table(year_cfg(lever, provinces='["04"]'), observed).at[0, "cost_vnd_central"]
    both = cost_table(year_cfg(lever, provinces='["02","04"]'), observed).at[0, "cost_vnd_central"]
    assert both == pytest.approx(one + two, rel=1e-12) and both < half
    lowland = cost_table(year_cfg(lever, provinces='["01"]'), observed).at[0, "cost_vnd_central"]
    assert lowland == 0.0  # Hà Nội is not in a mountain region: targeted by nobody
    late = {**lever, "start": "2026-01"}  # after the run: it would do nothing and cost nothing, so it is refused
    with pytest.raises(SimInputError, match=r"^scenario\.levers\[0\]\.start: 2026-01 is after the run's end"):
        cost_table(year_cfg(late), observed)


def test_cost_draws_are_reproducible_and_follow_the_range(observed):
    cfg = year_cfg(
        {"kind": "teams", "start": "2025-01", "teams_per_unit": 1.0},
        {"kind": "eid", "start": "2025-01", "gap_closed": 0.5},
    )
    lo, mid, hi = (cost_table(cfg, observed).iloc[:2][f"cost_vnd_{k}"].to_numpy() for k in ("low", "central", "high"))
    draws = np.array([cost_draws(cfg, observed, k) for k in range(300)])
    assert np.array_equal(draws[7], cost_draws(cfg, observed, 7))
    assert ((draws >= lo) & (draws <= hi)).all() and len(np.unique(draws[:, 0])) == 300
    # triangular(lo, mid, hi): mean (lo + mid + hi) / 3, sd^2 = (lo^2 + mid^2 + hi^2 - lo mid - lo hi - mid hi) / 18;
    # the sample mean of 300 draws lies within 4 standard errors with probability > 0.9999
    mean = (lo + mid + hi) / 3
    sd = np.sqrt((lo**2 + mid**2 + hi**2 - lo * mid - lo * hi - mid * hi) / 18)
    assert (np.abs(draws.mean(axis=0) - mean) < 4 * sd / np.sqrt(300)).all()
    assert abs(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1]) < 4 / np.sqrt(300)  # independent streams
