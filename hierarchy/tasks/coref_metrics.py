"""Coreference scores as the CoNLL-2012 scorer (conll/reference-coreference-scorers) defines them: MUC, B³, CEAF-e,
their mean (the CoNLL F1), and LEA (Moosavi & Strube 2016), over the entities of a document given as clusters of
mentions (any hashable: ``(sentence, start, end)``). Counts add over documents (:class:`CorefMetric`), so a corpus
is scored as the reference scorer scores a file of many documents. A key mention the response lacks, or a response
mention the key lacks, counts as a miss (B³ and CEAF-e) or as a singleton of its own (MUC's partitions), as there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hierarchy.tasks.metrics import SpanMetric


def muc(key: list, response: list) -> tuple[float, float]:
    """``(numerator, denominator)`` of MUC recall of ``response`` against ``key`` (swap them for precision): for each
    key entity, its size less the number of pieces the response cuts it into, over its size less one."""
    where = {m: k for k, cluster in enumerate(response) for m in cluster}
    num = den = 0
    for cluster in key:
        pieces = {where.get(m, ("alone", m)) for m in cluster}  # a mention the response lacks is a piece of its own
        num += len(cluster) - len(pieces)
        den += len(cluster) - 1
    return num, den


def b_cubed(key: list, response: list) -> tuple[float, float]:
    """``(numerator, denominator)`` of B³ recall (swap for precision): each key mention counts the share of its key
    entity that its response entity holds (0 where the response lacks it), over the number of key mentions."""
    where = {m: set(cluster) for cluster in response for m in cluster}
    num = sum(len(set(cluster) & where[m]) / len(cluster) for cluster in key for m in cluster if m in where)
    return num, sum(len(cluster) for cluster in key)


def lea(key: list, response: list) -> tuple[float, float]:
    """``(numerator, denominator)`` of LEA recall (swap for precision): each key entity, weighted by its size, counts
    the share of its links (pairs of mentions; a singleton's one link to itself) the response also makes."""
    where = {m: k for k, cluster in enumerate(response) for m in cluster}
    sizes = [len(cluster) for cluster in response]
    num = den = 0
    for cluster in key:
        if len(cluster) == 1:
            (m,) = cluster
            common, links = float(m in where and sizes[where[m]] == 1), 1
        else:
            common = sum(1 for i, a in enumerate(cluster) for b in cluster[i + 1:]
                         if a in where and b in where and where[a] == where[b])
            links = len(cluster) * (len(cluster) - 1) / 2
        num += len(cluster) * common / links
        den += len(cluster)
    return num, den


def ceafe(key: list, response: list) -> tuple[float, int, int]:
    """``(similarity, key entities, response entities)`` of CEAF-e: the best one-to-one alignment of key and
    response entities by ``phi4 = 2 |K & R| / (|K| + |R|)``; recall is similarity over key entities, precision over
    response entities."""
    scores = [[2 * len(set(k) & set(r)) / (len(k) + len(r)) for r in response] for k in key]
    return sum(scores[i][j] for i, j in best_assignment(scores)), len(key), len(response)


def best_assignment(scores: list[list[float]]) -> list[tuple[int, int]]:
    """The ``(row, column)`` pairs of a one-to-one assignment of maximum total score (the Hungarian algorithm,
    O(n^3), with shortest augmenting paths); rectangular matrices leave rows or columns unassigned.

    >>> best_assignment([[1, 2], [3, 1]])
    [(0, 1), (1, 0)]
    """
    n_rows, n_cols = len(scores), len(scores[0]) if scores else 0
    n = max(n_rows, n_cols)
    if n == 0:
        return []
    top = max(max(row) for row in scores) if n_rows and n_cols else 0
    cost = [[top - (scores[i][j] if i < n_rows and j < n_cols else 0) for j in range(n)] for i in range(n)]
    inf = float("inf")
    u, v, match, way = [0.0] * (n + 1), [0.0] * (n + 1), [0] * (n + 1), [0] * (n + 1)  # match[col] = row, 1-based
    for row in range(1, n + 1):
        match[0], col0 = row, 0
        least, used = [inf] * (n + 1), [False] * (n + 1)
        while match[col0]:
            used[col0] = True
            i, delta, col1 = match[col0], inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    reduced = cost[i - 1][j - 1] - u[i] - v[j]
                    if reduced < least[j]:
                        least[j], way[j] = reduced, col0
                    if least[j] < delta:
                        delta, col1 = least[j], j
            for j in range(n + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    least[j] -= delta
            col0 = col1
        while col0:
            col1 = way[col0]
            match[col0] = match[col1]
            col0 = col1
    return sorted((match[j] - 1, j - 1) for j in range(1, n + 1) if match[j] - 1 < n_rows and j - 1 < n_cols)


def without_singletons(clusters: list) -> list:
    """The entities of more than one mention (OntoNotes-style scoring, which never annotates singletons)."""
    return [c for c in clusters if len(c) > 1]


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class CorefMetric:
    """MUC, B³, CEAF-e, LEA counts summed over documents; ``values`` in percent, with the CoNLL F1 (the mean of
    MUC, B³ and CEAF-e F1). ``singletons=False`` drops one-mention entities from key and response first."""

    singletons: bool = True
    counts: dict = field(default_factory=lambda: {name: [0.0, 0.0, 0.0, 0.0] for name in ("muc", "bcub", "lea")}
                         | {"ceafe": [0.0, 0, 0]})

    def update(self, key: list, response: list) -> None:
        """Add one document: ``key`` and ``response`` are its entities, each a list of mentions."""
        key, response = [list(c) for c in key], [list(c) for c in response]
        if not self.singletons:
            key, response = without_singletons(key), without_singletons(response)
        for name, measure in (("muc", muc), ("bcub", b_cubed), ("lea", lea)):
            counts = self.counts[name]
            for k, value in enumerate((*measure(key, response), *measure(response, key))):
                counts[k] += value
        for k, value in enumerate(ceafe(key, response)):
            self.counts["ceafe"][k] += value

    @property
    def values(self) -> dict:
        out = {}
        for name in ("muc", "bcub", "lea"):
            r_num, r_den, p_num, p_den = self.counts[name]
            r, p = r_num / r_den if r_den else 0.0, p_num / p_den if p_den else 0.0
            out[name] = {"recall": 100 * r, "precision": 100 * p, "f1": 100 * f1(p, r)}
        similarity, n_key, n_response = self.counts["ceafe"]
        r, p = similarity / n_key if n_key else 0.0, similarity / n_response if n_response else 0.0
        out["ceafe"] = {"recall": 100 * r, "precision": 100 * p, "f1": 100 * f1(p, r)}
        out["conll_f1"] = (out["muc"]["f1"] + out["bcub"]["f1"] + out["ceafe"]["f1"]) / 3
        out["f1"] = out["conll_f1"]  # the one number dev tables and plots show
        return out

    @property
    def score(self) -> float:
        """The CoNLL F1 as a fraction, for model selection."""
        return self.values["conll_f1"] / 100


class MentionMetric(SpanMetric):
    """Mention detection: precision, recall and F1 of exact spans, over every mention (singletons too)."""

    def update(self, predicted: set, gold: set) -> None:
        self.add(predicted, gold)
