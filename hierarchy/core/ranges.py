"""The range of a numeric recipe key, declared on its field (``epochs: int = bounded(30, AT_LEAST_1)``), and the walk
over a recipe's numeric values (:func:`numeric_values`) with which :meth:`hierarchy.core.config.Config.validate`
checks them: a value outside its range (or NaN) is a recipe error naming the key, the range and the value, before
anything is read or allocated. And the length limit of prediction. Nothing here imports torch (the command line reads
it for its options)."""
from __future__ import annotations

import dataclasses
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
SCORE = Range(-50, 50)  # a logit that decoding compares scores with: beyond it, one decision everywhere


def bounded(default, limit: Range):
    """A numeric field with its range, checked by :meth:`Config.validate`: ``epochs: int = bounded(30, AT_LEAST_1)``.
    A callable ``default`` is a factory (``dict``: a table of numbers, each in the range)."""
    if callable(default):
        return field(default_factory=default, metadata={"range": limit})
    return field(default=default, metadata={"range": limit})


def numeric_values(config) -> list[tuple[str, str, object, Range | None]]:
    """Every numeric value of ``config`` with its range (None: unbounded), as ``(key, where, value, range)``:
    ``("model.layers.size", "model.layers[2].size", 128, Range(1))``, ``("train.weights.*", "train.weights.pos", 0.5,
    Range(0))``..."""
    data = config.data.to_dict()
    out = [(f"data.{key}", f"data.{key}", data[key], limit) for key, (_, limit) in config.data.SETTINGS.items()
           if is_number(data[key])]

    def walk(node, key: str, where: str) -> None:
        for f in dataclasses.fields(node):
            value, limit = getattr(node, f.name), f.metadata.get("range")
            if dataclasses.is_dataclass(value):
                walk(value, f"{key}.{f.name}", f"{where}.{f.name}")
            elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
                for k, item in enumerate(value):
                    walk(item, f"{key}.{f.name}", f"{where}.{f.name}[{k}]")
            elif isinstance(value, dict):
                out.extend((f"{key}.{f.name}.*", f"{where}.{f.name}.{k}", v, limit) for k, v in value.items())
            elif is_number(value):
                out.append((f"{key}.{f.name}", f"{where}.{f.name}", value, limit))

    walk(config.model, "model", "model")
    walk(config.train, "train", "train")
    return out


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
