"""Population synthesis: compact state, marginals that match the inputs."""

from __future__ import annotations

import numpy as np
import pytest

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


def _recount(pop, n_prov: int, n_bins: int, adopters_only: bool) -> np.ndarray:
    """Adults by (province, stratum, last-use bin) counted from the citizen arrays themselves."""
    adult = pop.age > 0
    if adopters_only:
        adult &= (pop.flags & 1) == 1
    flat = (pop.province[adult].astype(np.int64) * 3 + pop.stratum[adult]) * n_bins + pop.last_online[adult]
    return np.bincount(flat, minlength=n_prov * 3 * n_bins).reshape(n_prov, 3, n_bins)


def test_last_use_tallies_match_a_recount_of_the_citizens(observed):
    """The kernel updates the adults-by-last-use histograms incrementally; after every month they must
    equal a full recount from ``last_online`` and the habit flag. Many initial adopters and a need in
    most months make month 0 exercise the case of an initial adopter (already in month 0's bin) going
    online again, which must neither leave that bin nor count twice."""
    from sim.model import AdoptionModel

    cfg = load_config(["population=small", "params.initial_adopter_share=0.3", "params.need_rate_per_year=24"])
    model = AdoptionModel(cfg, observed)
    n_prov, n_bins = len(model.codes), model.hist_use.shape[-1]
    for _ in range(4):
        model.step()
        np.testing.assert_array_equal(model.hist_use, _recount(model.pop, n_prov, n_bins, False))
        np.testing.assert_array_equal(model.hist_adopt, _recount(model.pop, n_prov, n_bins, True))
    assert model.recorder.dossiers[0].sum() > 0.5 * model.adults.sum()  # most adults had a need in month 0


def test_cut_points_reproduce_the_logit_logistic_score():
    """A score read from the cut points equals ``min(255, int(256 x))`` with
    ``x = sigmoid(logit(m) + c log(u / (1 - u)))`` computed directly, for uniforms on a fine grid
    and at several medians and spreads (including no spread)."""
    from sim.population import logit_logistic_cuts

    u = (np.arange(200_001) + 0.5) / 200_001
    for m, sd in ((0.5, 1.0), (0.2, 1.0), (0.62, 2.5), (0.45, 0.0)):
        cuts = logit_logistic_cuts(m, sd)
        assert cuts.shape == (256,) and np.all(cuts[1:] >= cuts[:-1]) and np.isinf(cuts[255])
        c = sd * np.sqrt(3.0) / np.pi
        x = 1.0 / (1.0 + (1.0 - m) / m * ((1.0 - u) / u) ** c)
        direct = np.minimum(255, (x * 256.0).astype(int))
        from_cuts = np.searchsorted(cuts, u, side="right")
        mismatch = np.flatnonzero(direct != from_cuts)
        # only a uniform within rounding of a cut point may land on the other side
        assert mismatch.size <= 2, (m, sd, mismatch[:5])


def test_kernel_gives_the_same_month_on_one_or_two_threads_and_serially(observed):
    """Needs and tallies are keyed by citizen index and summed per fixed segment, so the parallel
    kernel on 1 or 2 threads and the serial kernel must return identical tallies and citizen state
    (compared over three months from the same start); so must the rule applied need by need
    (``decide``) and in batches (``decide_batch``), each forced for every need."""
    import math

    import numba

    from sim.behaviour import kernel
    from sim.model import MONTH_STREAMS, AdoptionModel
    from sim.rng import stream_key

    model = AdoptionModel(load_config(["population=small", "params.need_rate_per_year=6"]), observed)
    pop = model.pop
    env = model.month_env().as_tuple()
    p_need = -math.expm1(-6.0 / 12.0)
    outcomes = []
    for run in ("serial", "each", "batch", 1, 2):
        flags, last = pop.flags.copy(), pop.last_online.copy()
        arrays = (pop.cell_start, pop.skill, pop.trust, flags, last, pop.u_infra, pop.u_device, pop.u_aware, pop.u_eid)
        tallies = []
        for t in range(3):
            keys = np.array([stream_key(5, 0, s, t) for s in MONTH_STREAMS], np.uint64)
            if not isinstance(run, int):
                min_batch = {"serial": kernel.MIN_BATCH, "each": 10**9, "batch": 0}[run]
                out = kernel._step_serial(arrays, keys, t, p_need, env, model.param_tuple, t + 1, min_batch)
            else:
                before = numba.get_num_threads()
                numba.set_num_threads(min(run, numba.config.NUMBA_NUM_THREADS))
                try:
                    out = kernel._step_parallel(
                        arrays, keys, t, p_need, env, model.param_tuple, t + 1, kernel.MIN_BATCH
                    )
                finally:
                    numba.set_num_threads(before)
            tallies.append(out)
        outcomes.append((tallies, flags, last))
    assert outcomes[0][0][0][0].sum() > 0.3 * model.adults.sum()  # the months did something
    for other in outcomes[1:]:
        for a, b in zip(outcomes[0][0], other[0], strict=True):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(outcomes[0][1], other[1])
        np.testing.assert_array_equal(outcomes[0][2], other[2])


def test_tabulated_bass_hazard_equals_the_direct_formula(observed):
    """The kernel's Bass probability (cell part x skill factor x trust factor, ``1 - exp(-h)``) is the
    rule's ``-expm1(-(p + q F) exp(U))`` up to floating-point rounding (relative 1e-9, as
    ``1 - exp(-h)`` loses about 1e-16 absolute), on 400 random cases of cell, citizen (with their
    skill, trust and e-ID), tier and assistance."""
    import math

    from numba import njit

    from sim.behaviour.adoption import bass_probability, cell_hazards, utility_factors
    from sim.behaviour.kernel import _cell_values
    from sim.model import AdoptionModel

    model = AdoptionModel(load_config(["population=small"]), observed)
    pop, prm = model.pop, model.param_tuple
    env = model.month_env().as_tuple()
    _, p_innov, q_imit, b_quality, b_ease, b_trust, b_eid, b_ministry, _, _ = prm

    @njit
    def bass(j, helped, tier, skill, trust, u_eid, cell, prm):
        return bass_probability(
            j, helped, tier, skill, trust, u_eid, cell[3], utility_factors(prm), cell_hazards(cell, prm)
        )

    rng = np.random.default_rng(2)
    for _ in range(400):
        p, s, a = int(rng.integers(0, 63)), int(rng.integers(0, 3)), int(rng.integers(1, 4))
        cell = _cell_values(env, p, s, a)
        j = int(rng.integers(0, pop.n))
        helped, tier = bool(rng.integers(0, 2)), int(rng.integers(0, 2))
        skill = max(int(pop.skill[j]), 128) if helped else int(pop.skill[j])
        utility = (
            b_quality * (cell[10] - 0.5)
            + b_ease * (skill / 256.0 - 0.5)
            + b_trust * (int(pop.trust[j]) / 256.0 - 0.5)
            + b_eid * (int(pop.u_eid[j]) < cell[3])
            + b_ministry * (tier == 0)
            + (cell[13] if tier == 0 else cell[14])
        )
        want = -math.expm1(-(p_innov + q_imit * cell[12]) * math.exp(utility))
        got = bass(j, helped, tier, pop.skill, pop.trust, pop.u_eid, cell, prm)
        assert got == pytest.approx(want, rel=1e-9, abs=0.0)


def test_synthesis_reads_the_cut_points_exactly():
    """The synthesis kernel's bucketed count of cut points at or below a uniform equals a binary
    search over the same cut points, for steep (sd 5), usual and degenerate (sd 0) spreads, with
    uniforms on a fine grid and exactly on bucket edges and cut points."""
    from numba import njit

    from sim.behaviour.kernel import N_BUCKETS, _bucket_starts, _count_cuts
    from sim.population import logit_logistic_cuts

    @njit
    def counts(cuts, starts, u):
        out = np.empty(u.size, np.int64)
        for i in range(u.size):
            out[i] = _count_cuts(cuts, starts, u[i])
        return out

    for m, sd in ((0.5, 1.0), (0.2, 5.0), (0.99, 5.0), (0.45, 0.0)):
        cuts = logit_logistic_cuts(m, sd)
        finite = cuts[np.isfinite(cuts) & (cuts < 1.0)]
        u = np.concatenate([(np.arange(100_000) + 0.5) / 100_000, np.arange(N_BUCKETS) / N_BUCKETS, finite])
        expected = np.searchsorted(cuts, u, side="right")
        np.testing.assert_array_equal(counts(cuts, _bucket_starts(cuts), u), expected)
