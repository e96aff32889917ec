"""Citizens as a struct of compact numpy arrays, synthesized from province marginals.

One row is one agent standing for ``scale`` people. Agents are stored sorted by province and
stratum. Per-agent state is 15 bytes: province, stratum, age band, skill, trust, flags and month of
last online use (1 byte each) and four fixed uint16 thresholds. A threshold ``u`` is the agent's
rank for a province-level rate: the agent has electricity/connectivity when ``u < coverage``, a
device when ``u < device level``, is aware when ``u < awareness`` and holds an e-ID when
``u < e-ID level``. Fixed ranks make access monotone in coverage (the same households gain access
first in every scenario) and keep common random numbers intact.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.config import PopulationConfig
from sim.geography import N_AGES, N_STRATA
from sim.rng import Stream, generator

U16 = 65536.0
ADOPTER = np.uint8(1)


@dataclass
class Population:
    """Struct of arrays, each of shape ``(n_agents,)``.

    Attributes:
        province: province index 0..62 (uint8).
        stratum: 0 urban, 1 rural, 2 remote (uint8).
        age: age band 0 (0-14), 1 (15-34), 2 (35-59), 3 (60+) (uint8).
        skill: digital skill, 0-255 for 0-1 (uint8).
        trust: trust in e-government, 0-255 for 0-1 (uint8).
        flags: bit 0 = has the online habit (adopter) (uint8).
        last_online: 0 = never used online in the run, else month index of last use + 1 (uint8).
        u_infra, u_device, u_aware, u_eid: fixed ranks in 0..65535 (uint16).
    """

    province: np.ndarray
    stratum: np.ndarray
    age: np.ndarray
    skill: np.ndarray
    trust: np.ndarray
    flags: np.ndarray
    last_online: np.ndarray
    u_infra: np.ndarray
    u_device: np.ndarray
    u_aware: np.ndarray
    u_eid: np.ndarray
    scale: float = 1.0

    @property
    def n(self) -> int:
        """Number of agents."""
        return int(self.province.size)

    @property
    def nbytes_per_agent(self) -> float:
        """State bytes per agent (sum over arrays)."""
        return sum(getattr(self, f.name).nbytes for f in fields(self) if f.name != "scale") / max(self.n, 1)

    def cell_counts(self, n_provinces: int, adults_only: bool = True) -> np.ndarray:
        """Agents per (province, stratum), shape ``(P, 3)``."""
        mask = self.age > 0 if adults_only else slice(None)
        key = self.province[mask].astype(np.int64) * N_STRATA + self.stratum[mask]
        return np.bincount(key, minlength=n_provinces * N_STRATA).reshape(n_provinces, N_STRATA)


def cell_sizes(pop_by_province: np.ndarray, strata_weights: np.ndarray, scale: float) -> np.ndarray:
    """Agents per (province, stratum): rounded ``population * share / scale``; a province keeps at
    least one agent in every stratum with a positive share so no cell with people is empty."""
    exact = pop_by_province[:, None] * strata_weights / scale
    n = np.rint(exact).astype(np.int64)
    return np.where((strata_weights > 0) & (n == 0), 1, n)


def _beta_u8(rng: np.random.Generator, mean: np.ndarray, concentration: float) -> np.ndarray:
    m = np.clip(mean, 0.02, 0.98)
    x = rng.beta(m * concentration, (1.0 - m) * concentration).astype(np.float32)
    return np.minimum(x * 256.0, 255.0).astype(np.uint8)


def synthesize(sizes: np.ndarray, cfg: PopulationConfig, rng_seed: int, replicate: int) -> Population:
    """Build the population for one replicate.

    Args:
        sizes: agents per (province, stratum), shape ``(P, 3)`` (see :func:`cell_sizes`).
        cfg: population config (age shares, skill distribution).
        rng_seed: run seed.
        replicate: replicate index (population draws differ between replicates).

    Returns:
        A :class:`Population` sorted by province then stratum.
    """
    n_prov = sizes.shape[0]
    counts = sizes.ravel()
    n = int(counts.sum())
    cell = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    province = (cell // N_STRATA).astype(np.uint8)
    stratum = (cell % N_STRATA).astype(np.uint8)
    del cell
    g = lambda s: generator(rng_seed, replicate, s)  # noqa: E731
    age = g(Stream.SYNTH_AGE).choice(N_AGES, size=n, p=np.asarray(cfg.age_shares)).astype(np.uint8)
    shift = np.array([cfg.skill_shift_urban, 0.0, cfg.skill_shift_remote], np.float32)
    mean = np.asarray(cfg.skill_mean_by_age, np.float32)[age] + shift[stratum]
    skill = _beta_u8(g(Stream.SYNTH_SKILL), mean, cfg.skill_concentration)
    del mean
    trust = _beta_u8(g(Stream.SYNTH_TRUST), np.full(n, 0.5, np.float32), 4.0)
    u = {s: g(s).integers(0, 65536, size=n, dtype=np.uint16)
         for s in (Stream.SYNTH_INFRA, Stream.SYNTH_DEVICE, Stream.SYNTH_AWARE, Stream.SYNTH_EID)}
    assert n_prov <= 255
    return Population(
        province=province, stratum=stratum, age=age, skill=skill, trust=trust,
        flags=np.zeros(n, np.uint8), last_online=np.zeros(n, np.uint8),
        u_infra=u[Stream.SYNTH_INFRA], u_device=u[Stream.SYNTH_DEVICE],
        u_aware=u[Stream.SYNTH_AWARE], u_eid=u[Stream.SYNTH_EID], scale=cfg.scale,
    )


def seed_adopters(pop: Population, share_of_adults: float, can_use: np.ndarray, rng: np.random.Generator) -> None:
    """Mark initial adopters (habit formed before the run) among adults who can already go online.

    They are drawn with equal probability among adults with access, at the rate that makes the
    expected adopter share of all adults equal ``share_of_adults``; they are made aware and counted
    as having used online services in the first month.

    Args:
        pop: population (modified in place).
        share_of_adults: target share of all adults.
        can_use: boolean mask of agents with own access at the start, shape ``(n,)``.
        rng: generator of the ``SYNTH_INITIAL`` stream.
    """
    adults = pop.age > 0
    eligible = adults & can_use
    p = min(1.0, share_of_adults * adults.sum() / max(eligible.sum(), 1))
    chosen = eligible & (rng.random(pop.n, dtype=np.float32) < p)
    pop.flags[chosen] |= ADOPTER
    pop.last_online[chosen] = 1
    pop.u_aware[chosen] = 0
