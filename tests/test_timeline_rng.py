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


def test_integer_thresholds_give_the_same_tests_as_the_uniforms():
    """``bits53 < threshold53(p)`` is ``uniform < p`` and ``rank < rank_threshold(x)`` is
    ``rank < x``, for random and edge-case probabilities and thresholds (the kernel compares draws
    and ranks as integers and must take the same decisions)."""
    from numba import njit

    from sim.behaviour.adoption import rank_threshold
    from sim.rng import INV53, bits53, threshold53, uniform

    @njit
    def compare(key, idx, probs):
        bad = 0
        for p in probs:
            thr = threshold53(p)
            for i in idx:
                bad += (bits53(key, i) < thr) != (uniform(key, i) < p)
                bad += bits53(key, i) * INV53 != uniform(key, i)
        return bad

    rng = np.random.default_rng(11)
    key = np.uint64(0x1234_5678_9ABC_DEF0)
    idx = rng.integers(0, 2**40, 5000)
    on_grid = [k * 2.0**-53 for k in (0, 1, 2, 2**52, 2**53 - 1)]  # p that a draw can equal
    probs = np.array([*rng.random(200), *on_grid, 0.5, 1.0, 1.5, -0.1, np.nan, 1e-300, 1.0 - 2**-53])
    assert compare(key, idx, probs) == 0
    # draws at the grid points themselves: u = k / 2**53 is below p exactly when k < T
    for k in (0, 1, 7, 2**52):
        p = k * 2.0**-53
        assert int(threshold53(p)) == k and int(threshold53(np.nextafter(p, 1.0))) == k + 1

    ranks = np.arange(65536)
    thresholds = [*(rng.random(300) * 70000 - 1000), 0.0, 1.0, 65535.0, 65535.5, 65536.0, 1e9, -5.0, np.nan]
    for x in thresholds:
        np.testing.assert_array_equal(ranks < rank_threshold(x), ranks < x, err_msg=str(x))
