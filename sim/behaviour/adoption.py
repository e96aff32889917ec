"""The citizen rule: who goes online for a procedure, and whether the dossier ends fully online.

For each citizen with a need this month (vectorized over all of them):

1. the procedure's tier is ministries with probability ``share_needs_ministry``, else localities;
2. it is *offered online* (at least online submission) with probability
   ``offered_online[province, tier]``, and fully online (submission to result) for the part
   ``offered_full[province, tier]`` of the volume (the two are nested: same uniform);
3. the citizen has *access* if their household has electricity and connectivity and they own a
   device (fixed ranks below province coverage, see :mod:`sim.population`), or, failing that, a
   community digital team helps them (probability ``assisted[province]``);
4. they are *aware* of online services if their rank is below the province-stratum awareness;
5. they *choose* the online channel: an adopter whose habit has not lapsed
   (``P(kept) = exp(-lapse * months since last use)``) does so with probability ``habit_use``; a
   non-adopter with the generalized Bass hazard (Bass 1969, Management Science 15:215; Bass,
   Krishnan & Jain 1994, Marketing Science 13:203)
   ``P = 1 - exp(-(p + q * F_local) * exp(U))`` where ``F_local`` is the adopter share of adults in
   the same province and stratum and ``U`` is a UTAUT-style utility (Venkatesh et al. 2003, MIS
   Quarterly 27:425): usability of services, ease (digital skill, or a helper's when assisted),
   trust, e-ID and tier;
6. a dossier submitted online for a procedure offered fully online is completed and returned
   online by the back office with probability ``backoffice[province, tier]``.

A citizen who submits online "uses online public services"; only a dossier that passes every step
counts as fully online. ``stage`` records the first step a
dossier fails at, which gives the bottleneck decomposition. With every covariate at zero, access,
awareness and supply at one, ``habit_use = 1`` and no lapse, the adoption curve is the discrete
generalized Bass model (tested in ``tests/test_mechanisms.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import ParamsConfig

FULL, NOT_OFFERED, NO_ACCESS, UNAWARE, DECLINED, PARTIAL, BACKOFFICE = range(7)
STAGES = ("full_online", "not_offered", "no_access", "unaware", "declined", "not_full_process", "backoffice")


@dataclass
class MonthEnv:
    """Province-level inputs of one month (``P`` provinces, thresholds comparable with uint16 ranks).

    Attributes:
        access_thr: household connectivity (electricity and broadband) threshold, ``(P, 3)`` int32.
        device_thr: device threshold by stratum and age band, ``(P, 3, 4)`` int32.
        aware_thr: awareness threshold, ``(P, 3)`` int32.
        eid_thr: e-ID threshold, ``(P,)`` int32.
        offered_online: share of dossier volume offered online at any level, by tier, ``(P, 2)``.
        offered_full: share of dossier volume offered fully online, by tier, ``(P, 2)``.
        backoffice: P(completed fully online | submitted online) by tier, ``(P, 2)``.
        quality: usability of offered services, ``(P,)``.
        assisted: P(assisted use | no own access), ``(P,)``.
        social: adopter share of adults by stratum, ``(P, 3)``.
    """

    access_thr: np.ndarray
    device_thr: np.ndarray
    aware_thr: np.ndarray
    eid_thr: np.ndarray
    offered_online: np.ndarray
    offered_full: np.ndarray
    backoffice: np.ndarray
    quality: np.ndarray
    assisted: np.ndarray
    social: np.ndarray


def decide(cit: dict[str, np.ndarray], t: int, env: MonthEnv, prm: ParamsConfig,
           u: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Apply the rule to the citizens with a need this month.

    Args:
        cit: the needers' state, gathered from the population: ``province, stratum, age, skill,
            trust, flags, last_online, u_infra, u_device, u_aware, u_eid``, each ``(n,)``.
        t: month index.
        env: this month's province-level inputs.
        prm: behavioural parameters.
        u: uniforms in [0, 1) from named streams, each ``(n,)``: ``tier, offer, lapse, assist,
            choice, backoffice``.

    Returns:
        ``tier`` (0 ministries, 1 localities), ``stage`` (first failed step, :data:`STAGES`),
        ``online`` (went online), ``kept`` (adopter whose habit held), ``lapsed`` (adopter whose
        habit lapsed), each ``(n,)``.
    """
    p, s = cit["province"].astype(np.intp), cit["stratum"].astype(np.intp)
    tier = (u["tier"] >= prm.share_needs_ministry).astype(np.intp)
    offered = u["offer"] < env.offered_online[p, tier]
    full_process = u["offer"] < env.offered_full[p, tier]
    own = (cit["u_infra"] < env.access_thr[p, s]) & (cit["u_device"] < env.device_thr[p, s, cit["age"]])
    helped = ~own & (u["assist"] < env.assisted[p])
    access = own | helped
    aware = cit["u_aware"] < env.aware_thr[p, s]

    adopter = (cit["flags"] & 1).astype(bool)
    months_idle = np.float32(t + 1) - cit["last_online"].astype(np.float32)
    kept = adopter & (u["lapse"] < np.exp(np.float32(-prm.lapse_rate_per_year / 12.0) * months_idle))
    lapsed = adopter & ~kept

    ease = np.where(helped, np.maximum(cit["skill"], 128), cit["skill"]).astype(np.float32) / 256.0 - 0.5
    utility = (prm.beta_quality * (env.quality[p] - 0.5) + prm.beta_ease * ease
               + prm.beta_trust * (cit["trust"].astype(np.float32) / 256.0 - 0.5)
               + prm.beta_eid * (cit["u_eid"] < env.eid_thr[p]) + prm.beta_ministry * (tier == 0))
    hazard = (prm.p_innovation + prm.q_imitation * env.social[p, s]) * np.exp(utility)
    p_online = np.where(kept, np.float32(prm.habit_use), -np.expm1(-hazard))
    candidate = offered & access & aware
    online = candidate & (u["choice"] < p_online)
    full = online & full_process & (u["backoffice"] < env.backoffice[p, tier])

    stage = np.full(p.size, BACKOFFICE, np.int8)
    stage[full] = FULL
    stage[online & ~full_process] = PARTIAL
    stage[candidate & ~online] = DECLINED
    stage[offered & access & ~aware] = UNAWARE
    stage[offered & ~access] = NO_ACCESS
    stage[~offered] = NOT_OFFERED
    return {"tier": tier, "stage": stage, "online": online, "kept": kept, "lapsed": lapsed}
