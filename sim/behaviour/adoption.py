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

from sim.rng import uniform

from sim.config import ParamsConfig

FULL, NOT_OFFERED, NO_ACCESS, UNAWARE, DECLINED, PARTIAL, BACKOFFICE = range(7)
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


@njit(inline="always", cache=True)
def bass_probability(j, helped, tier, skill, trust, u_eid, cell, prm):
    """P(going online) of citizen ``j`` without a habit that held: the generalized Bass hazard with
    the UTAUT-style utility (step 6 of the rule); shared by :func:`decide` and
    :func:`decide_batch`, so both compute it with the same operations in the same order."""
    eid_thr, quality, social, shift_min, shift_loc = cell[3], cell[10], cell[12], cell[13], cell[14]
    _, p_innovation, q_imitation, b_quality, b_ease, b_trust, b_eid, b_ministry, _, _ = prm
    ease = (max(skill[j], 128) if helped else skill[j]) / 256.0 - 0.5
    utility = (
        b_quality * (quality - 0.5)
        + b_ease * ease
        + b_trust * (trust[j] / 256.0 - 0.5)
        + b_eid * (u_eid[j] < eid_thr)
        + b_ministry * (tier == 0)
        + (shift_min if tier == 0 else shift_loc)
    )
    return -math.expm1(-(p_innovation + q_imitation * social) * math.exp(utility))


@njit(inline="always", cache=True)
def decide(j, t, adopter, last, skill, trust, u_infra, u_device, u_aware, u_eid, keys, cell, prm):
    """Citizen ``j``'s procedure need in month ``t``.

    Uniforms and citizen fields are drawn and read only when the rule gets that far, so the many
    needs that stop early (procedure not offered online, no access) stay cheap.

    Args:
        j: citizen index. adopter: has the habit. last: month of last online use + 1 (0 = never).
        skill, trust (0-255), u_infra, u_device, u_aware, u_eid (fixed uint16 ranks): population
            arrays.
        keys: stream keys ``(tier, offer, lapse, assist, choice, back office)``.
        cell: the citizen's province/stratum/age values in :data:`CELL_ORDER`.
        prm: the rule's parameters in :data:`PARAM_ORDER`.

    Returns:
        ``(tier, stage, online, lapsed)``.
    """
    # the utility's inputs (e-ID, quality, social, shifts, betas) are read by bass_probability
    access_thr, device_thr, aware_thr, _, on_min, on_loc, full_min, full_loc, bo_min, bo_loc = cell[:10]
    assisted = cell[11]
    share_ministry, habit_use, lapse_rate = prm[0], prm[8], prm[9]
    k_tier, k_offer, k_lapse, k_assist, k_choice, k_backoffice = keys
    lapsed = adopter and uniform(k_lapse, j) >= math.exp(-lapse_rate / 12.0 * (t + 1 - last))
    kept = adopter and not lapsed
    tier = 0 if uniform(k_tier, j) < share_ministry else 1
    u_offer = uniform(k_offer, j)
    if u_offer >= (on_min if tier == 0 else on_loc):
        return tier, NOT_OFFERED, False, lapsed
    own = u_infra[j] < access_thr and u_device[j] < device_thr
    helped = (not own) and uniform(k_assist, j) < assisted
    if not (own or helped):
        return tier, NO_ACCESS, False, lapsed
    if u_aware[j] >= aware_thr:
        return tier, UNAWARE, False, lapsed
    p_online = habit_use if kept else bass_probability(j, helped, tier, skill, trust, u_eid, cell, prm)
    if uniform(k_choice, j) >= p_online:
        return tier, DECLINED, False, lapsed
    if u_offer >= (full_min if tier == 0 else full_loc):
        return tier, PARTIAL, True, lapsed
    if uniform(k_backoffice, j) >= (bo_min if tier == 0 else bo_loc):
        return tier, BACKOFFICE, True, lapsed
    return tier, FULL, True, lapsed


# The same rule for a batch of needs ----------------------------------------------------------
# ``decide`` follows one need through the steps with a branch at each; with ~15 % of adults having
# a need each month those branches are unpredictable, and each step waits for the uniform before
# it. ``decide_batch`` takes the needs of up to BATCH_WORDS * 64 consecutive citizens of one cell
# and runs the same rule in passes: every uniform of every need (pure functions of key and
# citizen, so drawing one the rule would not reach changes nothing), a branch-free pass that
# classifies each need, the utility only for the needs that reach the choice without a kept
# habit, and a branch-free pass that applies the outcomes. Same comparisons on the same values:
# results identical to ``decide`` (tests/test_population.py).

BATCH_WORDS = 16
BATCH = BATCH_WORDS * 64


@njit(cache=True)
def batch_workspace():
    """Scratch arrays of one chunk: ``(index, utility list) (2, BATCH)`` int64, ``uniforms and
    P(online) (7, BATCH)`` float64, ``(code, last use) (2, BATCH)`` uint8."""
    return np.empty((2, BATCH), np.int64), np.empty((7, BATCH)), np.empty((2, BATCH), np.uint8)


@njit(cache=True)
def lapse_survival(lapse_rate, n):
    """``exp(-lapse_rate / 12 * k)`` for ``k = 0 .. n - 1`` idle months (the habit's survival,
    computed as in :func:`decide`)."""
    out = np.empty(n)
    for k in range(n):
        out[k] = math.exp(-lapse_rate / 12.0 * k)
    return out


@njit(cache=True)
def _fill_uniforms(idx, m, key, out):
    """``out[k] = uniform(key, idx[k])`` for ``k < m`` (a loop the compiler vectorizes)."""
    for k in range(m):
        out[k] = uniform(key, idx[k])


# bits of a need's code in the batched passes
MINISTRY, OFFERED, ACCESS, AWARE, HELPED, LAPSED, ADOPTER = 1, 2, 4, 8, 16, 32, 64


@njit(cache=True)
def _classify(idx, m, flags, last_online, u_infra, u_device, u_aware, u, survive, t, cell, prm, code, prevs):
    """Branch-free first pass: the steps up to awareness of each need as bits of ``code[k]``, and the
    citizen's last-use month in ``prevs[k]``."""
    access_thr, device_thr, aware_thr = cell[0], cell[1], cell[2]
    on_min, on_loc, assisted = cell[4], cell[5], cell[11]
    share_ministry = prm[0]
    u_tier, u_offer, u_lapse, u_assist = u[0], u[1], u[2], u[3]
    for k in range(m):
        j = idx[k]
        prev = last_online[j]
        adopter = (flags[j] & np.uint8(1)) != 0
        lapsed = adopter & (u_lapse[k] >= survive[(t + 1 - prev) if adopter else 0])
        ministry = u_tier[k] < share_ministry
        offered = u_offer[k] < (on_min if ministry else on_loc)
        own = (u_infra[j] < access_thr) & (u_device[j] < device_thr)
        helped = (not own) & (u_assist[k] < assisted)
        aware = u_aware[j] < aware_thr
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


@njit(cache=True)
def decide_batch(m, work, pop, keys, t, cell, prm, seg, g, survive):
    """:func:`decide` for the needs ``work[0][0][:m]`` of one cell, with their outcomes applied.

    Args:
        m: number of needs. work: :func:`batch_workspace` (row 0 of its first array holds the
            citizen indices, increasing). pop: the kernel's population arrays. keys: the month's
            stream keys (need first). cell, prm: as for :func:`decide`. seg: the kernel's segment
            tallies; ``g`` this cell's segment. survive: :func:`lapse_survival` for this month.
    """
    _, skill, trust, flags, last_online, u_infra, u_device, u_aware, u_eid = pop
    _, seg_tally, seg_use, seg_adopt, seg_new = seg
    full_min, full_loc, bo_min, bo_loc = cell[6], cell[7], cell[8], cell[9]
    habit_use = prm[8]
    ints, u, small = work
    idx, chooser = ints[0], ints[1]
    code, prevs = small[0], small[1]
    for s in range(6):  # tier, offer, lapse, assist, choice, back office
        _fill_uniforms(idx, m, keys[1 + s], u[s])
    _classify(idx, m, flags, last_online, u_infra, u_device, u_aware, u, survive, t, cell, prm, code, prevs)
    p_online = u[6]
    n_choose = 0
    reach = OFFERED | ACCESS | AWARE
    for k in range(m):  # needs that reach the choice without a habit that held: the Bass hazard
        c = code[k]
        p_online[k] = habit_use
        chooser[n_choose] = k
        n_choose += ((c & reach) == reach) & (((c & ADOPTER) == 0) | ((c & LAPSED) != 0))
    for e in range(n_choose):
        k = chooser[e]
        helped, tier = (code[k] & HELPED) != 0, 0 if (code[k] & MINISTRY) else 1
        p_online[k] = bass_probability(idx[k], helped, tier, skill, trust, u_eid, cell, prm)
    u_offer, u_choice, u_backoffice = u[1], u[4], u[5]
    new_users = 0
    for k in range(m):
        j = idx[k]
        c = code[k]
        ministry = (c & MINISTRY) != 0
        offered, access, aware = (c & OFFERED) != 0, (c & ACCESS) != 0, (c & AWARE) != 0
        lapsed, adopter = (c & LAPSED) != 0, (c & ADOPTER) != 0
        online = offered & access & aware & (u_choice[k] < p_online[k])
        partial = u_offer[k] >= (full_min if ministry else full_loc)
        done = u_backoffice[k] < (bo_min if ministry else bo_loc)
        stage = FULL if done else BACKOFFICE
        stage = PARTIAL if partial else stage
        stage = stage if online else DECLINED
        stage = stage if aware else UNAWARE
        stage = stage if access else NO_ACCESS
        stage = stage if offered else NOT_OFFERED
        seg_tally[g, 0 if ministry else 1, stage] += 1
        prev = prevs[k]
        fresh = online & (prev <= t)  # initial adopters already sit in month 0's bin (t + 1 = 1)
        seg_use[g, prev] += fresh
        new_users += fresh
        seg_adopt[g, prev] += adopter & (fresh | ((not online) & lapsed))
        f = flags[j]
        flags[j] = (f | np.uint8(1)) if online else ((f & np.uint8(254)) if lapsed else f)
        last_online[j] = np.uint8(t + 1) if online else prev
    seg_new[g] += new_users
