"""Reference implementation of the citizen rule with one ``mesa.Agent`` per citizen.

This is the readable specification of :func:`sim.behaviour.adoption.decide` and of the monthly
kernel (:func:`sim.behaviour.kernel.step_citizens`): the same rule, written as plain Python on
agent objects. It shares the provinces (mesa agents, their trends and their vectorized monthly update) and
the synthesized citizens' attributes with :class:`sim.model.AdoptionModel`, but draws its own random numbers
(``numpy.random.Generator``), so the two agree in distribution, not draw by draw.
``benchmarks/bench_scale.py`` times both side by side and checks that their national trajectories
agree within statistical tolerance.
"""

from __future__ import annotations

import math
import time

import mesa
import numpy as np

from sim.behaviour.adoption import BACKOFFICE, DECLINED, FULL, NO_ACCESS, NOT_OFFERED, PARTIAL, UNAWARE
from sim.model import AdoptionModel


class Citizen(mesa.Agent):
    """One citizen (or one agent standing for ``scale`` people)."""

    def __init__(
        self,
        model: mesa.Model,
        province: int,
        stratum: int,
        age: int,
        skill: int,
        trust: int,
        u_infra: int,
        u_device: int,
        u_aware: int,
        u_eid: int,
        adopter: bool,
        last_online: int,
    ) -> None:
        super().__init__(model)
        self.province, self.stratum, self.age = province, stratum, age
        self.skill, self.trust = skill, trust
        self.u_infra, self.u_device, self.u_aware, self.u_eid = u_infra, u_device, u_aware, u_eid
        self.adopter, self.last_online = adopter, last_online

    def step(self) -> None:
        """One month: maybe a procedure need, then the rule."""
        m = self.model
        if self.age == 0 or m.rng.random() >= m.p_need:
            return
        tier, stage, online, lapsed = self.decide(m.env, m.prm, m.month)
        m.tally[self.province, tier, stage] += 1
        if online:
            self.adopter, self.last_online = True, m.month + 1
        elif lapsed:
            self.adopter = False

    def decide(self, env, prm, t):
        """The rule, step by step (see ``sim/behaviour/adoption.py`` for the references)."""
        rng, p, s = self.model.rng, self.province, self.stratum
        lapsed = self.adopter and rng.random() >= math.exp(-prm.lapse_rate_per_year / 12.0 * (t + 1 - self.last_online))
        kept = self.adopter and not lapsed
        tier = 0 if rng.random() < prm.share_needs_ministry else 1
        u_offer = rng.random()
        if u_offer >= env.offered_online[p, tier]:
            return tier, NOT_OFFERED, False, lapsed
        own = self.u_infra < env.access_thr[p, s] and self.u_device < env.device_thr[p, s, self.age]
        helped = (not own) and rng.random() < env.assisted[p]
        if not (own or helped):
            return tier, NO_ACCESS, False, lapsed
        if self.u_aware >= env.aware_thr[p, s]:
            return tier, UNAWARE, False, lapsed
        if kept:
            p_online = prm.habit_use
        else:
            ease = (max(self.skill, 128) if helped else self.skill) / 256.0 - 0.5
            utility = (
                prm.beta_quality * (env.quality[p] - 0.5)
                + prm.beta_ease * ease
                + prm.beta_trust * (self.trust / 256.0 - 0.5)
                + prm.beta_eid * (self.u_eid < env.eid_thr[p])
                + prm.beta_ministry * (tier == 0)
                + env.utility_shift[p, tier]
            )
            p_online = -math.expm1(-(prm.p_innovation + prm.q_imitation * env.social[p, s]) * math.exp(utility))
        if rng.random() >= p_online:
            return tier, DECLINED, False, lapsed
        if u_offer >= env.offered_full[p, tier]:
            return tier, PARTIAL, True, lapsed
        if rng.random() >= env.backoffice[p, tier]:
            return tier, BACKOFFICE, True, lapsed
        return tier, FULL, True, lapsed


class ReferenceModel(mesa.Model):
    """Citizens as mesa agents on top of an :class:`AdoptionModel`'s provinces.

    Args:
        base: a freshly built :class:`AdoptionModel`; its provinces drive the environment and its
            synthesized population is copied into agents.
        seed: seed of the reference's own random numbers.
    """

    def __init__(self, base: AdoptionModel, seed: int = 1) -> None:
        super().__init__(seed=seed)
        self.base, self.rng = base, np.random.default_rng(seed)
        self.prm = base.cfg.params
        self.p_need = -math.expm1(-self.prm.need_rate_per_year / 12.0)
        pop = base.pop
        for i in range(pop.n):
            Citizen(
                self,
                int(pop.province[i]),
                int(pop.stratum[i]),
                int(pop.age[i]),
                int(pop.skill[i]),
                int(pop.trust[i]),
                int(pop.u_infra[i]),
                int(pop.u_device[i]),
                int(pop.u_aware[i]),
                int(pop.u_eid[i]),
                bool(pop.flags[i] & 1),
                int(pop.last_online[i]),
            )
        self.citizens = self.agents_by_type[Citizen]
        self.n_prov = len(base.codes)
        self.adults = base.adults
        self.month = 0
        self.history: list[tuple[int, int]] = []
        self.citizen_seconds = 0.0

    def step(self) -> None:
        """One month: provinces move (in the base model), then every citizen steps.

        ``citizen_seconds`` accumulates the time spent on the citizens alone (their step and the
        adopter shares they sense), the part the fast kernel replaces; the provinces are the same
        code in both models.
        """
        base = self.base
        base.t = self.month  # provinces read their trends at the base model's month
        t0 = time.perf_counter()
        base.adopter_share = self.adopter_share()
        self.citizen_seconds += time.perf_counter() - t0
        base.province_arrays.update(base)
        self.env = base.month_env()
        self.tally = np.zeros((self.n_prov, 2, 7), np.int64)
        t0 = time.perf_counter()
        self.citizens.do("step")
        self.citizen_seconds += time.perf_counter() - t0
        self.history.append((int(self.tally[:, :, FULL].sum()), int(self.tally.sum())))
        self.month += 1

    def adopter_share(self) -> np.ndarray:
        """Expected adopter share by province and stratum (same definition as the fast model)."""
        lapse = self.prm.lapse_rate_per_year / 12.0
        out = np.zeros((self.n_prov, 3))
        for a in self.citizens:
            if a.adopter and a.age > 0:
                out[a.province, a.stratum] += math.exp(-lapse * max(self.month + 1 - a.last_online, 0))
        return np.divide(out, self.adults, out=np.zeros_like(out), where=self.adults > 0)
