"""Citizens as a struct of compact numpy arrays, synthesized from province marginals.

One row is one agent standing for ``scale`` people. Agents are stored sorted by cell ``(province,
stratum, age band)``; ``cell_start`` gives each cell's first row, so the monthly kernel knows a
citizen's cell from its position without reading memory. Per-agent state is 15 bytes: province,
stratum, age band, skill, trust, flags and month of last online use (1 byte each) and four fixed
uint16 thresholds. A threshold ``u`` is the agent's rank for a province-level rate: the agent has
electricity/connectivity when ``u < coverage``, a device when ``u < device level``, is aware when
``u < awareness`` and holds an e-ID when ``u < e-ID level``. Fixed ranks make access monotone in
coverage (the same households gain access first in every scenario) and keep common random numbers
intact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from sim.config import PopulationConfig
from sim.geography import N_AGES, N_STRATA
from sim.rng import Stream, stream_key


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
        cell_start: first row of each (province, stratum, age) cell, ``(P * 3 * 4 + 1,)`` int64;
            cell ``c`` is province ``c // 12``, stratum ``(c // 4) % 3``, age band ``c % 4``.
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
    cell_start: np.ndarray
    scale: float = 1.0

    @property
    def n(self) -> int:
        """Number of agents."""
        return int(self.province.size)

    @property
    def nbytes_per_agent(self) -> float:
        """State bytes per agent (sum over arrays)."""
        skip = ("scale", "cell_start")
        return sum(getattr(self, f.name).nbytes for f in fields(self) if f.name not in skip) / max(self.n, 1)

    def adult_counts(self, n_provinces: int) -> np.ndarray:
        """Adult agents per (province, stratum), shape ``(P, 3)``, from the cell layout (no pass over agents)."""
        return np.diff(self.cell_start).reshape(n_provinces, N_STRATA, N_AGES)[:, :, 1:].sum(axis=2)


def cell_sizes(pop_by_province: np.ndarray, strata_weights: np.ndarray, scale: float) -> np.ndarray:
    """Agents per (province, stratum): rounded ``population * share / scale``; a province keeps at
    least one agent in every stratum with a positive share so no cell with people is empty."""
    exact = pop_by_province[:, None] * strata_weights / scale
    n = np.rint(exact).astype(np.int64)
    return np.where((strata_weights > 0) & (n == 0), 1, n)


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
    from sim.behaviour.kernel import fill_cells, fill_citizens

    n_prov = sizes.shape[0]
    if n_prov > 255:
        raise ValueError("at most 255 provinces fit the uint8 province index")
    by_age = split_ages(sizes, np.asarray(cfg.age_shares, np.float64)).ravel()
    n = int(by_age.sum())
    cell_start = np.concatenate([[0], np.cumsum(by_age)]).astype(np.int64)
    province, stratum, age = (np.empty(n, np.uint8) for _ in range(3))
    fill_cells(cell_start, province, stratum, age)
    arrays = {k: np.empty(n, np.uint8) for k in ("skill", "trust")}
    arrays.update({k: np.empty(n, np.uint16) for k in ("u_infra", "u_device", "u_aware", "u_eid")})
    streams = (
        Stream.SYNTH_SKILL,
        Stream.SYNTH_TRUST,
        Stream.SYNTH_INFRA,
        Stream.SYNTH_DEVICE,
        Stream.SYNTH_AWARE,
        Stream.SYNTH_EID,
    )
    keys = np.array([stream_key(rng_seed, replicate, s) for s in streams], np.uint64)
    shift = np.array([cfg.skill_shift_urban, 0.0, cfg.skill_shift_remote])
    medians = np.clip(shift[:, None] + np.asarray(cfg.skill_median_by_age, np.float64)[None, :], 0.01, 0.99)
    skill_cuts = np.stack([logit_logistic_cuts(m, cfg.skill_sd_logit) for m in medians.ravel()])
    fill_citizens(
        cell_start,
        skill_cuts,
        logit_logistic_cuts(0.5, 1.0),
        keys,
        arrays["skill"],
        arrays["trust"],
        arrays["u_infra"],
        arrays["u_device"],
        arrays["u_aware"],
        arrays["u_eid"],
    )
    return Population(
        province=province,
        stratum=stratum,
        age=age,
        flags=np.zeros(n, np.uint8),
        last_online=np.zeros(n, np.uint8),
        cell_start=cell_start,
        scale=cfg.scale,
        **arrays,
    )


def logit_logistic_cuts(median: float, sd_logit: float) -> np.ndarray:
    """Cut points that turn one uniform into a 0-255 score with a logit-logistic distribution.

    The score is ``min(255, int(256 x))`` with ``x = sigmoid(logit(median) + c L)``, ``L`` a standard
    logistic variate and ``c = sd_logit * sqrt(3) / pi`` (so the logit-scale standard deviation is
    ``sd_logit``). Since ``x`` rises with the uniform ``u`` behind ``L = log(u / (1 - u))``, the score
    is the number of cut points ``u_k`` (where ``x = k / 256``, ``k = 1..255``) at or below ``u``.

    Returns:
        ``(256,)`` float64: ``u_1 .. u_255`` (non-decreasing, in [0, 1]) then +inf.
    """
    x = np.arange(1, 256) / 256.0
    odds = (1.0 - x) / x * median / (1.0 - median)  # ((1 - u) / u) ** c at x = k / 256
    c = sd_logit * math.sqrt(3.0) / math.pi
    if c == 0.0:  # no spread: every score is int(256 * median)
        cuts = np.where(x <= median, 0.0, np.inf)
    else:
        cuts = 1.0 / (1.0 + odds ** (1.0 / c))
    return np.append(cuts, np.inf)


def split_ages(sizes: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Agents per (province, stratum, age band) by largest-remainder rounding of ``size * share``.

    Returns:
        ``(P, 3, 4)`` integer counts whose sums over age equal ``sizes``.
    """
    exact = sizes[..., None] * shares[None, None, :]
    base = np.floor(exact).astype(np.int64)
    short = sizes - base.sum(axis=-1)
    order = np.argsort(-(exact - base), axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")
    return base + (rank < short[..., None])


def seed_adopters(
    pop: Population, share_of_adults: float, access_thr: np.ndarray, device_thr: np.ndarray, key: np.uint64
) -> np.ndarray:
    """Mark initial adopters (habit formed before the run) among adults who can already go online.

    They are drawn with equal probability among adults with own access, at the rate that makes the
    expected adopter share of all adults equal ``share_of_adults``; they are made aware and counted
    as having used online services in the first month.

    Args:
        pop: population (modified in place).
        share_of_adults: target share of all adults.
        access_thr, device_thr: start-of-run thresholds (see :class:`sim.behaviour.adoption`).
        key: stream key of ``SYNTH_INITIAL``.

    Returns:
        Initial adopters per (province, stratum), ``(P, 3)``.
    """
    from sim.behaviour.kernel import count_own_access, mark_initial_adopters

    able, adults = count_own_access(pop.cell_start, pop.u_infra, pop.u_device, access_thr, device_thr)
    prob = min(1.0, share_of_adults * adults / max(able, 1))
    per_cell = mark_initial_adopters(
        pop.cell_start,
        pop.u_infra,
        pop.u_device,
        access_thr,
        device_thr,
        key,
        prob,
        pop.flags,
        pop.last_online,
        pop.u_aware,
    )
    return per_cell.reshape(-1, N_STRATA, N_AGES).sum(axis=2)
