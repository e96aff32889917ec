"""Mechanism tests with known answers, on hand-made worlds (no observed data needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import flat, homogeneous_overrides, toy_observed

from sim.config import load_config
from sim.model import AdoptionModel


def adopter_fraction(model: AdoptionModel) -> float:
    return float(model.hist_adopt[..., 1:].sum() / model.adults.sum())


def bass_step(f: float, p: float, q: float, pi: float) -> float:
    """Discrete generalized Bass map with need probability pi: F' = F + (1-F) pi (1 - e^-(p+qF))."""
    return f + (1.0 - f) * pi * (1.0 - math.exp(-(p + q * f)))


def test_homogeneous_population_follows_bass_mean_field():
    """One province, everyone able and aware, U = 0, no lapse: the adopter share follows the
    discrete Bass map. Tolerances:
      * one step: given F_t, new adopters ~ Binomial(N (1 - F_t), pi h_t) with
        h_t = 1 - exp(-(p + q F_t)), so z_t = (F_{t+1} - E[F_{t+1} | F_t]) / SE_t is ~N(0, 1);
        with 36 steps, max |z| < 4.5 fails with probability < 36 * 7e-6;
      * whole path: linear-noise approximation v_{t+1} = f'(F_t)^2 v_t + Var_t; |F_t - F*_t| < 5 sd.
    """
    p, q, rate = 0.02, 0.5, 24.0
    pi = -math.expm1(-rate / 12.0)
    cfg = load_config(homogeneous_overrides(p, q, rate))
    model = AdoptionModel(cfg, toy_observed(population=200_000))
    n = model.adults.sum()
    f_model, f_star, var = [0.0], [0.0], 0.0
    zs, path_dev = [], []
    while model.t < model.timeline.n_months:
        before = f_model[-1]
        model.step()
        f_model.append(adopter_fraction(model))
        h = pi * (1.0 - math.exp(-(p + q * before)))
        se = math.sqrt(max((1.0 - before) * h * (1.0 - h), 1e-12) / n)
        zs.append((f_model[-1] - bass_step(before, p, q, pi)) / se)
        fs = f_star[-1]
        eps = 1e-6
        slope = (bass_step(fs + eps, p, q, pi) - bass_step(fs - eps, p, q, pi)) / (2 * eps)
        hs = pi * (1.0 - math.exp(-(p + q * fs)))
        var = slope**2 * var + (1.0 - fs) * hs * (1.0 - hs) / n
        f_star.append(bass_step(fs, p, q, pi))
        path_dev.append(abs(f_model[-1] - f_star[-1]) / math.sqrt(var))
    assert max(abs(z) for z in zs) < 4.5, zs
    assert 0.3 < np.mean(np.square(zs)) < 2.5
    assert max(path_dev) < 5.0
    assert f_model[-1] > 0.9  # the curve really took off


def test_zero_connectivity_gives_zero_online_dossiers():
    zero = flat(0.0)
    over = [
        *homogeneous_overrides(),
        "drivers.mobile_urban=0",
        "drivers.mobile_rural=0",
        f"drivers.mobile_remote={zero}",
        f"drivers.fixed_urban={zero}",
        f"drivers.fixed_rural={zero}",
        f"drivers.fixed_remote={zero}",
        "params.assisted_max=0",
        "params.initial_adopter_share=0.5",
    ]
    model = AdoptionModel(load_config(over), toy_observed(population=20_000))
    model.run()
    d = model.recorder.dossiers
    assert d.sum() > 10_000  # needs happened
    assert d[..., 0].sum() == 0  # no fully online dossier
    assert model.recorder.users_12m.max() == 0
    assert (model.pop.flags == 0).all()


def test_no_electricity_means_no_connectivity_and_no_online_use():
    over = [*homogeneous_overrides(), "drivers.electricity_gap_decay_per_year=0", "params.assisted_max=0"]
    model = AdoptionModel(load_config(over), toy_observed(population=20_000, electricity=0.0))
    for prov in model.provinces:
        assert np.all(prov.connectivity <= prov.electricity)
    model.run()
    assert model.recorder.dossiers[..., 0].sum() == 0


def test_connectivity_never_exceeds_electricity_in_real_provinces(observed, tiny_cfg):
    model = AdoptionModel(tiny_cfg, observed)
    for _ in range(3):
        model.step()
        for prov in model.provinces:
            assert np.all(prov.connectivity <= prov.electricity + 1e-12)
            assert np.all(prov.supply_online >= prov.supply - 1e-12)


def test_back_office_zero_blocks_full_online_but_not_usage():
    over = [
        *homogeneous_overrides(),
        "params.backoffice_lo_ministries=0",
        "params.backoffice_hi_ministries=0",
        "params.backoffice_lo_localities=0",
        "params.backoffice_hi_localities=0",
    ]
    model = AdoptionModel(load_config(over), toy_observed(population=20_000))
    model.run()
    assert model.recorder.dossiers[..., 0].sum() == 0
    assert model.recorder.users_12m[-1].sum() > 0.5 * model.adults.sum()


@pytest.mark.parametrize("need_rate", [0.0])
def test_no_need_no_dossiers(need_rate):
    model = AdoptionModel(
        load_config([*homogeneous_overrides(), f"params.need_rate_per_year={need_rate}"]),
        toy_observed(population=5_000),
    )
    model.run()
    assert model.recorder.dossiers.sum() == 0


def test_province_agents_read_and_write_their_row_of_the_state_arrays(observed, tiny_cfg):
    """A province's attributes are its row of the model's arrays: a lever writing one province's
    inputs moves that province only, and the vectorized update reproduces the one-province rule."""
    model = AdoptionModel(tiny_cfg, observed)
    pa, prov, other = model.province_arrays, model.provinces[5], model.provinces[6]
    assert np.array_equal(prov.connectivity, pa.connectivity[5]) and prov.quality == pa.quality[5]
    quality_before, other_before = prov.quality, other.quality
    prov.shift["quality"] += 1.0
    prov.it_budget_share += 0.01
    prov.electricity_gap_cut[2] += 0.5
    assert pa.shift["quality"][5] == 1.0 and pa.it_budget_share[5] == pytest.approx(0.013)
    pa.update(model)
    spec = tiny_cfg.drivers.quality
    x = model.trend_logits["quality"][0, 5] + 1.0
    assert prov.quality == pytest.approx(spec.lo + (spec.hi - spec.lo) / (1 + math.exp(-x)))
    assert prov.quality > quality_before and other.quality == other_before
    assert prov.electricity[2] == pytest.approx(1 - model.electricity_gaps[0, 5, 2] * 0.5)
    budget = 0.5 * math.log2(pa.it_budget_share[5] / tiny_cfg.drivers.it_budget_share)
    spec = tiny_cfg.drivers.supply_localities
    x = model.trend_logits["supply_localities"][0, 5] + budget
    assert prov.supply[1] == pytest.approx(spec.lo + (spec.hi - spec.lo) / (1 + math.exp(-x)))
    assert other.supply[1] == model.trend_values["supply_localities"][0, 6]
