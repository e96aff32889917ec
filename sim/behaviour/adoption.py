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
    (
        access_thr,
        device_thr,
        aware_thr,
        eid_thr,
        on_min,
        on_loc,
        full_min,
        full_loc,
        bo_min,
        bo_loc,
        quality,
        assisted,
        social,
        shift_min,
        shift_loc,
    ) = cell
    (
        share_ministry,
        p_innovation,
        q_imitation,
        b_quality,
        b_ease,
        b_trust,
        b_eid,
        b_ministry,
        habit_use,
        lapse_rate,
    ) = prm
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
    if kept:
        p_online = habit_use
    else:
        ease = (max(skill[j], 128) if helped else skill[j]) / 256.0 - 0.5
        utility = (
            b_quality * (quality - 0.5)
            + b_ease * ease
            + b_trust * (trust[j] / 256.0 - 0.5)
            + b_eid * (u_eid[j] < eid_thr)
            + b_ministry * (tier == 0)
            + (shift_min if tier == 0 else shift_loc)
        )
        p_online = -math.expm1(-(p_innovation + q_imitation * social) * math.exp(utility))
    if uniform(k_choice, j) >= p_online:
        return tier, DECLINED, False, lapsed
    if u_offer >= (full_min if tier == 0 else full_loc):
        return tier, PARTIAL, True, lapsed
    if uniform(k_backoffice, j) >= (bo_min if tier == 0 else bo_loc):
        return tier, BACKOFFICE, True, lapsed
    return tier, FULL, True, lapsed
