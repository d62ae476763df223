"""Simulated time: ticks, days and the daily rhythm of attention."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedlab.core.arrays import FloatArray

# Relative app-open intensity by hour of day (mean 1): a night trough and lunch and evening
# peaks, the shape reported for social apps by time-of-day usage studies (e.g. Golder & Macy 2011
# for posting; Pew 2018 for checking).
_HOURLY = np.array(
    [0.45, 0.25, 0.15, 0.1, 0.1, 0.2, 0.5, 0.9, 1.1, 1.1, 1.1, 1.2,
     1.4, 1.3, 1.1, 1.1, 1.2, 1.3, 1.5, 1.7, 1.9, 1.9, 1.6, 1.0],
    dtype=np.float64,
)  # fmt: skip
_HOURLY = _HOURLY / _HOURLY.mean()


@dataclass(frozen=True, slots=True)
class Clock:
    """Maps ticks to days and hours.

    Attributes:
        tick_hours: length of one tick in hours (divides 24).
    """

    tick_hours: float = 1.0

    @property
    def ticks_per_day(self) -> int:
        """Ticks in one simulated day."""
        return round(24 / self.tick_hours)

    def day(self, tick: int) -> int:
        """Zero-based day of ``tick``."""
        return tick // self.ticks_per_day

    def hour(self, tick: int) -> float:
        """Hour of day at the start of ``tick``."""
        return (tick % self.ticks_per_day) * self.tick_hours

    def is_day_end(self, tick: int) -> bool:
        """Whether ``tick`` is the last tick of its day."""
        return (tick + 1) % self.ticks_per_day == 0

    def ticks(self, hours: float) -> int:
        """Number of whole ticks in ``hours`` (at least one)."""
        return max(1, round(hours / self.tick_hours))


def rhythm(hour: float, phase_hours: FloatArray) -> FloatArray:
    """Each person's relative activity at ``hour``, shifted by their phase (mean 1 over a day)."""
    h = np.mod(hour - phase_hours, 24.0)
    lo = np.floor(h).astype(np.int64)
    frac = (h - lo).astype(np.float32)
    return ((1 - frac) * _HOURLY[lo % 24] + frac * _HOURLY[(lo + 1) % 24]).astype(np.float32)
