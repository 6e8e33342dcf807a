"""Count-based metrics that add, so a corpus score is the sum of sentence scores.

Each metric holds integer counts only (except :class:`RelatednessMetric`, whose correlations need the
scores themselves). ``update`` adds one sentence (plain Python lists), ``+`` adds two metrics, and
``sum(metrics, Metric())`` or ``sum(metrics)`` adds many. ``.score`` is a fraction in [0, 1] used for
model selection; ``.values`` is a dict of named floats in percent (0-100; relatedness MSE as it is)
for logging and JSON::

    >>> metric = AttachmentMetric()
    >>> metric.update([2, 0, 2], ["nsubj", "root", "obj"], [2, 0, 2], ["nsubj", "root", "iobj"])
    >>> metric
    UAS: 100.00% LAS: 66.67%
"""

import math
from collections import Counter

from hierarchy.io.pairs import LABELS
from hierarchy.io.spans import get_chunks, split_tag


def f1(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    """Precision, recall and F1 as fractions in [0, 1]; each is 0.0 when undefined.

    >>> f1(2, 4, 2)
    (0.5, 1.0, 0.6666666666666666)
    """
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f


def _check_lengths(*seqs):
    lens = {len(seq) for seq in seqs}
    if len(lens) > 1:
        raise ValueError(f"sequences of one sentence differ in length: {[len(seq) for seq in seqs]}")


class Metric:
    """Base class: subclasses name their integer counts in ``fields``."""

    fields: tuple[str, ...] = ()

    def __init__(self, **counts):
        for name in self.fields:
            setattr(self, name, counts.pop(name, 0))
        if counts:
            raise TypeError(f"unknown counts for {type(self).__name__}: {sorted(counts)}")

    def __add__(self, other):
        if other == 0:  # so that sum(metrics) works without a start value
            return self._copy()
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(**{name: getattr(self, name) + getattr(other, name) for name in self.fields})

    def __radd__(self, other):
        return self.__add__(other)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)

    def __repr__(self):
        return " ".join(f"{name.upper()}: {value:.2f}%" for name, value in self.values.items())

    def _copy(self):
        return type(self)(**{name: getattr(self, name) for name in self.fields})

    @property
    def score(self) -> float:
        raise NotImplementedError

    @property
    def values(self) -> dict[str, float]:
        raise NotImplementedError


class AccuracyMetric(Metric):
    """Token accuracy, e.g. of POS tags: ``update(preds, golds)`` with one string per token."""

    fields = ("n_correct", "n_tokens")

    def update(self, preds: list[str], golds: list[str]) -> None:
        _check_lengths(preds, golds)
        self.n_correct += sum(pred == gold for pred, gold in zip(preds, golds))
        self.n_tokens += len(golds)

    @property
    def score(self) -> float:
        return self.n_correct / self.n_tokens if self.n_tokens else 0.0

    @property
    def values(self) -> dict[str, float]:
        return {"acc": 100 * self.score}


class AttachmentMetric(Metric):
    """Unlabeled and labeled attachment scores as the CoNLL 2018 UD scorer computes them.

    Agrees with ``conll18_ud_eval.py`` under gold tokenization (words aligned one to one):
    every syntactic word counts, punctuation included; UAS needs the right head, LAS the
    right head and relation. Heads are 1-based with 0 for the root. Like that scorer,
    labels are compared on their universal part only by default (``subtypes=False``:
    ``acl:relcl`` matches ``acl:xyz``, i.e. ``label.split(":")[0]``); ``subtypes=True``
    compares the full labels. ``score`` is LAS.
    """

    fields = ("n_ucorrect", "n_lcorrect", "n_words")

    def __init__(self, subtypes: bool = False, **counts):
        self.subtypes = subtypes
        super().__init__(**counts)

    def __add__(self, other):
        if isinstance(other, AttachmentMetric) and other.subtypes != self.subtypes:
            raise ValueError("cannot add attachment metrics with different `subtypes` settings")
        total = super().__add__(other)
        if total is not NotImplemented:
            total.subtypes = self.subtypes
        return total

    def update(self, pred_heads: list[int], pred_rels: list[str], gold_heads: list[int], gold_rels: list[str]) -> None:
        _check_lengths(pred_heads, pred_rels, gold_heads, gold_rels)
        for pred_head, pred_rel, gold_head, gold_rel in zip(pred_heads, pred_rels, gold_heads, gold_rels):
            if pred_head != gold_head:
                continue
            self.n_ucorrect += 1
            if not self.subtypes:
                pred_rel, gold_rel = pred_rel.split(":")[0], gold_rel.split(":")[0]
            self.n_lcorrect += pred_rel == gold_rel
        self.n_words += len(gold_heads)

    @property
    def uas(self) -> float:
        return self.n_ucorrect / self.n_words if self.n_words else 0.0

    @property
    def las(self) -> float:
        return self.n_lcorrect / self.n_words if self.n_words else 0.0

    @property
    def score(self) -> float:
        return self.las

    @property
    def values(self) -> dict[str, float]:
        return {"uas": 100 * self.uas, "las": 100 * self.las}


class SpanMetric(Metric):
    """Precision, recall and F1 of exact items (spans, arguments): :meth:`add` counts a set of predicted and a set
    of gold items. Subclasses add their own counts to ``fields``.

    >>> metric = SpanMetric()
    >>> sorted(metric.add({(0, 2), (3, 4)}, {(0, 2)})), metric.values["precision"], metric.values["recall"]
    ([(0, 2)], 50.0, 100.0)
    """

    fields = ("tp", "n_pred", "n_gold")

    def add(self, predicted: set, gold: set) -> set:
        """Count ``predicted`` and ``gold`` items; returns the correct ones."""
        correct = predicted & gold
        self.tp += len(correct)
        self.n_pred += len(predicted)
        self.n_gold += len(gold)
        return correct

    @property
    def score(self) -> float:
        return f1(self.tp, self.n_pred, self.n_gold)[2]

    @property
    def values(self) -> dict[str, float]:
        precision, recall, f = f1(self.tp, self.n_pred, self.n_gold)
        return {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f}


class ChunkMetric(SpanMetric):
    """Chunk precision, recall and F1 and token accuracy as the conlleval perl script reports them.

    A predicted chunk is correct when its first token, last token and type all match a
    gold chunk. Boundaries follow conlleval's ``startOfChunk``/``endOfChunk`` (see
    :func:`get_chunks`), so ill-formed input is read as conlleval reads it: ``I-NP`` after
    ``O`` starts a chunk, ``I-VP`` after ``B-NP`` starts a VP chunk. Accuracy counts tokens
    whose prefix and type both match. Counts per type are kept in Counters keyed by type.
    """

    fields = ("n_correct_tags", "n_tokens", "tp", "n_pred", "n_gold", "tp_by_type", "n_pred_by_type", "n_gold_by_type")

    def __init__(self, **counts):
        super().__init__(**counts)
        for name in ("tp_by_type", "n_pred_by_type", "n_gold_by_type"):
            setattr(self, name, Counter(getattr(self, name) or {}))

    def update(self, pred_tags: list[str], gold_tags: list[str]) -> None:
        _check_lengths(pred_tags, gold_tags)
        self.n_correct_tags += sum(split_tag(pred) == split_tag(gold) for pred, gold in zip(pred_tags, gold_tags))
        self.n_tokens += len(gold_tags)
        pred_chunks, gold_chunks = set(get_chunks(pred_tags)), set(get_chunks(gold_tags))
        correct = self.add(pred_chunks, gold_chunks)
        self.tp_by_type.update(type_ for type_, _, _ in correct)
        self.n_pred_by_type.update(type_ for type_, _, _ in pred_chunks)
        self.n_gold_by_type.update(type_ for type_, _, _ in gold_chunks)

    @property
    def values(self) -> dict[str, float]:
        acc = self.n_correct_tags / self.n_tokens if self.n_tokens else 0.0
        return super().values | {"acc": 100 * acc}

    @property
    def per_type(self) -> dict[str, dict[str, float]]:
        """``{type: {"precision", "recall", "f1" (percent), "n_pred", "n_gold"}}``, types sorted.

        Untyped tags (``B``, ``I``) have the type ``""``, as in conlleval.
        """
        per_type = {}
        for type_ in sorted(self.n_pred_by_type.keys() | self.n_gold_by_type.keys()):
            n_pred, n_gold = self.n_pred_by_type[type_], self.n_gold_by_type[type_]
            precision, recall, f = f1(self.tp_by_type[type_], n_pred, n_gold)
            per_type[type_] = {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f}
            per_type[type_].update(n_pred=n_pred, n_gold=n_gold)
        return per_type


def _ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank (as Spearman's rho needs).

    >>> _ranks([0.5, 0.2, 0.5, 0.9])
    [2.5, 1.0, 2.5, 4.0]
    """
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def pearson(xs: list[float], ys: list[float]) -> float:
    """Pearson's correlation coefficient; 0.0 when undefined (fewer than two values, or one side constant).

    >>> pearson([1, 2, 3], [2, 4, 7])
    0.9933992677987828
    """
    n = len(xs)
    if n < 2:
        return 0.0
    mean_x, mean_y = math.fsum(xs) / n, math.fsum(ys) / n
    dx, dy = [x - mean_x for x in xs], [y - mean_y for y in ys]
    sxx, syy = math.fsum(d * d for d in dx), math.fsum(d * d for d in dy)
    if sxx == 0 or syy == 0:
        return 0.0
    return math.fsum(a * b for a, b in zip(dx, dy)) / math.sqrt(sxx * syy)


class RelatednessMetric(Metric):
    """Pearson's r, Spearman's rho and the mean squared error of predicted against gold relatedness scores.

    Correlations do not decompose into counts, so this metric keeps the two lists; adding concatenates them.
    ``score`` is Pearson's r; ``values`` gives ``pearson`` and ``spearman`` times 100 and ``mse`` as it is.
    """

    fields = ("preds", "golds")

    def __init__(self, **counts):
        super().__init__(**counts)
        self.preds, self.golds = list(self.preds or []), list(self.golds or [])

    def update(self, preds: list[float], golds: list[float]) -> None:
        _check_lengths(preds, golds)
        self.preds += map(float, preds)
        self.golds += map(float, golds)

    @property
    def pearson(self) -> float:
        return pearson(self.preds, self.golds)

    @property
    def spearman(self) -> float:
        return pearson(_ranks(self.preds), _ranks(self.golds))

    @property
    def mse(self) -> float:
        n = len(self.golds)
        return math.fsum((p - g) ** 2 for p, g in zip(self.preds, self.golds)) / n if n else 0.0

    @property
    def score(self) -> float:
        return self.pearson

    @property
    def values(self) -> dict[str, float]:
        return {"pearson": 100 * self.pearson, "spearman": 100 * self.spearman, "mse": self.mse}

    def __repr__(self):
        return f"PEARSON: {self.pearson:.4f} SPEARMAN: {self.spearman:.4f} MSE: {self.mse:.4f}"


class EntailmentMetric(Metric):
    """Accuracy, per-class precision / recall / F1 and the confusion matrix of entailment labels.

    ``update(preds, golds)`` takes one label per pair; the counts are a Counter of ``(gold, pred)``.
    ``score`` is accuracy; ``values`` gives ``acc`` and the ``macro_f1`` over the classes seen, in percent.
    """

    fields = ("confusion",)

    def __init__(self, **counts):
        super().__init__(**counts)
        self.confusion = Counter(self.confusion or {})

    def update(self, preds: list[str], golds: list[str]) -> None:
        _check_lengths(preds, golds)
        self.confusion.update(zip(golds, preds))

    @property
    def labels(self) -> list[str]:
        """Every label seen as gold or predicted: ENTAILMENT, NEUTRAL, CONTRADICTION first, then any other, sorted."""

        seen = {label for pair in self.confusion for label in pair}
        return [label for label in LABELS if label in seen] + sorted(seen - set(LABELS))

    @property
    def n_pairs(self) -> int:
        return sum(self.confusion.values())

    @property
    def score(self) -> float:
        n = self.n_pairs
        return sum(c for (gold, pred), c in self.confusion.items() if gold == pred) / n if n else 0.0

    @property
    def per_class(self) -> dict[str, dict[str, float]]:
        """``{label: {"precision", "recall", "f1" (percent), "n_pred", "n_gold"}}``."""
        per_class = {}
        for label in self.labels:
            n_pred = sum(c for (_, pred), c in self.confusion.items() if pred == label)
            n_gold = sum(c for (gold, _), c in self.confusion.items() if gold == label)
            precision, recall, f = f1(self.confusion[label, label], n_pred, n_gold)
            per_class[label] = {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f,
                                "n_pred": n_pred, "n_gold": n_gold}
        return per_class

    @property
    def matrix(self) -> dict[str, dict[str, int]]:
        """The confusion matrix ``{gold: {predicted: count}}`` over :attr:`labels`, zeros included."""
        labels = self.labels
        return {gold: {pred: self.confusion[gold, pred] for pred in labels} for gold in labels}

    @property
    def values(self) -> dict[str, float]:
        per_class = self.per_class
        macro = sum(c["f1"] for c in per_class.values()) / len(per_class) if per_class else 0.0
        return {"acc": 100 * self.score, "macro_f1": macro}


__all__ = ["AccuracyMetric", "AttachmentMetric", "ChunkMetric", "EntailmentMetric", "Metric", "RelatednessMetric", "f1",
           "pearson"]
