"""Population synthesis: compact state, marginals that match the inputs."""

from __future__ import annotations

import numpy as np

from sim.config import load_config
from sim.geography import strata_shares
from sim.population import cell_sizes, synthesize


def test_state_is_at_most_16_bytes_per_agent(observed):
    cfg = load_config(["population=small"])
    table = observed.provinces
    w = strata_shares(table, 0.5, 0.05, 0.02)
    pop = synthesize(cell_sizes(table["pop_census2019"].to_numpy(float), w, 1000.0), cfg.population, 1, 0)
    assert pop.nbytes_per_agent <= 16
    assert pop.province.dtype == np.uint8 and pop.u_infra.dtype == np.uint16


def test_synthesized_marginals_match_seeds(observed):
    """Province sizes follow the 2019 Census within rounding (0.5 agent per cell); age shares within
    5 binomial standard errors of the configured shares."""
    cfg = load_config(["population=small"])
    table = observed.provinces
    people = table["pop_census2019"].to_numpy(float)
    w = strata_shares(
        table,
        cfg.population.remote_share_of_minority,
        cfg.population.remote_floor_mountain,
        cfg.population.remote_share_island,
    )
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[:, 0], table["urban_share_2019"].to_numpy(float))
    sizes = cell_sizes(people, w, cfg.population.scale)
    pop = synthesize(sizes, cfg.population, 7, 0)
    per_province = np.bincount(pop.province, minlength=len(table))
    assert np.all(np.abs(per_province - people / cfg.population.scale) <= 1.5 + 1e-9)
    n = pop.n
    shares = np.bincount(pop.age, minlength=4) / n
    se = np.sqrt(np.asarray(cfg.population.age_shares) * (1 - np.asarray(cfg.population.age_shares)) / n)
    assert np.all(np.abs(shares - cfg.population.age_shares) < 5 * se)
    urban = np.bincount(pop.province[pop.stratum == 0], minlength=len(table)) / per_province
    assert np.all(np.abs(urban - w[:, 0]) <= 2.0 / per_province + 1e-9)


def test_synthesis_is_reproducible_and_replicates_differ():
    cfg = load_config(["population=tiny"])
    sizes = np.array([[50, 30, 20], [10, 60, 5]])
    a, b, c = (synthesize(sizes, cfg.population, 3, r) for r in (0, 0, 1))
    assert np.array_equal(a.skill, b.skill) and np.array_equal(a.u_infra, b.u_infra)
    assert not np.array_equal(a.u_infra, c.u_infra)
