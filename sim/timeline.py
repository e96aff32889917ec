"""Monthly calendar: month index ``t`` (0 = first month) <-> ``YYYY-MM`` strings."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from sim.errors import SimInputError

_YM = re.compile(r"^(\d{4})-(\d{2})$")


def parse_ym(text: str, key: str = "date") -> int:
    """Parse ``YYYY-MM`` into an absolute month number (year * 12 + month - 1).

    Raises:
        SimInputError: if the text is not a valid ``YYYY-MM``.
    """
    m = _YM.match(str(text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise SimInputError(f"{key}: '{text}' is not a month; allowed: YYYY-MM, e.g. 2025-12")
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def format_ym(absolute_month: int) -> str:
    """Format an absolute month number as ``YYYY-MM``."""
    return f"{absolute_month // 12:04d}-{absolute_month % 12 + 1:02d}"


@dataclass(frozen=True)
class Timeline:
    """Monthly steps from ``start`` to ``end`` inclusive."""

    start: str = "2017-01"
    end: str = "2030-12"

    def __post_init__(self) -> None:
        if parse_ym(self.end, "timeline.end") < parse_ym(self.start, "timeline.start"):
            raise SimInputError(
                f"timeline.end: {self.end} is before timeline.start {self.start}; allowed: end >= start"
            )

    @property
    def first(self) -> int:
        """Absolute month number of the first step."""
        return parse_ym(self.start)

    @property
    def n_months(self) -> int:
        """Number of monthly steps."""
        return parse_ym(self.end) - parse_ym(self.start) + 1

    def index(self, ym: str) -> int:
        """Month index ``t`` of a ``YYYY-MM`` string (may be outside the run)."""
        return parse_ym(ym) - self.first

    def label(self, t: int) -> str:
        """``YYYY-MM`` of month index ``t``."""
        return format_ym(self.first + t)

    def labels(self) -> list[str]:
        """All month labels of the run."""
        return [self.label(t) for t in range(self.n_months)]

    def decimal_year(self, t: int | np.ndarray) -> float | np.ndarray:
        """Mid-month decimal year of month index ``t`` (e.g. 2017-01 -> 2017.042)."""
        return (self.first + np.asarray(t)) / 12.0 + 1.0 / 24.0

    def year(self, t: int) -> int:
        """Calendar year of month index ``t``."""
        return (self.first + t) // 12

    def month_of_year(self, t: int) -> int:
        """Calendar month (1-12) of month index ``t``."""
        return (self.first + t) % 12 + 1
