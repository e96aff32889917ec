"""Named random streams.

Every random draw in the model comes from a stream identified by a fixed number, so adding a
stream never shifts another one. A generator is keyed by ``(rng_seed, replicate, stream, month)``
through :class:`numpy.random.SeedSequence` spawn keys (Scientific Python SPEC 7): the same citizen
sees the same uniform for the same decision in the same month in every scenario (common random
numbers), and results do not depend on which process runs which replicate.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


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
    TIER = 22
    OFFER = 23
    LAPSE = 24
    ASSIST = 25
    CHOICE = 26
    BACKOFFICE = 27
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
