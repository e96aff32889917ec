"""Named random streams.

Every random draw in the model comes from a stream identified by a fixed number, so adding a
stream never shifts another one. A generator is keyed by ``(rng_seed, replicate, stream, month)``
through :class:`numpy.random.SeedSequence` spawn keys (Scientific Python SPEC 7): the same citizen
sees the same uniform for the same decision in the same month in every scenario (common random
numbers), and results do not depend on which process runs which replicate.
"""

from __future__ import annotations

import functools
import math
from enum import IntEnum

import numpy as np
from numba import njit


class Stream(IntEnum):
    """Fixed stream numbers. Never renumber; append new streams with new numbers."""

    SYNTH_STRATUM = 1
    SYNTH_AGE = 2
    SYNTH_INFRA = 3
    SYNTH_DEVICE = 4
    SYNTH_SKILL = 5
    SYNTH_TRUST = 6
    SYNTH_AWARE = 7
    SYNTH_EID = 8
    SYNTH_INITIAL = 9
    NEED = 20
    NEED_THIN = 21
    TIER = 22  # also the offer draw (low half of the same 64-bit draw, see draw_pair)
    OFFER = 23  # retired: the offer draw is the low half of TIER's; the number stays unused
    LAPSE = 24  # also the assistance draw (low half)
    ASSIST = 25  # retired: the low half of LAPSE's draw
    CHOICE = 26  # also the back-office draw (low half)
    BACKOFFICE = 27  # retired: the low half of CHOICE's draw
    COST = 40


def generator(rng_seed: int, replicate: int, stream: Stream, month: int = -1) -> np.random.Generator:
    """Return the generator for one stream of one replicate (and one month, for monthly draws).

    Args:
        rng_seed: the run's seed (non-negative integer).
        replicate: replicate index (global over posterior draws x replicates).
        stream: which decision the draws are for.
        month: month index from the timeline start; -1 for draws made once (synthesis).

    Returns:
        A fresh ``numpy.random.Generator`` (PCG64) that no other key shares.
    """
    key = (int(replicate), int(stream), int(month) + 1)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(rng_seed), spawn_key=key)))


# Counter-based uniforms -----------------------------------------------------------------------
# A citizen's uniform for one decision in one month is a pure function of
# (stream key, citizen index): u = splitmix64(key + (i + 1) * GAMMA) / 2**64, where the key comes
# from SeedSequence(rng_seed, spawn_key=(replicate, stream, month)). The SplitMix64 output function
# (Steele, Lea & Flood 2014, OOPSLA) turns a Weyl sequence into well-mixed 64-bit values. Any thread
# can compute any citizen's draw, so results do not depend on the number of threads, and citizens
# who do not decide need no draw. Two cheaper forms serve the monthly rule: draw_pair gives two
# 32-bit uniforms from one 64-bit value, and bernoulli_word decides "u < p" for 64 citizens at
# once from a few 64-bit values, reading each citizen's uniform one bit at a time.

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
INV53 = 1.0 / 9007199254740992.0
"""2**-53: ``uniform(key, i) == bits53(key, i) * INV53``."""


@functools.lru_cache(maxsize=1 << 16)
def stream_key(rng_seed: int, replicate: int, stream: Stream, month: int = -1) -> np.uint64:
    """64-bit key of one (replicate, stream, month) for the counter-based uniforms: the first
    64-bit word of ``SeedSequence(rng_seed, spawn_key=(replicate, stream, month + 1))``, computed by
    :func:`_seed_sequence_word` (~1 us instead of ~22 us; equal to numpy's, tests/test_timeline_rng.py)
    and cached: runs with common random numbers, such as calibration particles, reuse the keys."""
    entropy = _words32(rng_seed)
    entropy += [0] * (_POOL - len(entropy))  # numpy pads the run entropy when there is a spawn key
    for part in (replicate, int(stream), int(month) + 1):
        entropy += _words32(part)
    return np.uint64(_seed_sequence_word(np.array(entropy, np.uint64)))


_POOL = 4
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_M32 = 0xFFFFFFFF


def _words32(value: int) -> list[int]:
    """A non-negative integer as little-endian 32-bit words (numpy's coercion of seed entropy)."""
    value, words = int(value), []
    if value < 0:
        raise ValueError(f"seed entropy must be a non-negative integer, got {value}")
    while True:
        words.append(value & _M32)
        value >>= 32
        if value == 0:
            return words


@njit(inline="always", cache=True)
def _hashmix(value, h):
    m32 = np.uint64(_M32)
    value = (value ^ h) & m32
    h = (h * np.uint64(_MULT_A)) & m32
    value = (value * h) & m32
    return value ^ (value >> np.uint64(16)), h


@njit(inline="always", cache=True)
def _mix(x, y):
    r = (np.uint64(_MIX_L) * x - np.uint64(_MIX_R) * y) & np.uint64(_M32)
    return r ^ (r >> np.uint64(16))


@njit(cache=True)
def _seed_sequence_word(entropy):
    """First uint64 of ``numpy.random.SeedSequence.generate_state`` for the assembled 32-bit entropy
    words ``entropy`` (uint64 array holding uint32 values): the same pool of four words mixed with
    the same hash (O'Neill's seed_seq design, as numpy implements it), in 32-bit arithmetic."""
    pool = np.zeros(_POOL, np.uint64)
    h = np.uint64(_INIT_A)
    for i in range(_POOL):
        pool[i], h = _hashmix(entropy[i] if i < entropy.size else np.uint64(0), h)
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                value, h = _hashmix(pool[src], h)
                pool[dst] = _mix(pool[dst], value)
    for src in range(_POOL, entropy.size):
        for dst in range(_POOL):
            value, h = _hashmix(entropy[src], h)
            pool[dst] = _mix(pool[dst], value)
    out = np.uint64(0)
    hb = np.uint64(_INIT_B)
    for i in range(2):
        value = (pool[i] ^ hb) & np.uint64(_M32)
        hb = (hb * np.uint64(_MULT_B)) & np.uint64(_M32)
        value = (value * hb) & np.uint64(_M32)
        out |= (value ^ (value >> np.uint64(16))) << np.uint64(32 * i)
    return out


@njit(inline="always", cache=True)
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 output function (wrapping uint64 arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(inline="always", cache=True)
def bits53(key: np.uint64, i: int) -> np.uint64:
    """The 53-bit integer behind :func:`uniform`: the top 53 bits of the SplitMix64 draw."""
    return mix64(key + (np.uint64(i) + np.uint64(1)) * GAMMA) >> np.uint64(11)


@njit(inline="always", cache=True)
def unit(bits: np.uint64) -> float:
    """A 53-bit draw (:func:`bits53`) as the uniform in [0, 1) it stands for: ``bits * 2**-53``."""
    return float(bits) * INV53


@njit(inline="always", cache=True)
def uniform(key: np.uint64, i: int) -> float:
    """Counter-based uniform in [0, 1) of citizen ``i`` for stream key ``key`` (inside kernels):
    ``unit(bits53(key, i))``."""
    return unit(bits53(key, i))


@njit(inline="always", cache=True)
def threshold53(p: float) -> np.uint64:
    """The integer ``T`` with ``bits53(key, i) < T`` exactly when ``uniform(key, i) < p``:
    ``ceil(p * 2**53)`` clipped to ``[0, 2**53]`` (``p * 2**53`` is exact, a power-of-two scaling),
    so a comparison of draws with ``p`` can skip the conversion to float."""
    if not p > 0.0:  # also NaN: no draw is below it
        return np.uint64(0)
    if p >= 1.0:
        return np.uint64(1) << np.uint64(53)
    return np.uint64(math.ceil(p * 9007199254740992.0))


@njit(inline="always", cache=True)
def draw_pair(key: np.uint64, i: int) -> tuple[np.uint64, np.uint64]:
    """Two independent uniforms of citizen ``i`` from one 64-bit draw: its high and its low 32 bits,
    each scaled to the integers of :func:`bits53` (``bits32 * 2**21``), so :func:`threshold53` and
    :func:`unit` apply unchanged: ``hi < threshold53(p)`` exactly when ``bits32 / 2**32 < p``. The
    32-bit resolution moves any probability by less than ``2**-32``."""
    z = mix64(key + (np.uint64(i) + np.uint64(1)) * GAMMA)
    return (z >> np.uint64(32)) << np.uint64(21), (z & np.uint64(0xFFFFFFFF)) << np.uint64(21)


BERNOULLI_LEVELS = 10
"""Bit levels :func:`bernoulli_word` always reads before it checks whether every citizen is decided
(a word is undecided after 10 levels with probability ``1 - (1 - 2**-10)**64``, about 6 %)."""


@njit(inline="always", cache=True)
def bernoulli_word(key: np.uint64, w: int, thr: np.uint64, span: np.uint64) -> np.uint64:
    """``U_k < thr / 2**53`` for the citizens ``64 w + k`` whose bit ``k`` is set in ``span``, as a bit
    mask (``thr = threshold53(p)``, so a bit is set with probability ``p`` to 53 bits).

    ``U_k`` is citizen ``64 w + k``'s own 53-bit uniform, stored across 53 draws: its bit of weight
    ``2**-(l + 1)`` is bit ``k`` of ``splitmix64(key + (64 w + l + 1) * GAMMA)``. The comparison with
    ``thr`` runs from the most significant bit and a citizen is decided at the first level where its
    bit differs from ``thr``'s, after two levels on average; all 64 are decided after about seven, so
    a word costs about ten 64-bit draws instead of 64. The result depends only on ``key``, ``w`` and
    ``thr`` (the levels not read could not change a decided bit), so it is the same whatever the
    chunking, and ``U_k < thr`` is monotone in ``p`` for every citizen (common random numbers).
    Kernels drawing many consecutive words use :func:`bernoulli_levels` and
    :func:`bernoulli_finish` instead: the same result, with the fixed levels of all the words in
    one loop the compiler vectorizes.
    """
    thr, span = np.uint64(thr), np.uint64(span)
    below, open_ = _fixed_levels(key, w, thr, span)
    return bernoulli_finish(key, w, thr, below, open_, span)


@njit(inline="always", cache=True)
def _fixed_levels(key, w, thr, open_):
    """The first :data:`BERNOULLI_LEVELS` levels of word ``w`` for the citizens open in ``open_``:
    ``(below, still open)``."""
    below = np.uint64(0)
    base = np.uint64(w) * np.uint64(64) + np.uint64(1)
    for level in range(BERNOULLI_LEVELS):  # fixed count: no branch, the draws overlap
        below, open_ = _bernoulli_level(key, base, level, thr, below, open_)
    return below, open_


@njit(inline="always", cache=True)
def bernoulli_levels(key: np.uint64, w0: int, n: int, thr: np.uint64, below, open_) -> None:
    """The first :data:`BERNOULLI_LEVELS` levels of :func:`bernoulli_word` for the ``n`` words
    ``w0 .. w0 + n - 1`` with every bit open: ``below[q]`` and ``open_[q]`` (uint64 arrays) get
    word ``w0 + q``'s citizens already found below ``thr`` and those still undecided. A loop without
    branches over the words, which the compiler vectorizes (the draws of four or eight words at
    once). Finish each word with :func:`bernoulli_finish`, its span applied to both masks."""
    every = ~np.uint64(0)
    for q in range(n):
        below[q], open_[q] = _fixed_levels(key, np.uint64(w0) + np.uint64(q), thr, every)


@njit(inline="always", cache=True)
def bernoulli_finish(key: np.uint64, w: int, thr: np.uint64, below: np.uint64, open_: np.uint64, span: np.uint64):
    """:func:`bernoulli_word` of word ``w`` from its first :data:`BERNOULLI_LEVELS` levels
    (``below`` and ``open_``, both within ``span``): the remaining levels while a citizen is
    undecided (a word needs them with probability about 6 %)."""
    thr, below, open_, span = np.uint64(thr), np.uint64(below), np.uint64(open_), np.uint64(span)
    if thr >= np.uint64(1) << np.uint64(53):
        return span
    base = np.uint64(w) * np.uint64(64) + np.uint64(1)
    level = BERNOULLI_LEVELS
    while open_ != np.uint64(0) and level < 53:
        below, open_ = _bernoulli_level(key, base, level, thr, below, open_)
        level += 1
    return below  # citizens equal to thr in all 53 bits are not below it


@njit(inline="always", cache=True)
def _bernoulli_level(key, base, level, thr, below, open_):
    """One level of :func:`bernoulli_word`: the citizens still equal to ``thr`` whose bit is 0 where
    ``thr``'s is 1 are below it; those whose bit differs either way are decided."""
    r = mix64(key + (base + np.uint64(level)) * GAMMA)
    p_bit = np.uint64(0) - ((thr >> np.uint64(52 - level)) & np.uint64(1))  # all ones or zero
    return below | (open_ & ~r & p_bit), open_ & ~(r ^ p_bit)


def counter_draws(key: np.uint64, index: np.ndarray) -> np.ndarray:
    """The 64-bit draws ``splitmix64(key + (i + 1) * GAMMA)`` behind every uniform and level, with
    numpy (uint64): the reference the compiled draws are tested against."""
    with np.errstate(over="ignore"):
        z = np.uint64(key) + (np.asarray(index, np.uint64) + np.uint64(1)) * GAMMA
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))
