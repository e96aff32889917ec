"""Compiled monthly kernel: draw needs, apply the rule, update citizens, tally outcomes.

Citizens are stored sorted by cell ``(province, stratum, age band)``; the loop walks each chunk
cell by cell, so a citizen's province, stratum and age are known from its position (no memory
read) and children's cells are skipped whole. Every uniform comes from the counter-based
generator keyed by citizen index (:mod:`sim.rng`) and tallies are integer sums per fixed chunk, so
results are identical whatever the number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sim.behaviour.adoption import decide
from sim.rng import uniform

N_CHUNKS = 16
BLOCK = 2048
N_STAGES = 7
N_AGES = 4
N_STRATA = 3


@njit(inline="always", cache=True)
def _first_cell(cell_start, i):
    return np.searchsorted(cell_start, i, side="right") - 1


@njit(inline="always", cache=True)
def _cell_values(env, p, s, a):
    (
        access_thr,
        device_thr,
        aware_thr,
        eid_thr,
        off_online,
        off_full,
        backoffice,
        quality,
        assisted,
        social,
        utility_shift,
    ) = env
    return (
        float(access_thr[p, s]),
        float(device_thr[p, s, a]),
        float(aware_thr[p, s]),
        float(eid_thr[p]),
        float(off_online[p, 0]),
        float(off_online[p, 1]),
        float(off_full[p, 0]),
        float(off_full[p, 1]),
        float(backoffice[p, 0]),
        float(backoffice[p, 1]),
        float(quality[p]),
        float(assisted[p]),
        float(social[p, s]),
        float(utility_shift[p, 0]),
        float(utility_shift[p, 1]),
    )


@njit(parallel=True, cache=True)
def step_citizens(
    cell_start, skill, trust, flags, last_online, u_infra, u_device, u_aware, u_eid, keys, t, p_need, env, prm, n_bins
):
    """One month for every citizen. Adults have a procedure need with probability ``p_need``.

    Args:
        cell_start: first row of each (province, stratum, age) cell.
        keys: uint64 stream keys ``(need, tier, offer, lapse, assist, choice, backoffice)``.
        env: province arrays, ``MonthEnv.as_tuple()``.
        prm: rule parameters as a tuple (:func:`sim.behaviour.adoption.param_tuple`).

    Returns:
        ``tally (P, 2, 7)`` dossiers by province, tier and stage; ``use_leave (P, 3, n_bins)`` users
        leaving their previous last-use bin (``n_bins = t + 1``: bins of months before this one);
        ``adopt_leave (P, 3, n_bins)`` adopters leaving theirs
        (online again, or lapsed); ``new_users (P, 3)`` citizens who went online this month.
    """
    n = cell_start[-1]
    n_prov = env[0].shape[0]
    tally = np.zeros((N_CHUNKS, n_prov, 2, N_STAGES), np.int64)
    use_leave = np.zeros((N_CHUNKS, n_prov, N_STRATA, n_bins), np.int32)
    adopt_leave = np.zeros((N_CHUNKS, n_prov, N_STRATA, n_bins), np.int32)
    new_users = np.zeros((N_CHUNKS, n_prov, N_STRATA), np.int64)
    k_need, k_tier, k_offer, k_lapse, k_assist, k_choice, k_bo = (
        keys[0],
        keys[1],
        keys[2],
        keys[3],
        keys[4],
        keys[5],
        keys[6],
    )
    rule_keys = (k_tier, k_offer, k_lapse, k_assist, k_choice, k_bo)
    size = (n + N_CHUNKS - 1) // N_CHUNKS
    for c in prange(N_CHUNKS):
        lo, hi = c * size, min(n, (c + 1) * size)
        cell = _first_cell(cell_start, lo)
        need = np.empty(BLOCK, np.bool_)
        i = lo
        while i < hi:
            end = min(cell_start[cell + 1], hi)
            a = cell % N_AGES
            s = (cell // N_AGES) % N_STRATA
            p = cell // (N_AGES * N_STRATA)
            if a > 0 and end > i:
                values = _cell_values(env, p, s, a)
                for b0 in range(i, end, BLOCK):
                    b1 = min(b0 + BLOCK, end)
                    for j in range(b0, b1):  # a tight loop the compiler vectorizes
                        need[j - b0] = uniform(k_need, j) < p_need
                    for j in range(b0, b1):
                        if not need[j - b0]:
                            continue
                        f = flags[j]
                        adopter = (f & 1) == 1
                        last = last_online[j] if adopter else np.uint8(0)
                        tier, stage, online, lapsed = decide(
                            j, t, adopter, last, skill, trust, u_infra, u_device, u_aware, u_eid, rule_keys, values, prm
                        )
                        tally[c, p, tier, stage] += 1
                        if adopter and (online or lapsed):
                            adopt_leave[c, p, s, last] += 1
                        if online:
                            last = last_online[j]
                            use_leave[c, p, s, last] += 1
                            new_users[c, p, s] += 1
                            flags[j] = f | np.uint8(1)
                            last_online[j] = np.uint8(t + 1)
                        elif lapsed:
                            flags[j] = f & np.uint8(254)
            i = end
            cell += 1
    return _sum_chunks(tally), _sum_chunks(use_leave), _sum_chunks(adopt_leave), _sum_chunks(new_users)


@njit(cache=True)
def _sum_chunks(x):
    out = np.zeros(x.shape[1:], np.int64)
    flat_out = out.reshape(-1)
    flat_in = x.reshape(x.shape[0], -1)
    for c in range(x.shape[0]):
        for k in range(flat_out.size):
            flat_out[k] += flat_in[c, k]
    return out


@njit(parallel=True, cache=True)
def fill_citizens(
    stratum, age, skill_median, skill_shift, skill_sd, keys, skill, trust, u_infra, u_device, u_aware, u_eid
):
    """Draw each citizen's skill, trust and fixed ranks (synthesis).

    Skill and trust are logit-logistic: ``sigmoid(logit(median) + c * L)`` with ``L`` a standard
    logistic variate (``log(u / (1 - u))``, one uniform) and ``c = sd * sqrt(3) / pi`` so that the
    spread on the logit scale has standard deviation ``sd`` (1 for trust, median 0.5). Ranks are
    counter-based uniforms scaled to 0..65535.

    Args:
        keys: uint64 keys ``(skill, trust, infra, device, aware, eid)``.
    """
    n = stratum.size
    size = (n + N_CHUNKS - 1) // N_CHUNKS
    c_skill = skill_sd * math.sqrt(3.0) / math.pi
    c_trust = math.sqrt(3.0) / math.pi
    for c in prange(N_CHUNKS):
        for i in range(c * size, min(n, (c + 1) * size)):
            m = min(max(skill_median[age[i]] + skill_shift[stratum[i]], 0.01), 0.99)
            u = min(max(uniform(keys[0], i), 1e-12), 1.0 - 1e-12)
            x = 1.0 / (1.0 + (1.0 - m) / m * ((1.0 - u) / u) ** c_skill)
            skill[i] = min(255, int(x * 256.0))
            u = min(max(uniform(keys[1], i), 1e-12), 1.0 - 1e-12)
            trust[i] = min(255, int(256.0 / (1.0 + ((1.0 - u) / u) ** c_trust)))
            u_infra[i] = int(uniform(keys[2], i) * 65536.0)
            u_device[i] = int(uniform(keys[3], i) * 65536.0)
            u_aware[i] = int(uniform(keys[4], i) * 65536.0)
            u_eid[i] = int(uniform(keys[5], i) * 65536.0)


@njit(parallel=True, cache=True)
def count_own_access(cell_start, u_infra, u_device, access_thr, device_thr):
    """Adults with electricity, connectivity and a device, and all adults."""
    n_cells = cell_start.size - 1
    able = np.zeros(n_cells, np.int64)
    adults = np.zeros(n_cells, np.int64)
    for cell in prange(n_cells):
        a, s, p = cell % N_AGES, (cell // N_AGES) % N_STRATA, cell // (N_AGES * N_STRATA)
        if a == 0:
            continue
        adults[cell] = cell_start[cell + 1] - cell_start[cell]
        for j in range(cell_start[cell], cell_start[cell + 1]):
            if u_infra[j] < access_thr[p, s] and u_device[j] < device_thr[p, s, a]:
                able[cell] += 1
    return able.sum(), adults.sum()


@njit(parallel=True, cache=True)
def mark_initial_adopters(
    cell_start, u_infra, u_device, access_thr, device_thr, key, prob, flags, last_online, u_aware
):
    """Give the online habit to adults with own access, each with probability ``prob``.

    Returns:
        Adopters marked per cell.
    """
    n_cells = cell_start.size - 1
    marked = np.zeros(n_cells, np.int64)
    for cell in prange(n_cells):
        a, s, p = cell % N_AGES, (cell // N_AGES) % N_STRATA, cell // (N_AGES * N_STRATA)
        if a == 0:
            continue
        for j in range(cell_start[cell], cell_start[cell + 1]):
            if u_infra[j] < access_thr[p, s] and u_device[j] < device_thr[p, s, a] and uniform(key, j) < prob:
                flags[j] |= np.uint8(1)
                last_online[j] = np.uint8(1)
                u_aware[j] = np.uint16(0)
                marked[cell] += 1
    return marked
