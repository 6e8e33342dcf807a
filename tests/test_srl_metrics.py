"""SRL metrics on hand-made cases: head-based (CoNLL-2009 scorer style) and span-based (srl-eval style)."""
import pytest

from hierarchy.tasks.srl_metrics import PredicateMetric, SpanSRLMetric, SRLMetric


def test_head_based_counts_by_hand():
    # gold: "go.01" at word 1 with ARG0 on 0 and ARG1 on 3; "say.01" at word 2 with ARG0 on 0
    gold_senses = ["_", "go.01", "say.01", "_"]
    gold_roles = [["ARG0", "V", "_", "ARG1"], ["ARG0", "_", "V", "_"]]
    # predicted: go.02 at word 1 (sense wrong) with ARG0 on 0 (right) and ARG2 on 3 (label wrong);
    # a spurious predicate at word 3 with ARG1 on 0; the predicate at word 2 is missed
    pred_senses = ["_", "go.02", "_", "run.01"]
    pred_roles = [["ARG0", "V", "_", "ARG2"], ["ARG1", "_", "_", "V"]]
    metric = SRLMetric()
    metric.update(pred_senses, pred_roles, gold_senses, gold_roles)
    assert (metric.pred_tp, metric.pred_n_pred, metric.pred_n_gold, metric.sense_correct) == (1, 2, 2, 0)
    assert (metric.tp, metric.utp, metric.n_pred, metric.n_gold) == (1, 2, 3, 3)
    values = metric.values
    assert values["predicate_f1"] == pytest.approx(50.0) and values["sense_acc"] == 0.0
    assert values["precision"] == pytest.approx(100 / 3) and values["recall"] == pytest.approx(100 / 3)
    assert values["unlabeled_f1"] == pytest.approx(200 / 3)
    assert metric.score == pytest.approx(1 / 3)
    assert metric.per_role["ARG0"] == {"precision": 100.0, "recall": 50.0, "f1": pytest.approx(200 / 3),
                                       "n_pred": 1, "n_gold": 2}
    assert "V" not in metric.per_role


def test_metrics_add_and_perfect_match():
    senses, roles = ["go.01", "_"], [["V", "ARG1"]]
    one = SRLMetric()
    one.update(senses, roles, senses, roles)
    total = sum([one, one])
    assert (total.tp, total.n_gold, total.sense_correct) == (2, 2, 2)
    assert total.values["f1"] == 100.0 and total.values["sense_acc"] == 100.0
    assert total.n_gold_by_role == {"ARG1": 2}
    empty = SRLMetric()
    empty.update(["_", "_"], [], ["_", "_"], [])
    assert empty.score == 0.0 and empty.values["predicate_f1"] == 0.0


def test_mismatched_columns_are_an_error():
    with pytest.raises(ValueError, match="1 predicates but 2 role columns"):
        SRLMetric().update(["go.01"], [["V"], ["V"]], ["go.01"], [["V"]])


def test_span_based_counts_by_hand():
    # gold: A0 = words 0-1, V = 2, A1 = 3-5
    gold_senses = ["_", "_", "eat", "_", "_", "_"]
    gold = [["B-A0", "I-A0", "B-V", "B-A1", "I-A1", "I-A1"]]
    # predicted: A0 exact; A1 too short (wrong span); an extra AM-TMP on word 5
    pred = [["B-A0", "I-A0", "B-V", "B-A1", "I-A1", "B-AM-TMP"]]
    metric = SpanSRLMetric()
    metric.update(gold_senses, pred, gold_senses, gold)
    assert (metric.tp, metric.n_pred, metric.n_gold) == (1, 3, 2)  # V spans are not counted
    assert metric.values["precision"] == pytest.approx(100 / 3) and metric.values["recall"] == 50.0
    assert metric.per_role["A1"]["n_pred"] == 1 and metric.per_role["A1"]["f1"] == 0.0
    assert metric.per_role["AM-TMP"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_pred": 1, "n_gold": 0}
    assert (metric.pred_tp, metric.sense_correct) == (1, 1)


def test_span_arguments_of_a_missed_predicate_count_as_missed():
    metric = SpanSRLMetric()
    metric.update(["_", "_"], [], ["go", "_"], [["B-V", "B-A1"]])
    assert (metric.tp, metric.n_pred, metric.n_gold, metric.pred_n_gold) == (0, 0, 1, 1)


def test_predicate_metric_counts_predicates_and_senses_only():
    metric = PredicateMetric()
    metric.update(["_", "go.01", "see.01", "_"], None, ["_", "go.02", "_", "be.01"], None)
    metric.update(["run.01"], None, ["run.01"], None)
    assert (metric.pred_tp, metric.pred_n_pred, metric.pred_n_gold, metric.sense_correct) == (2, 3, 3, 1)
    assert metric.score == pytest.approx(2 / 3)
    assert metric.values == pytest.approx({"predicate_precision": 200 / 3, "predicate_recall": 200 / 3,
                                           "predicate_f1": 200 / 3, "sense_acc": 100 / 3})
