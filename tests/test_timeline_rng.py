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


def _uniforms53(key, w):
    """The 53-bit uniforms ``U_k`` of the 64 citizens of word ``w``, each assembled in full from its
    53 level draws (numpy, Python integers; no early stop)."""
    from sim.rng import counter_draws

    levels = counter_draws(key, np.arange(53, dtype=np.uint64) + np.uint64(64 * w))
    bits = (levels[:, None] >> np.arange(64, dtype=np.uint64)[None, :]) & np.uint64(1)  # (level, k)
    return [sum(int(bits[level, k]) << (52 - level) for level in range(53)) for k in range(64)]


def test_bernoulli_word_equals_each_citizens_full_53_bit_uniform():
    """The early-stopping bit-serial comparison gives, for every citizen, exactly the test of its
    whole 53-bit uniform against the threshold, for full and partial spans, edge thresholds (0,
    one grid step, 2**52 and its neighbours, 1 - 2**-53, 1), random ones, and thresholds equal to a
    citizen's own uniform and one above it (equal in all 53 bits: not below; one above: below)."""
    from numba import njit

    from sim.rng import bernoulli_word, threshold53

    @njit
    def word(key, w, thr, span):
        return bernoulli_word(key, w, thr, span)

    rng = np.random.default_rng(5)
    full = np.uint64(2**64 - 1)
    thresholds = [0, 1, 2**52 - 1, 2**52, 2**52 + 1, 2**53 - 1, 2**53, *rng.integers(0, 2**53, 40)]
    thresholds += [int(threshold53(p)) for p in (0.01, 0.1175, 0.15, 0.5, 0.93)]
    key0, w0 = np.uint64(rng.integers(0, 2**63)), int(rng.integers(0, 2**30))
    own = _uniforms53(key0, w0)[17]
    cases = [(np.uint64(rng.integers(0, 2**63)), int(rng.integers(0, 2**30)), thr) for thr in thresholds]
    cases += [(key0, w0, own), (key0, w0, own + 1)]
    for key, w, thr in cases:
        want = np.array([u < thr for u in _uniforms53(key, w)])
        got = int(word(key, w, np.uint64(thr), full))
        np.testing.assert_array_equal([(got >> k) & 1 == 1 for k in range(64)], want, err_msg=str(thr))
        span = np.uint64(rng.integers(0, 2**63)) | np.uint64(1)
        assert int(word(key, w, np.uint64(thr), span)) == got & int(span), thr


def test_bernoulli_levels_and_finish_equal_bernoulli_word():
    """The kernels' form of the need draw (the fixed levels of a run of words in one loop, then each
    word finished within its span) gives every word's mask exactly as :func:`bernoulli_word`, for
    runs of 1 to 64 words, full and partial spans and edge thresholds (0, 1, 2**53 - 1, 2**53)."""
    from numba import njit

    from sim.rng import bernoulli_finish, bernoulli_levels, bernoulli_word, threshold53

    @njit
    def both(key, w0, n, thr, spans):
        below, open_ = np.empty(64, np.uint64), np.empty(64, np.uint64)
        bernoulli_levels(key, w0, n, thr, below, open_)
        out = np.empty((2, n), np.uint64)
        for q in range(n):
            span = spans[q]
            out[0, q] = bernoulli_finish(key, w0 + q, thr, below[q] & span, open_[q] & span, span)
            out[1, q] = bernoulli_word(key, w0 + q, thr, span)
        return out

    rng = np.random.default_rng(9)
    thresholds = [0, 1, 2**53 - 1, 2**53, *(int(threshold53(p)) for p in (0.01, 0.1175, 0.5, 0.99))]
    thresholds += [int(x) for x in rng.integers(0, 2**53, 6)]
    n_set = 0
    for thr in thresholds:
        for n in (1, 7, 64):
            key, w0 = np.uint64(rng.integers(0, 2**63)), int(rng.integers(0, 2**30))
            spans = rng.integers(0, 2**63, n, dtype=np.uint64) | np.uint64(1)
            spans[0] = ~np.uint64(0)
            got, want = both(key, w0, n, np.uint64(thr), spans)
            np.testing.assert_array_equal(got, want, err_msg=f"thr={thr} n={n}")
            n_set += int(sum(bin(int(x)).count("1") for x in want))
    assert n_set > 0  # the comparison covered words with citizens below the threshold


def test_bernoulli_word_has_the_right_frequency_and_no_correlation():
    """Over 2**17 words (8.4 M citizens) the share of set bits is ``p`` within 5 binomial standard
    errors, neighbouring citizens and the same citizen in two months (two keys) are independent
    (joint share ``p**2`` within 5 standard errors), and raising ``p`` only adds citizens."""
    from numba import njit

    from sim.rng import bernoulli_word, threshold53

    @njit
    def counts(key, key2, n_words, thr, thr_hi):
        full = ~np.uint64(0)
        ones = pairs = months = not_nested = 0
        for w in range(n_words):
            a = bernoulli_word(key, w, thr, full)
            b = bernoulli_word(key2, w, thr, full)
            hi = bernoulli_word(key, w, thr_hi, full)
            for k in range(64):
                bit = (a >> np.uint64(k)) & np.uint64(1)
                ones += bit
                if k < 63:
                    pairs += bit & ((a >> np.uint64(k + 1)) & np.uint64(1))
                months += bit & ((b >> np.uint64(k)) & np.uint64(1))
            not_nested += (a & ~hi) != np.uint64(0)
        return ones, pairs, months, not_nested

    n_words = 2**17
    for p in (0.02, 0.15, 0.5, 0.9):
        ones, pairs, months, not_nested = counts(
            np.uint64(77), np.uint64(78), n_words, threshold53(p), threshold53(min(p + 0.05, 1.0))
        )
        n = 64 * n_words
        assert abs(ones / n - p) < 5 * np.sqrt(p * (1 - p) / n), p
        n_pairs = 63 * n_words
        assert abs(pairs / n_pairs - p * p) < 5 * np.sqrt(p * p * (1 - p * p) / n_pairs), p
        assert abs(months / n - p * p) < 5 * np.sqrt(p * p * (1 - p * p) / n), p
        assert not_nested == 0, p


def test_draw_pair_halves_compare_like_32_bit_uniforms():
    """``draw_pair`` returns the high and low 32 bits of the counter draw on the 53-bit scale, so
    ``half < threshold53(p)`` is ``half32 / 2**32 < p`` and ``unit(half)`` is ``half32 / 2**32``."""
    from numba import njit

    from sim.rng import counter_draws, draw_pair, threshold53

    @njit
    def pairs(key, idx):
        out = np.empty((idx.size, 2), np.uint64)
        for k in range(idx.size):
            out[k, 0], out[k, 1] = draw_pair(key, idx[k])
        return out

    rng = np.random.default_rng(3)
    key = np.uint64(0xDEAD_BEEF_0123_4567)
    idx = rng.integers(0, 2**40, 4000)
    got = pairs(key, idx)
    z = counter_draws(key, idx)
    high, low = z >> np.uint64(32), z & np.uint64(0xFFFFFFFF)
    np.testing.assert_array_equal(got[:, 0], high << np.uint64(21))
    np.testing.assert_array_equal(got[:, 1], low << np.uint64(21))
    for p in [*rng.random(50), 0.0, 1.0, 2.0**-32, 0.5 + 2.0**-33]:
        thr = threshold53(p)
        np.testing.assert_array_equal(got[:, 0] < thr, high.astype(np.float64) / 2**32 < p)
        np.testing.assert_array_equal(got[:, 1] < thr, low.astype(np.float64) / 2**32 < p)
    assert abs(np.corrcoef(high.astype(float), low.astype(float))[0, 1]) < 0.06
