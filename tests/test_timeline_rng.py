"""Calendar and random streams."""

from __future__ import annotations

import numpy as np
import pytest

from sim.errors import SimInputError
from sim.rng import Stream, generator
from sim.timeline import Timeline, format_ym, parse_ym


def test_timeline_round_trip():
    tl = Timeline("2017-01", "2030-12")
    assert tl.n_months == 168
    assert tl.label(0) == "2017-01" and tl.label(167) == "2030-12"
    assert tl.index("2025-12") == 107
    assert tl.year(107) == 2025 and tl.month_of_year(107) == 12
    assert format_ym(parse_ym("2024-08")) == "2024-08"
    assert abs(tl.decimal_year(0) - (2017 + 1 / 24)) < 1e-12


@pytest.mark.parametrize("bad", ["2024-13", "2024-00", "24-01", "2024/01", ""])
def test_bad_months_are_rejected(bad):
    with pytest.raises(SimInputError):
        parse_ym(bad)


def test_streams_are_independent_and_reproducible():
    a = generator(1, 0, Stream.CHOICE, 5).random(4)
    assert np.array_equal(a, generator(1, 0, Stream.CHOICE, 5).random(4))
    for other in (
        generator(1, 0, Stream.CHOICE, 6),
        generator(1, 1, Stream.CHOICE, 5),
        generator(1, 0, Stream.OFFER, 5),
        generator(2, 0, Stream.CHOICE, 5),
    ):
        assert not np.array_equal(a, other.random(4))


def test_stream_numbers_are_fixed():
    # renumbering a stream would silently change every published result
    assert Stream.NEED == 20 and Stream.CHOICE == 26 and Stream.SYNTH_INFRA == 3


def test_stream_keys_equal_numpy_seed_sequence():
    """The compiled key derivation gives numpy's SeedSequence word for seeds from 0 to 2**64 - 1 and
    spawn keys of one and two 32-bit words (2,000 random cases plus edge cases)."""
    from sim.rng import stream_key

    rng = np.random.default_rng(3)
    cases = [(0, 0, Stream.NEED, -1), (2**32, 1, Stream.TIER, 0), (2**64 - 1, 2**33, Stream.COST, 400)]
    for _ in range(2000):
        seed = int(rng.integers(0, 2**63)) >> int(rng.integers(0, 63))
        stream = Stream(int(rng.choice(list(Stream))))
        cases.append((seed, int(rng.integers(0, 5000)), stream, int(rng.integers(-1, 400))))
    for seed, rep, stream, month in cases:
        want = np.random.SeedSequence(seed, spawn_key=(rep, int(stream), month + 1)).generate_state(1, np.uint64)[0]
        got = stream_key(seed, rep, stream, month)
        assert isinstance(got, np.uint64) and got == want, (seed, rep, stream, month)
    with pytest.raises(ValueError, match="non-negative"):
        stream_key(-1, 0, Stream.NEED, 0)
