"""The range of every numeric recipe key, in one table: a value outside it (or NaN) is a recipe error naming the
key, the range and the value, before anything is read or allocated. A test walks the table (and checks that no
numeric key is missing from it)."""
from __future__ import annotations

import math
from dataclasses import dataclass


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


MAX_SENTENCE_WORDS = 500  # longer sentences are predicted in pieces (memory and time grow with its square)
AT_LEAST_1, AT_LEAST_0, POSITIVE = Range(1), Range(0), Range(0, open_low=True)
FRACTION = Range(0, 1, open_high=True)  # dropout: 1 would drop everything

#: ``section.key`` (``model.layers.size`` for every layer; ``train.task_batch_tokens.*`` for every value) -> range.
RANGES: dict[str, Range] = {
    "data.max_sentences": AT_LEAST_0, "data.holdout": AT_LEAST_0,
    "model.word_dim": AT_LEAST_1, "model.char_dim": AT_LEAST_1, "model.char_size": AT_LEAST_1,
    "model.min_freq": AT_LEAST_1, "model.label_dim": AT_LEAST_1, "model.mlp_dim": AT_LEAST_1,
    "model.arc_dim": AT_LEAST_1, "model.rel_dim": AT_LEAST_1, "model.dropout": FRACTION,
    "model.word_dropout": FRACTION, "model.vectors_top": AT_LEAST_0,
    "model.layers.size": AT_LEAST_1, "model.layers.heads": AT_LEAST_1,
    "model.transformer.lr": POSITIVE, "model.transformer.warmup": AT_LEAST_0,
    "train.epochs": AT_LEAST_1, "train.patience": AT_LEAST_1, "train.batch_tokens": AT_LEAST_1,
    "train.task_batch_tokens.*": AT_LEAST_1, "train.lr": POSITIVE, "train.lr_decay": Range(0, 1, open_low=True),
    "train.delta": AT_LEAST_0, "train.clip": POSITIVE, "train.weights.*": AT_LEAST_0,
    "train.score_weights.*": AT_LEAST_0, "train.seed": AT_LEAST_0, "train.threads": AT_LEAST_0,
    "train.temperature": POSITIVE, "train.autosem_steps": AT_LEAST_1, "train.autosem_decay": Range(0, 1),
    "train.dtp_gamma": AT_LEAST_0, "train.dtp_smoothing": Range(0, 1, open_low=True),
    "train.diagnose_every": AT_LEAST_0,
}


def values(config) -> list[tuple[str, str, object]]:
    """Every numeric value of ``config`` as ``(table key, where, value)``: ``("model.layers.size",
    "model.layers[2].size", 128)``, ``("train.weights.*", "train.weights.pos", 0.5)``..."""
    import dataclasses

    out = [(f"data.{k}", f"data.{k}", v) for k, v in config.data.to_dict().items() if is_number(v)]
    for section in ("model", "train"):
        node = getattr(config, section)
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            key = f"{section}.{f.name}"
            if is_number(value):
                out.append((key, key, value))
            elif isinstance(value, dict):
                out += [(f"{key}.*", f"{key}.{k}", v) for k, v in value.items()]
            elif dataclasses.is_dataclass(value):
                out += [(f"{key}.{g.name}", f"{key}.{g.name}", getattr(value, g.name))
                        for g in dataclasses.fields(value) if is_number(getattr(value, g.name))]
    for k, layer in enumerate(config.model.layers):
        out += [(f"model.layers.{g}", f"model.layers[{k}].{g}", getattr(layer, g)) for g in ("size", "heads")]
    return out


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check(config, where: str) -> None:
    """Raise a :class:`~hierarchy.errors.ConfigError` for the first value outside its range."""
    from .errors import ConfigError

    for key, name, value in values(config):
        if key in RANGES and not RANGES[key].holds(value):
            raise ConfigError(f"{where}: {name} must be {RANGES[key].describe()}, not {value}")
