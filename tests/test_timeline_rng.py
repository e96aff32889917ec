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
