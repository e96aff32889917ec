"""Compiled monthly kernel: draw needs, apply the rule, update citizens, tally outcomes.

Citizens are stored sorted by cell ``(province, stratum, age band)``; the loop walks each chunk
cell by cell, so a citizen's province, stratum and age are known from its position (no memory read)
and children's cells are skipped whole. Needs are drawn 64 citizens at a time into a bit mask
(:func:`sim.rng.bernoulli_word`: about ten 64-bit draws per word, each citizen's uniform read one
bit at a time; the fixed levels of a batch's words in one vectorized loop,
:func:`sim.rng.bernoulli_levels`) and the rule runs only for the set bits, found with a
trailing-zero count: the roughly 85 % of adults without a need this month cost about a sixth of a
draw each and no branch. The needs of up to 4,096 consecutive citizens of a cell go through the
rule together in branch-free passes (:func:`sim.behaviour.adoption.decide_batch`); small batches
need by need (:func:`sim.behaviour.adoption.decide`), with identical results. Every draw comes from
the counter-based generator keyed by citizen index (:mod:`sim.rng`), so a citizen's need (its own
53-bit uniform below ``p_need``) is the same whatever the chunking. Tallies are integer sums per
(chunk, province-stratum) segment, so results are identical whatever the number of threads.
"""

from __future__ import annotations

import os

# Idle worker threads sleep instead of spinning between parallel regions. On a machine shared with
# other processes, spinning threads steal the cores the others need (measured on 2 busy cores: a
# 1e5-agent month took 28 ms spinning, 0.9 ms sleeping). Must be set before the OpenMP runtime
# starts, i.e. before the first parallel kernel runs; a value set by the user is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402
from numba.cpython.unsafe.numbers import trailing_zeros  # noqa: E402

from sim.behaviour.adoption import (  # noqa: E402
    BATCH_WORDS,
    N_STAGES,
    batch_workspace,
    cell_hazards,
    decide,
    decide_batch,
    lapse_thresholds,
    utility_factors,
)
from sim.rng import GAMMA, bernoulli_finish, bernoulli_levels, mix64, threshold53, uniform  # noqa: E402

SERIAL_BELOW = 50_000
"""Populations smaller than this run the month on one thread: below it, starting the parallel
region costs more than it saves (results are the same either way)."""
MIN_BATCH = 16
"""Batches of fewer needs than this (small cells) go need by need: the batched passes' set-up costs
more than they save there (results are the same either way)."""
N_CHUNKS = 16
WORD = 64
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


@njit(inline="always", cache=True)
def _span_mask(w, lo, hi):
    """Bits of word ``w`` whose citizens lie in ``[lo, hi)`` (``lo < hi``, word overlaps the span)."""
    first = max(lo - w * WORD, 0)
    last = min(hi - w * WORD, WORD)
    ones = ~np.uint64(0)
    below_last = ones if last == WORD else (np.uint64(1) << np.uint64(last)) - np.uint64(1)
    return (ones << np.uint64(first)) & below_last


def step_citizens(
    cell_start, skill, trust, flags, last_online, u_infra, u_device, u_aware, u_eid, keys, t, p_need, env, prm, n_bins
):
    """One month for every citizen. Adults have a procedure need with probability ``p_need``.

    Args:
        cell_start: first row of each (province, stratum, age) cell, ``(C + 1,)`` int64.
        skill, trust, flags, last_online: ``(N,)`` uint8 citizen arrays (flags and last_online are
            updated in place); u_infra, u_device, u_aware, u_eid: ``(N,)`` uint16 fixed ranks.
        keys: uint64 stream keys ``(need, tier, lapse, choice)`` (:data:`sim.model.MONTH_STREAMS`;
            the last three give two draws each, see :func:`sim.behaviour.adoption.decide`).
        t: month index. p_need: probability that an adult has a procedure to do this month.
        env: province arrays, ``MonthEnv.as_tuple()``.
        prm: rule parameters as a tuple (:func:`sim.behaviour.adoption.param_tuple`).
        n_bins: last-use bins to tally, ``t + 1`` (bins of months before this one).

    Returns:
        ``tally (P, 2, 7)`` dossiers by province, tier and stage; ``use_leave (P, 3, n_bins)`` users
        leaving their previous last-use bin; ``adopt_leave (P, 3, n_bins)`` adopters leaving theirs
        (online again, or lapsed); ``new_users (P, 3)`` citizens who went online this month; all
        int64 counts of agents. A citizen already in this month's bin (an initial adopter, counted
        as a user in month 0, going online again in month 0) neither leaves it nor counts as new.
    """
    pop = (cell_start, skill, trust, flags, last_online, u_infra, u_device, u_aware, u_eid)
    kernel = _step_serial if cell_start[-1] < SERIAL_BELOW else _step_parallel
    return kernel(pop, keys, t, p_need, env, prm, n_bins, MIN_BATCH)


@njit(parallel=True, cache=True)
def _step_parallel(pop, keys, t, p_need, env, prm, n_bins, min_batch):
    """:func:`step_citizens` with the chunks spread over the threads."""
    seg = _segments((pop[0].size - 1) // N_AGES, n_bins)
    survive, factors = lapse_thresholds(prm[9], t + 2), utility_factors(prm)
    for c in prange(N_CHUNKS):
        _step_chunk(c, pop, keys, t, p_need, env, prm, seg, survive, factors, min_batch)
    return _reduce_segments(env[0].shape[0], seg)


@njit(cache=True)
def _step_serial(pop, keys, t, p_need, env, prm, n_bins, min_batch):
    """:func:`step_citizens` on one thread (same chunks, same results)."""
    seg = _segments((pop[0].size - 1) // N_AGES, n_bins)
    survive, factors = lapse_thresholds(prm[9], t + 2), utility_factors(prm)
    for c in range(N_CHUNKS):
        _step_chunk(c, pop, keys, t, p_need, env, prm, seg, survive, factors, min_batch)
    return _reduce_segments(env[0].shape[0], seg)


@njit(cache=True)
def _segments(n_groups, n_bins):
    """Zeroed tallies per (chunk ``c``, province-stratum group) segment, which has index
    ``group + c`` (unique, since a chunk's groups follow the previous chunk's; group ``k`` is
    province ``k // 3``, stratum ``k % 3``): group of the segment (-1 = unused), dossiers
    ``(S, 2, 7)``, users and adopters leaving each last-use bin ``(S, n_bins)``, new users ``(S,)``."""
    n_seg = n_groups + N_CHUNKS
    return (
        np.full(n_seg, -1, np.int64),
        np.zeros((n_seg, 2, N_STAGES), np.int64),
        np.zeros((n_seg, n_bins), np.int32),
        np.zeros((n_seg, n_bins), np.int32),
        np.zeros(n_seg, np.int64),
    )


@njit(cache=True)
def _step_chunk(c, pop, keys, t, p_need, env, prm, seg, survive, factors, min_batch):
    """Chunk ``c`` (a fixed range of whole 64-citizen words), cell by cell, in batches of the needs
    of up to :data:`BATCH_WORDS` words (:func:`decide_batch`; batches smaller than ``min_batch``
    go need by need through :func:`decide`: identical results, less set-up)."""
    cell_start = pop[0]
    seg_group = seg[0]
    n = cell_start[-1]
    words_per_chunk = ((n + WORD - 1) // WORD + N_CHUNKS - 1) // N_CHUNKS
    lo, hi = min(n, c * words_per_chunk * WORD), min(n, (c + 1) * words_per_chunk * WORD)
    if lo >= hi:
        return
    work = batch_workspace()
    idx = work[0][0]
    levels = np.empty((2, BATCH_WORDS), np.uint64)  # a batch's need words after the fixed levels
    lev_below, lev_open = levels[0], levels[1]
    need_thr = threshold53(p_need)
    cell = _first_cell(cell_start, lo)
    i = lo
    while i < hi:
        end = min(cell_start[cell + 1], hi)
        a = cell % N_AGES
        if a > 0 and end > i:
            s = (cell // N_AGES) % N_STRATA
            p = cell // (N_AGES * N_STRATA)
            values = _cell_values(env, p, s, a)
            hazards = cell_hazards(values, prm)
            g = cell // N_AGES + c
            seg_group[g] = cell // N_AGES
            w_last = (end - 1) // WORD
            for w0 in range(i // WORD, w_last + 1, BATCH_WORDS):
                m = 0
                n_words = min(BATCH_WORDS, w_last + 1 - w0)
                bernoulli_levels(keys[0], w0, n_words, need_thr, lev_below, lev_open)
                for q in range(n_words):
                    w = w0 + q
                    span = _span_mask(w, i, end)
                    word = bernoulli_finish(keys[0], w, need_thr, lev_below[q] & span, lev_open[q] & span, span)
                    while word != 0:
                        idx[np.uint64(m)] = w * WORD + trailing_zeros(word)  # unsigned: no wraparound test
                        m += 1
                        word &= word - np.uint64(1)
                if m >= min_batch:
                    decide_batch(m, work, pop, keys, t, values, prm, seg, g, survive, factors, hazards)
                else:
                    _decide_each(m, idx, pop, keys, t, values, prm, seg, g, factors, hazards)
        i = end
        cell += 1


@njit(inline="always", cache=True)
def _decide_each(m, idx, pop, keys, t, values, prm, seg, g, factors, hazards):
    """The needs ``idx[:m]`` one by one through :func:`decide`; tallies into segment ``g``."""
    _, skill, trust, flags, last_online, u_infra, u_device, u_aware, u_eid = pop
    _, seg_tally, seg_use, seg_adopt, seg_new = seg
    rule_keys = (keys[1], keys[2], keys[3])
    for k in range(m):
        j = idx[k]
        f = flags[j]
        adopter = (f & 1) == 1
        last = last_online[j] if adopter else np.uint8(0)
        tier, stage, online, lapsed = decide(
            j,
            t,
            adopter,
            last,
            skill,
            trust,
            u_infra,
            u_device,
            u_aware,
            u_eid,
            rule_keys,
            values,
            prm,
            factors,
            hazards,
        )
        seg_tally[g, tier, stage] += 1
        if online:
            prev = last_online[j]
            if prev <= t:  # initial adopters already sit in month 0's bin (t + 1 = 1)
                seg_use[g, prev] += 1
                seg_new[g] += 1
                if adopter:
                    seg_adopt[g, prev] += 1
            flags[j] = f | np.uint8(1)
            last_online[j] = np.uint8(t + 1)
        elif lapsed:  # lapse needs a month idle, so last <= t
            seg_adopt[g, last] += 1
            flags[j] = f & np.uint8(254)


@njit(cache=True)
def _reduce_segments(n_prov, seg):
    """Sum the (chunk, group) segments' tallies by province and stratum (integer sums: exact)."""
    seg_group, seg_tally, seg_use, seg_adopt, seg_new = seg
    n_bins = seg_use.shape[1]
    tally = np.zeros((n_prov, 2, N_STAGES), np.int64)
    use_leave = np.zeros((n_prov, N_STRATA, n_bins), np.int64)
    adopt_leave = np.zeros((n_prov, N_STRATA, n_bins), np.int64)
    new_users = np.zeros((n_prov, N_STRATA), np.int64)
    for g in range(seg_group.size):
        group = seg_group[g]
        if group < 0:
            continue
        s, p = group % N_STRATA, group // N_STRATA
        tally[p] += seg_tally[g]
        use_leave[p, s] += seg_use[g]
        adopt_leave[p, s] += seg_adopt[g]
        new_users[p, s] += seg_new[g]
    return tally, use_leave, adopt_leave, new_users


N_BUCKETS = 4096


@njit(cache=True)
def _bucket_starts(cuts):
    """For each of 4096 equal buckets of [0, 1), the number of cut points at or below its lower edge
    (``cuts``: ``(256,)`` non-decreasing, last +inf)."""
    starts = np.zeros(N_BUCKETS, np.int64)
    pos = 0
    for b in range(N_BUCKETS):
        edge = b / N_BUCKETS
        while cuts[pos] <= edge:
            pos += 1
        starts[b] = pos
    return starts


@njit(inline="always", cache=True)
def _count_cuts(cuts, starts, u):
    """Number of cut points at or below ``u`` in [0, 1): the count at the lower edge of ``u``'s bucket
    (one look-up) plus the few cut points between that edge and ``u``; 0..255."""
    pos = starts[int(u * N_BUCKETS)]
    while cuts[pos] <= u:
        pos += 1
    return pos


@njit(inline="always", cache=True)
def _rank16(key, i):
    """``int(uniform(key, i) * 65536)``, exactly: the top 16 bits of the same 64-bit draw."""
    return mix64(key + (np.uint64(i) + np.uint64(1)) * GAMMA) >> np.uint64(48)


@njit(parallel=True, cache=True)
def fill_cells(cell_start, province, stratum, age):
    """Write each citizen's province, stratum and age band from its cell (``(N,)`` uint8 outputs;
    cell ``c`` is province ``c // 12``, stratum ``(c // 4) % 3``, age band ``c % 4``)."""
    for cell in prange(cell_start.size - 1):
        lo, hi = cell_start[cell], cell_start[cell + 1]
        province[lo:hi] = cell // (N_STRATA * N_AGES)
        stratum[lo:hi] = (cell // N_AGES) % N_STRATA
        age[lo:hi] = cell % N_AGES


@njit(parallel=True, cache=True)
def fill_citizens(cell_start, skill_cuts, trust_cuts, keys, skill, trust, u_infra, u_device, u_aware, u_eid):
    """Draw each citizen's skill, trust and fixed ranks (synthesis), cell by cell.

    Skill and trust (0-255) are the number of a cell type's cut points at or below one uniform:
    ``skill_cuts[stratum * 4 + age]`` (``(12, 256)``) and ``trust_cuts`` (``(256,)``) hold the
    quantiles of the logit-logistic distribution at ``k / 256`` (see
    :func:`sim.population.logit_logistic_cuts`), so no power is computed per citizen. Ranks are the
    top 16 bits of a counter-based draw (0..65535).

    Args:
        cell_start: first row of each (province, stratum, age) cell, ``(C + 1,)`` int64.
        keys: uint64 keys ``(skill, trust, infra, device, aware, eid)``.
        skill, trust: ``(N,)`` uint8 outputs; u_infra, u_device, u_aware, u_eid: ``(N,)`` uint16 outputs.
    """
    n = cell_start[-1]
    size = (n + N_CHUNKS - 1) // N_CHUNKS
    skill_starts = np.empty((skill_cuts.shape[0], N_BUCKETS), np.int64)
    for k in range(skill_cuts.shape[0]):
        skill_starts[k] = _bucket_starts(skill_cuts[k])
    trust_starts = _bucket_starts(trust_cuts)
    for c in prange(N_CHUNKS):
        lo, hi = min(n, c * size), min(n, (c + 1) * size)
        if lo >= hi:
            continue
        cell = _first_cell(cell_start, lo)
        i = lo
        while i < hi:
            end = min(cell_start[cell + 1], hi)
            kind = cell % (N_STRATA * N_AGES)
            cuts, starts = skill_cuts[kind], skill_starts[kind]
            for j in range(i, end):
                skill[j] = _count_cuts(cuts, starts, uniform(keys[0], j))
                trust[j] = _count_cuts(trust_cuts, trust_starts, uniform(keys[1], j))
            for j in range(i, end):  # no table look-up: the compiler vectorizes this loop
                u_infra[j] = _rank16(keys[2], j)
                u_device[j] = _rank16(keys[3], j)
                u_aware[j] = _rank16(keys[4], j)
                u_eid[j] = _rank16(keys[5], j)
            i = end
            cell += 1


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
