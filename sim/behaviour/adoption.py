"""The citizen rule: who goes online for a procedure, and whether the dossier ends fully online.

For each citizen with a need this month:

1. an adopter's habit lapses with probability ``1 - exp(-lapse * months since last use)``;
2. the procedure's tier is ministries with probability ``share_needs_ministry``, else localities;
3. it is *offered online* (at least online submission) with probability
   ``offered_online[province, tier]``, and fully online (submission to result) for the part
   ``offered_full[province, tier]`` of the volume (nested: the same uniform decides both);
4. the citizen has *access* if their household has electricity and connectivity and they own a
   device (fixed ranks below province coverage, see :mod:`sim.population`), or, failing that, a
   community digital team helps them (probability ``assisted[province]``);
5. they are *aware* of online services if their rank is below the province-stratum awareness;
6. they *choose* the online channel: an adopter whose habit held does so with probability
   ``habit_use``; anyone else with the generalized Bass hazard (Bass 1969, Management Science
   15:215; Bass, Krishnan & Jain 1994, Marketing Science 13:203)
   ``P = 1 - exp(-(p + q * F_local) * exp(U))``, where ``F_local`` is the adopter share of adults in
   the same province and stratum and ``U`` is a UTAUT-style utility (Venkatesh et al. 2003, MIS
   Quarterly 27:425): usability of services, ease (digital skill, or a helper's when assisted),
   trust, e-ID, tier, and a province/tier shift that levers set (fee incentives, electronic-only
   procedures; 0 in the baseline);
7. a dossier submitted online for a procedure offered fully online is completed and returned
   online by the back office with probability ``backoffice[province, tier]``.

A citizen who submits online "uses online public services"; only a dossier that passes every step
counts as fully online. ``stage`` is the first step a dossier fails at (the bottleneck). With every
covariate at zero, access, awareness and supply at one, ``habit_use = 1`` and no lapse, adoption
follows the discrete generalized Bass model (``tests/test_mechanisms.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.rng import draw_pair, threshold53, unit

from sim.config import ParamsConfig

FULL, NOT_OFFERED, NO_ACCESS, UNAWARE, DECLINED, PARTIAL, BACKOFFICE = range(7)
N_STAGES = 7
STAGES = ("full_online", "not_offered", "no_access", "unaware", "declined", "not_full_process", "backoffice")
PARAM_ORDER = (
    "share_needs_ministry",
    "p_innovation",
    "q_imitation",
    "beta_quality",
    "beta_ease",
    "beta_trust",
    "beta_eid",
    "beta_ministry",
    "habit_use",
    "lapse_rate_per_year",
)


def param_tuple(prm: ParamsConfig) -> tuple[float, ...]:
    """The rule's parameters as a tuple of floats in :data:`PARAM_ORDER` (for compiled kernels)."""
    return tuple(float(getattr(prm, k)) for k in PARAM_ORDER)


CELL_ORDER = (
    "access_thr",
    "device_thr",
    "aware_thr",
    "eid_thr",
    "offered_online_ministries",
    "offered_online_localities",
    "offered_full_ministries",
    "offered_full_localities",
    "backoffice_ministries",
    "backoffice_localities",
    "quality",
    "assisted",
    "social",
    "utility_shift_ministries",
    "utility_shift_localities",
)


N_LEVELS = 256
"""Levels of the 0-255 skill and trust scores."""


@njit(cache=True)
def utility_factors(prm):
    """``exp`` of the utility's skill and trust terms for every score, ``(2, 256)``: row 0
    ``exp(beta_ease * (s / 256 - 0.5))`` (ease from skill ``s``), row 1
    ``exp(beta_trust * (s / 256 - 0.5))``. Computed once a month, so the Bass hazard of a citizen
    costs two look-ups and one ``exp`` (:func:`bass_probability`)."""
    b_ease, b_trust = prm[4], prm[5]
    out = np.empty((2, N_LEVELS))
    for s in range(N_LEVELS):
        out[0, s] = math.exp(b_ease * (s / 256.0 - 0.5))
        out[1, s] = math.exp(b_trust * (s / 256.0 - 0.5))
    return out


@njit(inline="always", cache=True)
def cell_hazards(cell, prm):
    """The part of the Bass hazard ``(p + q * F_local) * exp(U)`` shared by a cell's citizens, for
    (ministries, localities) x (without, with e-ID): ``(p + q * F_local) * exp(beta_quality *
    (quality - 0.5) + beta_eid * eid + beta_ministry * ministries + shift)``."""
    quality, social, shift_min, shift_loc = cell[10], cell[12], cell[13], cell[14]
    _, p_innovation, q_imitation, b_quality, _, _, b_eid, b_ministry, _, _ = prm
    base = p_innovation + q_imitation * social
    common = b_quality * (quality - 0.5)
    min_no = base * math.exp(common + b_ministry + shift_min)
    loc_no = base * math.exp(common + shift_loc)
    e_eid = math.exp(b_eid)
    return min_no, min_no * e_eid, loc_no, loc_no * e_eid


@njit(inline="always", cache=True)
def bass_probability(j, helped, tier, skill, trust, u_eid, eid_thr, factors, hazards):
    """P(going online) of citizen ``j`` without a habit that held (step 6 of the rule):
    ``1 - exp(-(p + q * F_local) * exp(U))``, the utility's exponential being the product of the
    cell's part (:func:`cell_hazards`, by tier and e-ID) and the skill and trust factors
    (:func:`utility_factors`); ease is the better of the citizen's and a helper's skill (128) when
    assisted. Shared by :func:`decide` and :func:`decide_batch`, so both compute it with the same
    operations in the same order."""
    s = max(skill[j], np.uint8(128)) if helped else skill[j]
    h_min, h_min_eid, h_loc, h_loc_eid = hazards  # selected, not indexed: a tuple index is a branch
    h_no = h_min if tier == 0 else h_loc
    h_eid = h_min_eid if tier == 0 else h_loc_eid
    hazard = (h_eid if u_eid[j] < eid_thr else h_no) * factors[0, s] * factors[1, trust[j]]
    return 1.0 - math.exp(-hazard)


@njit(inline="always", cache=True)
def decide(j, t, adopter, last, skill, trust, u_infra, u_device, u_aware, u_eid, keys, cell, prm, factors, hazards):
    """Citizen ``j``'s procedure need in month ``t``.

    Draws and citizen fields are drawn and read only when the rule gets that far, so the many
    needs that stop early (procedure not offered online, no access) stay cheap.

    Args:
        j: citizen index. adopter: has the habit. last: month of last online use + 1 (0 = never).
        skill, trust (0-255), u_infra, u_device, u_aware, u_eid (fixed uint16 ranks): population
            arrays.
        keys: stream keys ``(tier, lapse, choice)``; each gives two draws (:func:`sim.rng.draw_pair`):
            tier and offer, lapse and assistance, choice and back office.
        cell: the citizen's province/stratum/age values in :data:`CELL_ORDER`.
        prm: the rule's parameters in :data:`PARAM_ORDER`.
        factors, hazards: :func:`utility_factors` of ``prm`` and :func:`cell_hazards` of the cell.

    Returns:
        ``(tier, stage, online, lapsed)``.
    """
    access_thr, device_thr, aware_thr, eid_thr, on_min, on_loc, full_min, full_loc, bo_min, bo_loc = cell[:10]
    assisted = cell[11]
    share_ministry, habit_use, lapse_rate = prm[0], prm[8], prm[9]
    k_tier, k_lapse, k_choice = keys
    b_lapse, b_assist = draw_pair(k_lapse, j)
    lapsed = adopter and unit(b_lapse) >= math.exp(-lapse_rate / 12.0 * (t + 1 - last))
    kept = adopter and not lapsed
    b_tier, b_offer = draw_pair(k_tier, j)
    tier = 0 if unit(b_tier) < share_ministry else 1
    u_offer = unit(b_offer)
    if u_offer >= (on_min if tier == 0 else on_loc):
        return tier, NOT_OFFERED, False, lapsed
    own = u_infra[j] < access_thr and u_device[j] < device_thr
    helped = (not own) and unit(b_assist) < assisted
    if not (own or helped):
        return tier, NO_ACCESS, False, lapsed
    if u_aware[j] >= aware_thr:
        return tier, UNAWARE, False, lapsed
    p_online = habit_use if kept else bass_probability(j, helped, tier, skill, trust, u_eid, eid_thr, factors, hazards)
    b_choice, b_backoffice = draw_pair(k_choice, j)
    if unit(b_choice) >= p_online:
        return tier, DECLINED, False, lapsed
    if u_offer >= (full_min if tier == 0 else full_loc):
        return tier, PARTIAL, True, lapsed
    if unit(b_backoffice) >= (bo_min if tier == 0 else bo_loc):
        return tier, BACKOFFICE, True, lapsed
    return tier, FULL, True, lapsed


# The same rule for a batch of needs ----------------------------------------------------------
# ``decide`` follows one need through the steps with a branch at each; with ~15 % of adults having
# a need each month those branches are unpredictable, and each step waits for the uniform before
# it. ``decide_batch`` takes the needs of up to BATCH_WORDS * 64 consecutive citizens of one cell
# and runs the same rule in passes: the tier, offer, lapse and assistance draws of every need
# (pure functions of key and citizen, so drawing one the rule would not reach changes nothing), a
# branch-free pass that classifies each need, the Bass hazard only for the needs that reach the
# choice without a habit that held, a branch-free pass for the outcomes that makes the choice and
# back-office draws as it goes (0.94 of the time of storing them in a pass of their own), and one
# that applies them. Helpers are inlined: a compiled call taking arrays adds atomic reference
# counting per array and call. Indices are unsigned (uint64 index lists, ``range(np.uint64(m))``):
# numba adds a test and an add to every read with a signed index, which may be negative and count
# from the end. With that, and the Bass hazard selected instead of indexed from a tuple (a
# branch), a captured national month takes 0.75 of the kernel's earlier time (paired calls, two
# threads). Same tests on the same values (draws and ranks compared as integers, exactly): results
# identical to ``decide`` (tests/test_population.py).

BATCH_WORDS = 64
BATCH = BATCH_WORDS * 64


@njit(cache=True)
def batch_workspace():
    """Scratch arrays of one chunk: ``(index, Bass list) (2, BATCH)`` uint64 (unsigned, so
    reading with them skips numba's negative-index test); the needs' draws
    ``(4, BATCH)`` uint64 (tier, offer, lapse, assist, from
    :func:`sim.rng.draw_pair`); ``P(online) (BATCH,)`` float64; ``(code, last use, outcome) (3,
    BATCH)`` uint8; and the batch's dossier counts by outcome ``(4, 16)`` int64 (four copies, so
    consecutive needs with the same outcome do not wait for each other's count)."""
    return (
        np.empty((2, BATCH), np.uint64),
        np.empty((4, BATCH), np.uint64),
        np.empty(BATCH),
        np.empty((3, BATCH), np.uint8),
        np.empty((4, 16), np.int64),
    )


@njit(cache=True)
def lapse_thresholds(lapse_rate, n):
    """:func:`sim.rng.threshold53` of the habit's survival ``exp(-lapse_rate / 12 * k)`` for
    ``k = 0 .. n - 1`` idle months (computed as in :func:`decide`): the habit holds when the lapse
    draw is below it."""
    out = np.empty(n, np.uint64)
    for k in range(n):
        out[k] = threshold53(math.exp(-lapse_rate / 12.0 * k))
    return out


@njit(inline="always", cache=True)
def rank_threshold(thr):
    """The integer ``T`` with ``rank < T`` exactly when ``rank < thr``, for 16-bit ranks: the
    ceiling of ``thr`` clipped to ``[0, 65536]`` (0 for NaN)."""
    if not thr > 0.0:
        return 0
    return min(int(math.ceil(thr)), 65536)


@njit(inline="always", cache=True)
def _fill_pairs(idx, m, key, high, low):
    """``high[k], low[k] = draw_pair(key, idx[k])`` for ``k < m`` (a loop the compiler vectorizes)."""
    for k in range(np.uint64(m)):
        high[k], low[k] = draw_pair(key, idx[k])


# bits of a need's code in the batched passes
MINISTRY, OFFERED, ACCESS, AWARE, HELPED, LAPSED, ADOPTER, ONLINE = 1, 2, 4, 8, 16, 32, 64, 128


@njit(inline="always", cache=True)
def _classify(
    idx, m, flags, last_online, u_infra, u_device, u_aware, bits, survive, t, cell, prm, p_online, small, chooser
):
    """Branch-free first pass: the steps up to awareness of each need as bits of ``small[0][k]``,
    the citizen's last-use month in ``small[1][k]`` and ``P(online) = habit_use`` in
    ``p_online[k]``; the needs that reach the choice without a habit that held (those that take the
    Bass hazard) are listed in ``chooser``. Returns their number. Draws are compared with
    probabilities as integers (:func:`sim.rng.threshold53`) and ranks with thresholds as integers
    (:func:`rank_threshold`): the same tests as :func:`decide`."""
    access_thr, device_thr, aware_thr = rank_threshold(cell[0]), rank_threshold(cell[1]), rank_threshold(cell[2])
    on_min, on_loc, assisted = threshold53(cell[4]), threshold53(cell[5]), threshold53(cell[11])
    share_ministry, habit_use = threshold53(prm[0]), prm[8]
    b_tier, b_offer, b_lapse, b_assist = bits[0], bits[1], bits[2], bits[3]
    code, prevs = small[0], small[1]
    n_choose = 0
    for k in range(np.uint64(m)):
        j = idx[k]
        prev = last_online[j]
        adopter = (flags[j] & np.uint8(1)) != 0
        lapsed = adopter & (b_lapse[k] >= survive[(t + 1 - prev) if adopter else 0])
        ministry = b_tier[k] < share_ministry
        offered = b_offer[k] < (on_min if ministry else on_loc)
        own = (u_infra[j] < access_thr) & (u_device[j] < device_thr)
        helped = (not own) & (b_assist[k] < assisted)
        aware = u_aware[j] < aware_thr
        p_online[k] = habit_use
        chooser[n_choose] = k
        n_choose += offered & (own | helped) & aware & ((not adopter) | lapsed)
        code[k] = (
            np.uint8(ministry)
            | (np.uint8(offered) << np.uint8(1))
            | (np.uint8(own | helped) << np.uint8(2))
            | (np.uint8(aware) << np.uint8(3))
            | (np.uint8(helped) << np.uint8(4))
            | (np.uint8(lapsed) << np.uint8(5))
            | (np.uint8(adopter) << np.uint8(6))
        )
        prevs[k] = prev
    return n_choose


@njit(inline="always", cache=True)
def decide_batch(m, work, pop, keys, t, cell, prm, seg, g, survive, factors, hazards):
    """:func:`decide` for the needs ``work[0][0][:m]`` of one cell, with their outcomes applied.

    Args:
        m: number of needs. work: :func:`batch_workspace` (row 0 of its first array holds the
            citizen indices, increasing). pop: the kernel's population arrays. keys: the month's
            stream keys (need first). cell, prm: as for :func:`decide`. seg: the kernel's segment
            tallies; ``g`` this cell's segment. survive: :func:`lapse_thresholds` for this month.
        factors, hazards: as for :func:`decide`.
    """
    _, skill, trust, flags, last_online, u_infra, u_device, u_aware, u_eid = pop
    _, seg_tally, seg_use, seg_adopt, seg_new = seg
    eid_thr = cell[3]
    full_min, full_loc, bo_min, bo_loc = (
        threshold53(cell[6]),
        threshold53(cell[7]),
        threshold53(cell[8]),
        threshold53(cell[9]),
    )
    ints, bits, p_online, small, counts = work
    idx, chooser = ints[0], ints[1]
    code, prevs, outcome = small[0], small[1], small[2]
    for s in range(2):  # (tier, offer), (lapse, assist)
        _fill_pairs(idx, m, keys[1 + s], bits[2 * s], bits[2 * s + 1])
    n_choose = _classify(
        idx, m, flags, last_online, u_infra, u_device, u_aware, bits, survive, t, cell, prm, p_online, small, chooser
    )
    for e in range(n_choose):  # the Bass hazard of the needs that reach the choice without a habit
        k = chooser[e]
        helped, tier = (code[k] & HELPED) != 0, 0 if (code[k] & MINISTRY) else 1
        p_online[k] = bass_probability(idx[k], helped, tier, skill, trust, u_eid, eid_thr, factors, hazards)
    b_offer, k_choice = bits[1], keys[3]
    for k in range(np.uint64(m)):  # outcome (tier * 7 + stage) and online bit of each need, branch-free
        c = code[k]
        b_choice, b_backoffice = draw_pair(k_choice, idx[k])
        ministry = (c & MINISTRY) != 0
        offered, access, aware = (c & OFFERED) != 0, (c & ACCESS) != 0, (c & AWARE) != 0
        online = offered & access & aware & (unit(b_choice) < p_online[k])
        partial = b_offer[k] >= (full_min if ministry else full_loc)
        done = b_backoffice < (bo_min if ministry else bo_loc)
        stage = FULL if done else BACKOFFICE
        stage = PARTIAL if partial else stage
        stage = stage if online else DECLINED
        stage = stage if aware else UNAWARE
        stage = stage if access else NO_ACCESS
        stage = stage if offered else NOT_OFFERED
        outcome[k] = np.uint8(stage + (0 if ministry else N_STAGES))
        code[k] = c | (np.uint8(online) << np.uint8(7))
    counts[:] = 0
    new_users = 0
    for k in range(np.uint64(m)):  # apply: counts, last-use bins, habits
        j = idx[k]
        c = code[k]
        online, lapsed, adopter = (c & ONLINE) != 0, (c & LAPSED) != 0, (c & ADOPTER) != 0
        counts[k & np.uint64(3), outcome[k]] += 1
        prev = prevs[k]
        fresh = online & (prev <= t)  # initial adopters already sit in month 0's bin (t + 1 = 1)
        seg_use[g, prev] += fresh
        new_users += fresh
        seg_adopt[g, prev] += adopter & (fresh | ((not online) & lapsed))
        f = flags[j]
        flags[j] = (f | np.uint8(1)) if online else ((f & np.uint8(254)) if lapsed else f)
        last_online[j] = np.uint8(t + 1) if online else prev
    for b in range(N_STAGES):
        seg_tally[g, 0, b] += counts[0, b] + counts[1, b] + counts[2, b] + counts[3, b]
        b2 = b + N_STAGES
        seg_tally[g, 1, b] += counts[0, b2] + counts[1, b2] + counts[2, b2] + counts[3, b2]
    seg_new[g] += new_users
