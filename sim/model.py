"""``AdoptionModel``: provinces (mesa agents) and citizens (numpy arrays), stepped monthly."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.behaviour.adoption import STAGES, MonthEnv, decide
from sim.config import RunConfig
from sim.drivers import province_indices
from sim.geography import N_STRATA, N_TIERS, strata_shares
from sim.population import ADOPTER, cell_sizes, seed_adopters, synthesize
from sim.provinces import Province, to_threshold
from sim.results import Recorder
from sim.rng import Stream, generator
from sim.timeline import Timeline

if TYPE_CHECKING:
    from sim.observed import ObservedData

CITIZEN_FIELDS = ("province", "stratum", "age", "skill", "trust", "flags", "last_online",
                  "u_infra", "u_device", "u_aware", "u_eid")
DECISION_STREAMS = {"tier": Stream.TIER, "offer": Stream.OFFER, "lapse": Stream.LAPSE,
                    "assist": Stream.ASSIST, "choice": Stream.CHOICE, "backoffice": Stream.BACKOFFICE}


class AdoptionModel(mesa.Model):
    """Online public-service adoption in Vietnam's 63 provinces, one step per month.

    Args:
        cfg: validated run config.
        observed: validated observed data (province tables).
        replicate: global replicate index (selects the random streams).
        levers: objects with ``apply(model)``, called at the start of every month.
    """

    def __init__(self, cfg: RunConfig, observed: ObservedData, replicate: int = 0,
                 levers: list | None = None) -> None:
        super().__init__(seed=cfg.rng_seed)
        self.cfg, self.replicate, self.levers = cfg, int(replicate), list(levers or [])
        self.timeline = Timeline(cfg.timeline.start, cfg.timeline.end)
        self.t = 0
        self.year = float(self.timeline.decimal_year(0))
        table = observed.provinces
        self.codes = list(table.index)
        pc = cfg.population
        weights = strata_shares(table, pc.remote_share_of_minority, pc.remote_floor_mountain,
                                pc.remote_share_island)
        pop_people = table["pop_census2019"].to_numpy(float)
        national_w = (pop_people @ weights) / pop_people.sum()
        d = cfg.drivers
        factor = np.array([d.device_factor_urban, d.device_factor_rural, d.device_factor_remote])
        self.device_stratum_factor = factor / (national_w @ factor)
        n_prov = len(self.codes)
        self.adopter_share = np.zeros((n_prov, N_STRATA))
        z = province_indices(table, observed.tables["province_papi_egov"])
        self.provinces: list[Province] = [
            Province(self, i, code, table.at[code, "name_vi"], pop_people[i], weights[i],
                     table.at[code, "hh_electricity_2016"], z["internet"][i], z["egov"][i],
                     cfg.params.initial_awareness, d.it_budget_share)
            for i, code in enumerate(self.codes)]
        self.pop = synthesize(cell_sizes(pop_people, weights, pc.scale), pc, cfg.rng_seed, self.replicate)
        self.adults = self.pop.cell_counts(n_prov).astype(float)
        env = self.month_env()
        seed_adopters(self.pop, cfg.params.initial_adopter_share, self.own_access(env),
                      generator(cfg.rng_seed, self.replicate, Stream.SYNTH_INITIAL))
        n_bins = self.timeline.n_months + 1
        self.hist_use = self._histogram(self.pop.age > 0, n_bins)
        self.hist_adopt = self._histogram((self.pop.age > 0) & (self.pop.flags & ADOPTER > 0), n_bins)
        self.update_adopter_share(-1)
        self.recorder = Recorder(self.timeline, self.codes, self.adults, self.pop.scale)

    def step(self) -> None:
        """Advance one month. Order:

        1. levers apply their scheduled changes to province inputs;
        2. provinces update infrastructure, services, back office and awareness (awareness uses
           last month's adopter shares);
        3. this month's province-level environment is assembled;
        4. citizens with a need are drawn (the same citizens in every scenario), the rule decides
           channel and outcome, and their habit and last-use month are updated;
        5. usage and adopter tallies, adopter shares and the recorder are updated; time advances.
        """
        self.year = float(self.timeline.decimal_year(self.t))
        for lever in self.levers:
            lever.apply(self)
        self.agents.do("step")
        env = self.month_env()
        idx = self.draw_needers(self.t)
        cit = {k: getattr(self.pop, k)[idx] for k in CITIZEN_FIELDS}
        u = {k: generator(self.cfg.rng_seed, self.replicate, s, self.t).random(idx.size, dtype=np.float32)
             for k, s in DECISION_STREAMS.items()}
        out = decide(cit, self.t, env, self.cfg.params, u)
        self.apply_outcomes(idx, cit, out)
        self.update_adopter_share(self.t)
        self.recorder.record(self, cit, out)
        self.t += 1
        self.running = self.t < self.timeline.n_months

    def run(self, progress=None) -> None:
        """Run every month of the timeline; ``progress(t, n)`` is called after each month."""
        while self.t < self.timeline.n_months:
            self.step()
            if progress is not None:
                progress(self.t, self.timeline.n_months)

    def month_env(self) -> MonthEnv:
        """Collect the province agents' state into this month's arrays."""
        pv = self.provinces
        device = np.array([p.device for p in pv])
        age_factor = np.asarray(self.cfg.population.device_factor_by_age)
        return MonthEnv(
            access_thr=to_threshold(np.array([p.connectivity for p in pv])),
            device_thr=to_threshold(device[:, :, None] * age_factor[None, None, :]),
            aware_thr=to_threshold(np.array([p.awareness for p in pv])),
            eid_thr=to_threshold(np.array([p.eid for p in pv])),
            offered_online=np.array([p.offered_online_volume for p in pv], np.float32),
            offered_full=np.array([p.offered_volume for p in pv], np.float32),
            backoffice=np.array([p.backoffice for p in pv], np.float32),
            quality=np.array([p.quality for p in pv], np.float32),
            assisted=np.array([p.assisted * self.cfg.params.assisted_max for p in pv], np.float32),
            social=self.adopter_share.astype(np.float32),
        )

    def own_access(self, env: MonthEnv) -> np.ndarray:
        """Boolean mask of agents with electricity, connectivity and a device (full pass)."""
        pop = self.pop
        p, s = pop.province.astype(np.intp), pop.stratum.astype(np.intp)
        return (pop.u_infra < env.access_thr[p, s]) & (pop.u_device < env.device_thr[p, s, pop.age])

    def draw_needers(self, t: int) -> np.ndarray:
        """Indices (sorted, unique) of adults with a procedure need in month ``t``.

        Gaps between needers are geometric with the monthly need probability, so the cost is
        proportional to the number of needers, not of citizens; children never have a need.
        """
        rate = self.cfg.params.need_rate_per_year / 12.0
        p_need = -math.expm1(-rate)
        n = self.pop.n
        if p_need <= 0.0 or n == 0:
            return np.zeros(0, np.int64)
        g = generator(self.cfg.rng_seed, self.replicate, Stream.NEED, t)
        chunks, pos = [], -1
        expected = n * p_need
        while pos < n - 1:
            k = int(expected + 6.0 * math.sqrt(expected) + 16)
            steps = np.cumsum(g.geometric(p_need, size=k))
            chunk = pos + steps
            chunks.append(chunk[chunk < n])
            pos = int(chunk[-1])
        idx = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
        return idx[self.pop.age[idx] > 0]

    def apply_outcomes(self, idx: np.ndarray, cit: dict, out: dict) -> None:
        """Write the month's decisions into the population and the usage/adopter tallies."""
        online, lapsed = out["online"], out["lapsed"]
        bins = self.hist_use.shape[-1]
        cell = cit["province"].astype(np.int64) * N_STRATA + cit["stratum"]
        prev = cell * bins + cit["last_online"]
        now = cell * bins + (self.t + 1)
        size = self.hist_use.size
        self.hist_use -= np.bincount(prev[online], minlength=size).reshape(self.hist_use.shape)
        self.hist_use += np.bincount(now[online], minlength=size).reshape(self.hist_use.shape)
        was_adopter = (cit["flags"] & ADOPTER).astype(bool)
        leave = was_adopter & (online | lapsed)
        self.hist_adopt -= np.bincount(prev[leave], minlength=size).reshape(self.hist_adopt.shape)
        self.hist_adopt += np.bincount(now[online], minlength=size).reshape(self.hist_adopt.shape)
        self.pop.flags[idx[online]] |= ADOPTER
        self.pop.flags[idx[lapsed & ~online]] &= ~ADOPTER
        self.pop.last_online[idx[online]] = self.t + 1

    def update_adopter_share(self, t: int) -> None:
        """Expected share of adults holding the habit at the start of month ``t + 1``, by province
        and stratum: adopters by last-use month, discounted by the lapse survival."""
        bins = np.arange(self.hist_adopt.shape[-1])
        idle = (t + 2) - bins
        survive = np.where(bins >= 1, np.exp(-self.cfg.params.lapse_rate_per_year / 12.0 * np.maximum(idle, 0)), 0.0)
        expected = self.hist_adopt @ survive
        self.adopter_share = np.divide(expected, self.adults, out=np.zeros_like(expected), where=self.adults > 0)

    def _histogram(self, mask: np.ndarray, n_bins: int) -> np.ndarray:
        pop = self.pop
        key = (pop.province[mask].astype(np.int64) * N_STRATA + pop.stratum[mask]) * n_bins + pop.last_online[mask]
        n_cells = len(self.codes) * N_STRATA
        return np.bincount(key, minlength=n_cells * n_bins).reshape(len(self.codes), N_STRATA, n_bins).astype(np.int64)


__all__ = ["AdoptionModel", "STAGES", "N_TIERS"]
