"""The range of a numeric recipe key, declared on its field (``epochs: int = bounded(30, AT_LEAST_1)``): a value
outside it (or NaN) is a recipe error naming the key, the range and the value, before anything is read or
allocated (:meth:`hierarchy.core.config.Config.validate`). And the length limit of prediction. Nothing here imports
torch (the command line reads it for its options)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

MAX_SENTENCE_WORDS = 500  # longer sentences are predicted in pieces (memory and time grow with its square)


@dataclass(frozen=True)
class Range:
    """``low <= value <= high`` (``open_low`` / ``open_high``: strict); None: unbounded."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def holds(self, value) -> bool:
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)

    def describe(self) -> str:
        """``at least 1``, ``in [0, 1)``, ``positive``...

        >>> Range(0, 1, open_high=True).describe(), Range(1).describe(), Range(0, open_low=True).describe()
        ('in [0, 1)', 'at least 1', 'positive')
        """
        if self.high is None:
            if self.low == 0 and self.open_low:
                return "positive"
            return f"{'above' if self.open_low else 'at least'} {self.low:g}"
        return f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}{')' if self.open_high else ']'}"


AT_LEAST_1, AT_LEAST_0, POSITIVE = Range(1), Range(0), Range(0, open_low=True)
FRACTION = Range(0, 1, open_high=True)  # dropout: 1 would drop everything


def bounded(default, limit: Range):
    """A numeric field with its range, checked by :meth:`Config.validate`: ``epochs: int = bounded(30, AT_LEAST_1)``.
    A callable ``default`` is a factory (``dict``: a table of numbers, each in the range)."""
    if callable(default):
        return field(default_factory=default, metadata={"range": limit})
    return field(default=default, metadata={"range": limit})
