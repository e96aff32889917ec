"""``AdoptionModel``: provinces (mesa agents) and citizens (numpy arrays), stepped monthly."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.behaviour.adoption import STAGES, param_tuple
from sim.behaviour.kernel import step_citizens
from sim.config import RunConfig
from sim.errors import SimInputError
from sim.drivers import baseline_logits, electricity_gaps, province_indices
from sim.geography import N_STRATA, strata_shares
from sim.population import cell_sizes, seed_adopters, synthesize
from sim.provinces import Province, ProvinceArrays, to_threshold
from sim.results import Recorder
from sim.rng import Stream, stream_key
from sim.timeline import Timeline

if TYPE_CHECKING:
    from sim.observed import ObservedData

MONTH_STREAMS = (Stream.NEED, Stream.TIER, Stream.LAPSE, Stream.CHOICE)
"""The month's stream keys, in the kernel's order: needs, then (tier, offer), (lapse, assistance) and
(choice, back office), two draws from each 64-bit value (:func:`sim.rng.draw_pair`)."""


@dataclass
class MonthEnv:
    """Province-level inputs of one month (``P`` provinces; thresholds compare with uint16 ranks).

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
        utility_shift: added to the adoption utility by tier, ``(P, 2)`` (levers; 0 in the baseline).
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
    utility_shift: np.ndarray

    def as_tuple(self) -> tuple:
        """Field values in declaration order (the compiled rule's ``env``)."""
        return tuple(getattr(self, f.name) for f in fields(self))


def select_provinces(table, codes: list[str]):
    """The province table restricted to ``codes`` (all provinces when empty).

    Raises:
        SimInputError: a code that is not one of the provinces.
    """
    if not codes:
        return table
    for code in codes:
        if code not in table.index:
            raise SimInputError(
                f"population.provinces: '{code}' is not a province code; allowed: 2-digit GSO codes "
                f"{', '.join(table.index[:3])} ... {table.index[-1]} (see seeds/provinces.csv)"
            )
    return table.loc[sorted(set(codes))]


class AdoptionModel(mesa.Model):
    """Online public-service adoption in Vietnam's 63 provinces, one step per month.

    Args:
        cfg: validated run config.
        observed: validated observed data (province tables).
        replicate: global replicate index (selects the random streams).
        levers: objects with ``apply(model)``, called at the start of every month.
        keep_state: record the province state by month (``RunResult.state``, 2.4 MB a run at 63
            provinces and 168 months); no output file uses it, so the command line leaves it out.
    """

    def __init__(
        self,
        cfg: RunConfig,
        observed: ObservedData,
        replicate: int = 0,
        levers: list | None = None,
        keep_state: bool = True,
    ) -> None:
        super().__init__(seed=cfg.rng_seed)
        self.cfg, self.replicate, self.levers = cfg, int(replicate), list(levers or [])
        self.timeline = Timeline(cfg.timeline.start, cfg.timeline.end)
        self.t = 0
        z_all = province_indices(observed.provinces, observed.tables["province_papi_egov"])
        table = select_provinces(observed.provinces, cfg.population.provinces)
        keep = observed.provinces.index.get_indexer(table.index)
        z = {k: v[keep] for k, v in z_all.items()}  # indices standardized over all 63 provinces
        self.codes = list(table.index)
        pc = cfg.population
        weights = strata_shares(table, pc.remote_share_of_minority, pc.remote_floor_mountain, pc.remote_share_island)
        pop_people = table["pop_census2019"].to_numpy(float)
        national_w = (pop_people @ weights) / pop_people.sum()
        d = cfg.drivers
        factor = np.array([d.device_factor_urban, d.device_factor_rural, d.device_factor_remote])
        self.device_stratum_factor = factor / (national_w @ factor)
        n_prov = len(self.codes)
        self.adopter_share = np.zeros((n_prov, N_STRATA))
        years = self.timeline.decimal_year(np.arange(self.timeline.n_months))
        self.trend_logits = baseline_logits(d, years, z)
        self.trend_values = {  # the same trends evaluated without lever shifts, (T, P) each
            name: getattr(d, name).lo + (getattr(d, name).hi - getattr(d, name).lo) / (1.0 + np.exp(-x))
            for name, x in self.trend_logits.items()
        }
        self.electricity_gaps = electricity_gaps(
            table["hh_electricity_2016"].to_numpy(float),
            weights,
            years,
            d.electricity_gap_decay_per_year,
            d.electricity_gap_ratio_urban,
            d.electricity_gap_ratio_remote,
        )
        self.province_arrays = ProvinceArrays(n_prov, cfg.params.initial_awareness, d.it_budget_share)
        self.provinces: list[Province] = [
            Province(self, i, code, table.at[code, "name_vi"], pop_people[i], weights[i])
            for i, code in enumerate(self.codes)
        ]
        self.province_arrays.update(self, awareness=False)
        self.pop = synthesize(cell_sizes(pop_people, weights, pc.scale), pc, cfg.rng_seed, self.replicate)
        self.adults = self.pop.adult_counts(n_prov).astype(float)
        env = self.month_env()
        initial = seed_adopters(
            self.pop,
            cfg.params.initial_adopter_share,
            env.access_thr,
            env.device_thr,
            stream_key(cfg.rng_seed, self.replicate, Stream.SYNTH_INITIAL),
        )
        self.param_tuple = param_tuple(cfg.params)
        n_bins = self.timeline.n_months + 1
        # adults by month of last online use (bin 0 = never; initial adopters count as users in month 0)
        self.hist_use = np.zeros((n_prov, N_STRATA, n_bins), np.int64)
        self.hist_use[:, :, 0] = self.adults - initial
        self.hist_use[:, :, 1] = initial
        self.hist_adopt = np.zeros_like(self.hist_use)
        self.hist_adopt[:, :, 1] = initial
        self.update_adopter_share(-1)
        self.recorder = Recorder(self.timeline, self.codes, self.adults, self.pop.scale, keep_state)

    def step(self) -> None:
        """Advance one month. Order:

        1. levers apply their scheduled changes to province inputs;
        2. provinces update infrastructure, services, back office and awareness (awareness uses
           last month's adopter shares);
        3. this month's province-level environment is assembled;
        4. the compiled kernel draws which adults have a procedure need (the same citizens in every
           scenario), applies the rule (:mod:`sim.behaviour.adoption`) and updates habits and
           last-use months;
        5. usage and adopter tallies, adopter shares and the recorder are updated; time advances.
        """
        if self.pop is None:
            raise RuntimeError("this model was closed (AdoptionModel.close freed its citizens); build a new one")
        for lever in self.levers:
            lever.apply(self)
        self.province_arrays.update(self)
        tally = self.step_citizens(self.month_env())
        self.update_adopter_share(self.t)
        self.recorder.record(self, tally)
        self.t += 1
        self.running = self.t < self.timeline.n_months

    def close(self) -> None:
        """Free the citizen arrays and release the model from mesa's id counters; the model
        cannot step after this. A model is part of reference cycles (mesa keeps its bound ``step``
        in the model, and every province agent refers to its model), so without this a finished
        run's citizens stay in memory until Python's cycle collector happens to run: measured, a
        process running three national replicates in a row held 1.6, 3.0 and 4.3 GiB after each."""
        self.pop = None
        self.running = False
        mesa.Agent._ids.pop(self, None)

    def run(self, progress=None) -> None:
        """Run every month of the timeline; ``progress(t, n)`` is called after each month."""
        while self.t < self.timeline.n_months:
            self.step()
            if progress is not None:
                progress(self.t, self.timeline.n_months)

    def month_env(self) -> MonthEnv:
        """This month's province-level environment from the provinces' state arrays."""
        pa = self.province_arrays
        age_factor = np.asarray(self.cfg.population.device_factor_by_age)
        return MonthEnv(
            access_thr=to_threshold(pa.connectivity),
            device_thr=to_threshold(pa.device[:, :, None] * age_factor[None, None, :]),
            aware_thr=to_threshold(pa.awareness),
            eid_thr=to_threshold(pa.eid),
            offered_online=pa.offered_online_volume.astype(np.float32),
            offered_full=pa.offered_volume.astype(np.float32),
            backoffice=pa.backoffice.astype(np.float32),
            quality=pa.quality.astype(np.float32),
            assisted=(pa.assisted * self.cfg.params.assisted_max).astype(np.float32),
            social=self.adopter_share.astype(np.float32),
            utility_shift=pa.utility_shift.astype(np.float32),
        )

    def step_citizens(self, env: MonthEnv) -> np.ndarray:
        """Run the citizen kernel for month ``t`` and update the usage and adopter tallies.

        Returns:
            Dossiers by province, tier and stage, ``(P, 2, 7)``.
        """
        keys = np.array([stream_key(self.cfg.rng_seed, self.replicate, s, self.t) for s in MONTH_STREAMS], np.uint64)
        p_need = -math.expm1(-self.cfg.params.need_rate_per_year / 12.0)
        pop = self.pop
        tally, use_leave, adopt_leave, new_users = step_citizens(
            pop.cell_start,
            pop.skill,
            pop.trust,
            pop.flags,
            pop.last_online,
            pop.u_infra,
            pop.u_device,
            pop.u_aware,
            pop.u_eid,
            keys,
            self.t,
            p_need,
            env.as_tuple(),
            self.param_tuple,
            self.t + 1,
        )
        self.hist_use[:, :, : self.t + 1] -= use_leave  # last-use bins before this month only
        self.hist_use[:, :, self.t + 1] += new_users
        self.hist_adopt[:, :, : self.t + 1] -= adopt_leave
        self.hist_adopt[:, :, self.t + 1] += new_users
        return tally

    def update_adopter_share(self, t: int) -> None:
        """Expected share of adults holding the habit at the start of month ``t + 1``, by province
        and stratum: adopters by last-use month, discounted by the lapse survival."""
        bins = np.arange(self.hist_adopt.shape[-1])
        idle = (t + 2) - bins
        survive = np.where(bins >= 1, np.exp(-self.cfg.params.lapse_rate_per_year / 12.0 * np.maximum(idle, 0)), 0.0)
        expected = self.hist_adopt @ survive
        self.adopter_share = np.divide(expected, self.adults, out=np.zeros_like(expected), where=self.adults > 0)


__all__ = ["STAGES", "AdoptionModel", "MonthEnv"]
