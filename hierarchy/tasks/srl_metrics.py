"""Semantic-role metrics: head-based (the CoNLL-2009 scorer's counting), span-based (CoNLL-2005's ``srl-eval.pl``)
and predicates alone. Count-based and addable, as every metric of :mod:`hierarchy.tasks.metrics`."""
from collections import Counter

from hierarchy.io.spans import get_chunks
from hierarchy.tasks.metrics import SpanMetric, _check_lengths, f1


class SRLMetric(SpanMetric):
    """Semantic roles, head-based, counted like the CoNLL-2009 scorer (``eval09.pl``) with senses kept apart.

    ``update(pred_senses, pred_roles, gold_senses, gold_roles)`` takes one sentence: a roleset or ``"_"`` per word
    and one label list per predicate (``None``: predicates only), predicates in sentence order
    (:class:`~hierarchy.io.Sentence`'s ``senses`` and ``roles``). A predicate is a word with a roleset: identification precision / recall / F1 over
    predicate words; sense accuracy is the share of gold predicates found with the right roleset. An argument is
    the triple (predicate word, argument word, label) for every label but ``_`` and ``V``; labeled precision,
    recall and F1 over those triples (the arguments of a wrongly found or missed predicate count as wrong),
    unlabeled ones without the label, and per-role counts. ``score`` is labeled argument F1.

    >>> metric = SRLMetric()
    >>> metric.update(["_", "go.01", "_"], [["ARG0", "V", "ARG1"]], ["_", "go.02", "_"], [["ARG0", "V", "ARG2"]])
    >>> metric.values["f1"], metric.values["predicate_f1"], metric.values["sense_acc"]
    (50.0, 100.0, 0.0)
    """

    fields = ("pred_tp", "pred_n_pred", "pred_n_gold", "sense_correct", "tp", "utp", "n_pred", "n_gold",
              "tp_by_role", "n_pred_by_role", "n_gold_by_role")

    def __init__(self, **counts):
        super().__init__(**counts)
        for name in ("tp_by_role", "n_pred_by_role", "n_gold_by_role"):
            setattr(self, name, Counter(getattr(self, name) or {}))

    @staticmethod
    def arguments(senses: list[str], roles: list[list[str]]) -> set[tuple]:
        """``(predicate word, argument word, label)`` triples, V and ``_`` left out."""
        predicates = [i for i, sense in enumerate(senses) if sense != "_"]
        if len(predicates) != len(roles):
            raise ValueError(f"{len(predicates)} predicates but {len(roles)} role columns")
        return {(p, i, label) for p, labels in zip(predicates, roles) for i, label in enumerate(labels)
                if label not in ("_", "V")}

    def update(self, pred_senses, pred_roles, gold_senses, gold_roles) -> None:
        _check_lengths(pred_senses, gold_senses, *(pred_roles or ()), *(gold_roles or ()))
        pred_predicates = {i for i, sense in enumerate(pred_senses) if sense != "_"}
        gold_predicates = {i for i, sense in enumerate(gold_senses) if sense != "_"}
        self.pred_tp += len(pred_predicates & gold_predicates)
        self.pred_n_pred += len(pred_predicates)
        self.pred_n_gold += len(gold_predicates)
        self.sense_correct += sum(pred_senses[i] == gold_senses[i] for i in pred_predicates & gold_predicates)
        if pred_roles is None:
            return
        pred, gold = self.arguments(pred_senses, pred_roles), self.arguments(gold_senses, gold_roles)
        correct = self.add(pred, gold)
        self.utp += len({a[:-1] for a in pred} & {a[:-1] for a in gold})
        self.tp_by_role.update(a[-1] for a in correct)
        self.n_pred_by_role.update(a[-1] for a in pred)
        self.n_gold_by_role.update(a[-1] for a in gold)

    @property
    def values(self) -> dict[str, float]:
        pp, pr, pf = f1(self.pred_tp, self.pred_n_pred, self.pred_n_gold)
        precision, recall, f = f1(self.tp, self.n_pred, self.n_gold)
        up, ur, uf = f1(self.utp, self.n_pred, self.n_gold)
        sense = self.sense_correct / self.pred_n_gold if self.pred_n_gold else 0.0
        return {"predicate_precision": 100 * pp, "predicate_recall": 100 * pr, "predicate_f1": 100 * pf,
                "sense_acc": 100 * sense, "precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f,
                "unlabeled_f1": 100 * uf}

    @property
    def per_role(self) -> dict[str, dict[str, float]]:
        """``{role: {"precision", "recall", "f1" (percent), "n_pred", "n_gold"}}``, roles sorted."""
        per_role = {}
        for role in sorted(self.n_pred_by_role.keys() | self.n_gold_by_role.keys()):
            n_pred, n_gold = self.n_pred_by_role[role], self.n_gold_by_role[role]
            precision, recall, f = f1(self.tp_by_role[role], n_pred, n_gold)
            per_role[role] = {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f,
                              "n_pred": n_pred, "n_gold": n_gold}
        return per_role


class SpanSRLMetric(SRLMetric):
    """Semantic roles over spans, counted like the CoNLL-2005 ``srl-eval.pl`` script: an argument is correct when
    its predicate, first word, last word and label all match; the V span is left out. ``roles`` hold BIO tags per
    predicate, read into spans as conlleval reads chunks (:func:`get_chunks`). Predicate and sense counts as in
    :class:`SRLMetric` (a sense in span corpora is the predicate's lemma).

    >>> metric = SpanSRLMetric()
    >>> metric.update(["_", "go", "_"], [["B-A0", "B-V", "B-A1"]], ["_", "go", "_"], [["B-A0", "B-V", "O"]])
    >>> metric.tp, metric.n_pred, metric.n_gold
    (1, 2, 1)
    """

    @staticmethod
    def arguments(senses: list[str], roles: list[list[str]]) -> set[tuple]:
        """``(predicate word, first word, last word, label)`` spans, V left out."""
        predicates = [i for i, sense in enumerate(senses) if sense != "_"]
        if len(predicates) != len(roles):
            raise ValueError(f"{len(predicates)} predicates but {len(roles)} role columns")
        return {(p, first, last, label) for p, tags in zip(predicates, roles)
                for label, first, last in get_chunks(tags) if label != "V"}


class PredicateMetric(SRLMetric):
    """Predicate identification and senses alone (the ``predicates`` task): ``update(pred_senses, None,
    gold_senses, None)``; ``score`` is predicate F1.

    >>> metric = PredicateMetric()
    >>> metric.update(["_", "go.01", "see.01"], None, ["_", "go.02", "_"], None)
    >>> metric.values
    {'predicate_precision': 50.0, 'predicate_recall': 100.0, 'predicate_f1': 66.66666666666666, 'sense_acc': 0.0}
    """

    @property
    def score(self) -> float:
        return f1(self.pred_tp, self.pred_n_pred, self.pred_n_gold)[2]

    @property
    def values(self) -> dict[str, float]:
        return {k: v for k, v in super().values.items() if k.startswith("predicate_") or k == "sense_acc"}
