"""hierarchy.io.spans: a chunk fixture scored by hand with conlleval's rules (and by seqeval), the two places where
seqeval's own reading differs from conlleval, and the span helpers built on get_chunks."""
import itertools

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from hierarchy.io.spans import bio_spans, bio_tags, bio_to_brackets, get_chunks, repair_bio
from hierarchy.tasks.metrics import ChunkMetric

# (gold, predicted) tags of five sentences, with their chunks by conlleval's startOfChunk / endOfChunk (each
# sentence starts after, and ends before, a virtual O). conlleval.pl (2004-01-26) prints the same counts for it.
FIXTURE = [
    # gold: O>B starts NP 0; I>B ends it and starts VP 2; B>B ends that, starts NP 3; I>O ends NP 3-4; PP 6.
    # pred: O>I starts NP 0 (IOB1), NP 0-1; VP 2; B>B: NP 3 and NP 4 apart; PP 6.
    # correct NP 0-1, VP 2, PP 6: 3 of 5 found, 4 gold; tags 0 and 4 wrong: 5 of 7
    ("B-NP I-NP B-VP B-NP I-NP O B-PP", "I-NP I-NP B-VP B-NP B-NP O B-PP"),
    # gold NP 0-2, VP 4-5. pred: I-VP after I-NP changes type: ends NP 0-1, starts VP 2 (I>O ends it); VP 4-5.
    # correct VP 4-5: 1 of 3 found, 2 gold; tag 2 wrong: 5 of 6
    ("B-NP I-NP I-NP O B-VP I-VP", "B-NP I-NP I-VP O B-VP I-VP"),
    # gold (IOB1): O>I starts NP 0-1; I>B starts NP 2; O>I starts PP 4; I-NP changes type: NP 5.
    # pred (BIO): the same NP 0-1, NP 2, PP 4, NP 5 (B>B). correct 4 of 4 found, 4 gold; tags 0, 4, 5 wrong: 3 of 6
    ("I-NP I-NP B-NP O I-PP I-NP", "B-NP I-NP B-NP O B-PP B-NP"),
    # gold VP 0-1, ADJP 3. pred: I-NP changes type: VP 0, NP 1; ADVP 3. correct 0 of 3 found, 2 gold; tags 2 of 4
    ("B-VP I-VP O B-ADJP", "B-VP I-NP O B-ADVP"),
    # gold none; pred O>I starts PP 1. correct 0 of 1 found, 0 gold; tags 1 of 2
    ("O O", "O I-PP"),
]
# In all: correct 3+1+4 = 8, found 5+3+4+3+1 = 16, gold 4+2+4+2 = 12, tags 16 of 25.
# By type (correct/found/gold): NP 1+0+3 / 3+1+3+1 / 2+1+3 = 4/8/6; VP 1+1 / 1+2+1 / 1+1+1 = 2/4/3;
# PP 1+1 / 1+1+1 / 1+1 = 2/3/2; ADJP 0/0/1; ADVP 0/1/0.
GOLDS, PREDS = [g.split() for g, _ in FIXTURE], [p.split() for _, p in FIXTURE]


def fixture_metric() -> ChunkMetric:
    metric = ChunkMetric()
    for golds, preds in zip(GOLDS, PREDS):
        metric.update(preds, golds)
    return metric


def test_chunk_metric_gives_conllevals_counts_on_the_fixture():
    metric = fixture_metric()
    assert (metric.tp, metric.n_pred, metric.n_gold, metric.n_correct_tags, metric.n_tokens) == (8, 16, 12, 16, 25)
    assert metric.values == pytest.approx({"precision": 50.0, "recall": 200 / 3, "f1": 400 / 7, "acc": 64.0})
    assert metric.tp_by_type == {"NP": 4, "VP": 2, "PP": 2}
    assert metric.n_pred_by_type == {"NP": 8, "VP": 4, "PP": 3, "ADVP": 1}
    assert metric.n_gold_by_type == {"NP": 6, "VP": 3, "PP": 2, "ADJP": 1}
    per_type = metric.per_type
    assert list(per_type) == ["ADJP", "ADVP", "NP", "PP", "VP"]
    p50_r67 = {"precision": 50.0, "recall": 200 / 3, "f1": 400 / 7}  # P 4/8, R 4/6; VP: 2/4, 2/3
    assert per_type["NP"] == pytest.approx({**p50_r67, "n_pred": 8, "n_gold": 6})
    assert per_type["VP"] == pytest.approx({**p50_r67, "n_pred": 4, "n_gold": 3})
    assert per_type["PP"] == pytest.approx({"precision": 200 / 3, "recall": 100.0, "f1": 80.0,
                                            "n_pred": 3, "n_gold": 2})
    assert per_type["ADJP"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_pred": 0, "n_gold": 1}
    assert per_type["ADVP"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_pred": 1, "n_gold": 0}


def test_seqeval_default_mode_agrees_on_the_fixture():
    values = fixture_metric().values
    assert 100 * precision_score(GOLDS, PREDS) == pytest.approx(values["precision"])
    assert 100 * recall_score(GOLDS, PREDS) == pytest.approx(values["recall"])
    assert 100 * f1_score(GOLDS, PREDS) == pytest.approx(values["f1"])
    report = classification_report(GOLDS, PREDS, output_dict=True, zero_division=0)
    per_type = fixture_metric().per_type
    assert set(report) - {"micro avg", "macro avg", "weighted avg"} == set(per_type)
    for type_, scores in per_type.items():
        ours = [scores["precision"], scores["recall"], scores["f1"]]
        assert [100 * report[type_][key] for key in ("precision", "recall", "f1-score")] == pytest.approx(ours)
        assert report[type_]["support"] == scores["n_gold"]


@pytest.mark.parametrize("tags, conlleval, seqeval", [
    # neither endOfChunk nor startOfChunk fires for E-NP then B-NP: conlleval reads on; seqeval ends after any E
    (["E-NP", "B-NP"], [("NP", 0, 1)], [("NP", 0, 0), ("NP", 1, 1)]),
    # conlleval: untyped B then the type "_" is a type change; seqeval names untyped tags "_" too
    (["B", "I-_"], [("", 0, 0), ("_", 1, 1)], [("_", 0, 1)]),
])
def test_get_chunks_adapts_seqeval_where_it_differs(tags, conlleval, seqeval):
    assert get_entities(tags) == seqeval
    assert get_chunks(tags) == conlleval


def test_span_helpers_read_tags_as_get_chunks():
    tags = ["I-NP", "B-VP", "I-NP", "I-NP", "O", "B-PP", "B-PP"]  # a stray I-, a type switch, B-B
    spans = bio_spans(tags)
    assert spans == [(0, 1, "NP"), (1, 2, "VP"), (2, 4, "NP"), (5, 6, "PP"), (6, 7, "PP")]
    assert spans == [(first, last + 1, type_) for type_, first, last in get_chunks(tags)]
    assert repair_bio(tags) == bio_tags(len(tags), spans) == ["B-NP", "B-VP", "B-NP", "I-NP", "O", "B-PP", "B-PP"]
    assert bio_to_brackets(tags) == ["(NP*)", "(VP*)", "(NP*", "*)", "*", "(PP*)", "(PP*)"]
    for tags in map(list, itertools.product(["O", "B-A", "I-A", "I-B"], repeat=4)):
        assert get_chunks(repair_bio(tags)) == get_chunks(tags)
        assert repair_bio(repair_bio(tags)) == repair_bio(tags)
    with pytest.raises(ValueError, match="IOBES"):
        bio_spans(["B-NP", "S-NP"])
    with pytest.raises(ValueError, match="IOBES"):
        bio_to_brackets(["_", "ARG0", "V"])  # head-based roles are no BIO tags
