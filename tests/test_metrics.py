"""Metrics: hand-computed cases, adding, and literal re-implementations of conlleval and conll18_ud_eval."""

import itertools
import random
import re
from collections import Counter

import pytest

from hierarchy.tasks.metrics import AccuracyMetric, AttachmentMetric, ChunkMetric, f1, get_chunks


def test_f1_is_zero_when_undefined():
    assert f1(0, 0, 0) == (0.0, 0.0, 0.0)
    assert f1(0, 3, 0) == (0.0, 0.0, 0.0)
    assert f1(2, 4, 2) == pytest.approx((0.5, 1.0, 2 / 3))


def test_accuracy():
    metric = AccuracyMetric()
    metric.update(["DET", "NOUN", "VERB"], ["DET", "NOUN", "NOUN"])
    metric.update([], [])
    assert (metric.n_correct, metric.n_tokens) == (2, 3)
    assert metric.score == pytest.approx(2 / 3)
    assert metric.values == pytest.approx({"acc": 200 / 3})
    assert repr(metric) == "ACC: 66.67%"
    assert AccuracyMetric().score == 0.0 and AccuracyMetric().values == {"acc": 0.0}
    with pytest.raises(ValueError):
        metric.update(["DET"], [])


def test_attachment_by_hand():
    # word      1      2     3    4         5
    # gold head 2      0     2    5         3      rel nsubj root obj det      acl:relcl
    # pred head 2      0     4    5         2      rel obj   root obj det:poss acl:relcl
    # heads right: words 1, 2, 4                 -> UAS 3/5
    # ... and label right: 2, 4 (det:poss ~ det)  -> LAS 2/5; with subtypes only 2 -> 1/5
    gold_heads, gold_rels = [2, 0, 2, 5, 3], ["nsubj", "root", "obj", "det", "acl:relcl"]
    pred_heads, pred_rels = [2, 0, 4, 5, 2], ["obj", "root", "obj", "det:poss", "acl:relcl"]
    metric = AttachmentMetric()
    metric.update(pred_heads, pred_rels, gold_heads, gold_rels)
    assert (metric.n_ucorrect, metric.n_lcorrect, metric.n_words) == (3, 2, 5)
    assert metric.values == pytest.approx({"uas": 60.0, "las": 40.0})
    assert metric.score == pytest.approx(0.4)
    assert repr(metric) == "UAS: 60.00% LAS: 40.00%"
    strict = AttachmentMetric(subtypes=True)
    strict.update(pred_heads, pred_rels, gold_heads, gold_rels)
    assert strict.values == pytest.approx({"uas": 60.0, "las": 20.0})
    assert strict.score == pytest.approx(0.2)


def test_attachment_counts_punctuation_and_subtypes_both_ways():
    # The final "." has the wrong head: it counts, as in conll18_ud_eval (UAS 2/3).
    # acl:relcl vs acl:xyz match on the universal part "acl" (LAS 2/3).
    metric = AttachmentMetric()
    metric.update([0, 1, 2], ["root", "acl:relcl", "punct"], [0, 1, 1], ["root", "acl:xyz", "punct"])
    assert (metric.n_ucorrect, metric.n_lcorrect, metric.n_words) == (2, 2, 3)
    assert AttachmentMetric().values == {"uas": 0.0, "las": 0.0}


def test_adding():
    a, b = AttachmentMetric(), AttachmentMetric()
    a.update([0, 1], ["root", "obj"], [0, 1], ["root", "nsubj"])
    b.update([2, 0, 2], ["det", "root", "obj"], [2, 0, 1], ["det", "root", "obj"])
    total = AttachmentMetric()
    total.update(
        [0, 1, 2, 0, 2], ["root", "obj", "det", "root", "obj"], [0, 1, 2, 0, 1], ["root", "nsubj", "det", "root", "obj"]
    )
    assert a + b == total
    assert sum([a, b], AttachmentMetric()) == total
    assert sum([a, b]) == total  # 0 + a works through __radd__
    assert (a.n_words, b.n_words) == (2, 3)  # adding leaves the operands alone
    assert (AttachmentMetric(subtypes=True) + AttachmentMetric(subtypes=True)).subtypes
    with pytest.raises(ValueError):
        AttachmentMetric(subtypes=True) + AttachmentMetric()
    with pytest.raises(TypeError):
        AttachmentMetric() + AccuracyMetric()


def conll18_scores(sentences, subtypes=False):
    """A literal mini conll18_ud_eval: UDWord parents, alignment map, alignment_score, Score.f1."""

    class UDWord:
        def __init__(self, head, deprel):
            self.head, self.parent = head, None
            self.deprel = deprel if subtypes else deprel.split(":")[0]  # the scorer strips subtypes

    def load(heads, rels):
        words = [UDWord(head, rel) for head, rel in zip(heads, rels)]
        for word in words:
            word.parent = words[word.head - 1] if word.head > 0 else None
        return words

    gold_words, system_words, matched = [], [], []
    for pred_heads, pred_rels, gold_heads, gold_rels in sentences:
        gold, system = load(gold_heads, gold_rels), load(pred_heads, pred_rels)
        gold_words += gold
        system_words += system
        matched += zip(gold, system)  # gold tokenization: word i aligns to word i
    matched_map = {system: gold for gold, system in matched}

    def gold_aligned_system(word):
        return matched_map.get(word, "NotAligned") if word is not None else None

    def alignment_score(key_fn):
        correct = sum(key_fn(gold, lambda w: w) == key_fn(system, gold_aligned_system) for gold, system in matched)
        return 2 * correct / (len(gold_words) + len(system_words)) if gold_words or system_words else 0.0

    uas = alignment_score(lambda w, ga: ga(w.parent))
    las = alignment_score(lambda w, ga: (ga(w.parent), w.deprel))
    return uas, las


def random_tree(rng, n):
    order = list(range(1, n + 1))
    rng.shuffle(order)
    heads = [0] * n
    for i, word in enumerate(order[1:], 1):
        heads[word - 1] = rng.choice(order[:i])
    return heads


@pytest.mark.parametrize("subtypes", [False, True])
def test_attachment_matches_literal_conll18(subtypes):
    rng = random.Random(0)
    rels = ["nsubj", "nsubj:pass", "obj", "acl", "acl:relcl", "punct", "root"]
    sentences, summed = [], AttachmentMetric(subtypes=subtypes)
    for _ in range(300):
        n = rng.randint(1, 10)
        gold_heads, gold_rels = random_tree(rng, n), [rng.choice(rels) for _ in range(n)]
        pred_heads = [head if rng.random() < 0.7 else rng.randint(0, n) for head in gold_heads]
        pred_rels = [rel if rng.random() < 0.6 else rng.choice(rels) for rel in gold_rels]
        sentence = (pred_heads, pred_rels, gold_heads, gold_rels)
        metric = AttachmentMetric(subtypes=subtypes)
        metric.update(*sentence)
        assert (metric.uas, metric.las) == pytest.approx(conll18_scores([sentence], subtypes))
        sentences.append(sentence)
        summed += metric
    assert (summed.uas, summed.las) == pytest.approx(conll18_scores(sentences, subtypes))
    assert 0 < summed.las < summed.uas < 1


def test_chunks_iob1_ill_formed_and_type_changes():
    assert get_chunks(["I-NP", "I-NP", "B-NP", "O", "I-VP"]) == [("NP", 0, 1), ("NP", 2, 2), ("VP", 4, 4)]  # IOB1
    assert get_chunks(["O", "I-NP", "I-NP", "O"]) == [("NP", 1, 2)]  # I- after O starts a chunk
    assert get_chunks(["B-NP", "I-VP", "I-VP", "B-VP"]) == [("NP", 0, 0), ("VP", 1, 2), ("VP", 3, 3)]
    assert get_chunks(["B-NP", "B-NP", "I-NP"]) == [("NP", 0, 0), ("NP", 1, 2)]
    assert get_chunks(["I-NP", "E-NP", "I-NP", "E-NP"]) == [("NP", 0, 1), ("NP", 2, 3)]  # IOE
    assert get_chunks(["B-NP-X", "I-NP-X", "B", "O"]) == [("NP-X", 0, 1), ("", 2, 2)]  # split at the first dash
    assert get_chunks(["O", "I", "I", "B-NP"]) == [("", 1, 2), ("NP", 3, 3)]  # untyped tags
    assert get_chunks([]) == [] and get_chunks(["O", "O"]) == []
    for bad in ["S-NP", "NP", "O-NP", "[", "U-PER"]:
        with pytest.raises(ValueError, match="IOBES"):
            get_chunks(["B-NP", bad])


def test_chunk_metric_by_hand():
    # token  0     1     2  3     4     5     6  7
    gold = ["B-NP", "I-NP", "O", "B-VP", "B-NP", "I-NP", "O", "B-PP"]
    pred = ["B-NP", "I-NP", "O", "B-VP", "B-NP", "O", "O", "B-NP"]
    # gold chunks NP 0-1, VP 3, NP 4-5, PP 7; predicted NP 0-1, VP 3, NP 4, NP 7; correct NP 0-1, VP 3
    # P = R = F = 2/4; tokens 5 and 7 wrong -> acc 6/8
    # NP: 1 correct of 3 predicted, 2 gold -> P 1/3, R 1/2, F 2/5; VP 1/1/1; PP 0 of 0 predicted, 1 gold
    metric = ChunkMetric()
    metric.update(pred, gold)
    assert (metric.tp, metric.n_pred, metric.n_gold, metric.n_correct_tags, metric.n_tokens) == (2, 4, 4, 6, 8)
    assert metric.values == pytest.approx({"precision": 50.0, "recall": 50.0, "f1": 50.0, "acc": 75.0})
    assert metric.score == pytest.approx(0.5)
    per_type = metric.per_type
    assert list(per_type) == ["NP", "PP", "VP"]
    assert per_type["NP"] == pytest.approx({"precision": 100 / 3, "recall": 50.0, "f1": 40.0, "n_pred": 3, "n_gold": 2})
    assert per_type["VP"] == pytest.approx({"precision": 100.0, "recall": 100.0, "f1": 100.0, "n_pred": 1, "n_gold": 1})
    assert per_type["PP"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_pred": 0, "n_gold": 1}
    assert repr(metric) == "PRECISION: 50.00% RECALL: 50.00% F1: 50.00% ACC: 75.00%"


def test_chunk_metric_ill_formed_prediction_can_be_right():
    # Predicted I-NP after O starts the same NP 1-2 as gold B-NP I-NP: chunk correct, token 1 wrong.
    metric = ChunkMetric()
    metric.update(["O", "I-NP", "I-NP", "O"], ["O", "B-NP", "I-NP", "O"])
    assert metric.values == pytest.approx({"precision": 100.0, "recall": 100.0, "f1": 100.0, "acc": 75.0})


def test_chunk_metric_perfect_and_empty():
    perfect = ChunkMetric()
    perfect.update(["B-NP", "I-NP", "O"], ["B-NP", "I-NP", "O"])
    assert perfect.values == {"precision": 100.0, "recall": 100.0, "f1": 100.0, "acc": 100.0}
    nothing = ChunkMetric()
    nothing.update(["O", "O", "O"], ["B-NP", "I-NP", "O"])  # no predicted chunk: precision 0, not an error
    assert nothing.values == pytest.approx({"precision": 0.0, "recall": 0.0, "f1": 0.0, "acc": 100 / 3})
    assert nothing.per_type == {"NP": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_pred": 0, "n_gold": 1}}
    empty = ChunkMetric()
    empty.update([], [])
    assert empty.values == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "acc": 0.0} and empty.per_type == {}


# conlleval.pl (version 2004-01-26), literally: endOfChunk, startOfChunk, the split of a tag, the main loop.


def end_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_end = False
    if prev_tag == "B" and tag == "B": chunk_end = True  # noqa: E701
    if prev_tag == "B" and tag == "O": chunk_end = True  # noqa: E701
    if prev_tag == "I" and tag == "B": chunk_end = True  # noqa: E701
    if prev_tag == "I" and tag == "O": chunk_end = True  # noqa: E701
    if prev_tag == "E" and tag == "E": chunk_end = True  # noqa: E701
    if prev_tag == "E" and tag == "I": chunk_end = True  # noqa: E701
    if prev_tag == "E" and tag == "O": chunk_end = True  # noqa: E701
    if prev_tag == "I" and tag == "O": chunk_end = True  # noqa: E701
    if prev_tag != "O" and prev_tag != "." and prev_type != type_: chunk_end = True  # noqa: E701
    if prev_tag == "]": chunk_end = True  # noqa: E701
    if prev_tag == "[": chunk_end = True  # noqa: E701
    return chunk_end


def start_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_start = False
    if prev_tag == "B" and tag == "B": chunk_start = True  # noqa: E701
    if prev_tag == "I" and tag == "B": chunk_start = True  # noqa: E701
    if prev_tag == "O" and tag == "B": chunk_start = True  # noqa: E701
    if prev_tag == "O" and tag == "I": chunk_start = True  # noqa: E701
    if prev_tag == "E" and tag == "E": chunk_start = True  # noqa: E701
    if prev_tag == "E" and tag == "I": chunk_start = True  # noqa: E701
    if prev_tag == "O" and tag == "E": chunk_start = True  # noqa: E701
    if prev_tag == "O" and tag == "I": chunk_start = True  # noqa: E701
    if tag != "O" and tag != "." and prev_type != type_: chunk_start = True  # noqa: E701
    if tag == "[": chunk_start = True  # noqa: E701
    if tag == "]": chunk_start = True  # noqa: E701
    return chunk_start


def split(tag):  # $features[$#features] =~ /^([^-]*)-(.*)$/
    match = re.match(r"^([^-]*)-(.*)$", tag)
    return (match.group(1), match.group(2)) if match else (tag, "")


def conlleval_reference(sentences):
    """conlleval's main loop, literally: sentences are ``(gold_tags, pred_tags)``, a boundary follows each."""
    correct_chunk, found_correct, found_guessed = Counter(), Counter(), Counter()
    correct_tags = token_counter = 0
    in_correct = False
    last_correct, last_correct_type, last_guessed, last_guessed_type = "O", "", "O", ""
    lines = [line for golds, preds in sentences for line in [*zip(golds, preds), None]]
    for line in lines:
        boundary = line is None
        guessed, guessed_type = split("O" if boundary else line[1])
        correct, correct_type = split("O" if boundary else line[0])
        if boundary:
            guessed = "O"
        end_correct = end_of_chunk(last_correct, correct, last_correct_type, correct_type)
        end_guessed = end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        start_correct = start_of_chunk(last_correct, correct, last_correct_type, correct_type)
        start_guessed = start_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if in_correct:
            if end_correct and end_guessed and last_guessed_type == last_correct_type:
                in_correct = False
                correct_chunk[last_correct_type] += 1
            elif end_correct != end_guessed or guessed_type != correct_type:
                in_correct = False
        if start_correct and start_guessed and guessed_type == correct_type:
            in_correct = True
        if start_correct:
            found_correct[correct_type] += 1
        if start_guessed:
            found_guessed[guessed_type] += 1
        if not boundary:
            correct_tags += correct == guessed and guessed_type == correct_type
            token_counter += 1
        last_guessed, last_correct, last_guessed_type, last_correct_type = guessed, correct, guessed_type, correct_type
    if in_correct:
        correct_chunk[last_correct_type] += 1
    return correct_chunk, found_guessed, found_correct, correct_tags, token_counter


def conlleval_chunks(tags):
    """The chunks conlleval counts in one sentence, with their places: one opens where startOfChunk fires and
    closes before the next token where endOfChunk fires (the boundary after the sentence closes any)."""
    chunks, last, last_type = [], "O", ""
    for i, (tag, type_) in enumerate(map(split, [*tags, "O"])):
        if chunks and chunks[-1][2] is None and end_of_chunk(last, tag, last_type, type_):
            chunks[-1][2] = i - 1
        if start_of_chunk(last, tag, last_type, type_):
            chunks.append([type_, i, None])
        last, last_type = tag, type_
    return [tuple(chunk) for chunk in chunks]


def test_get_chunks_is_conlleval_on_every_short_sequence():
    # E-X B-X, and untyped tags beside the type "_", are where seqeval's own reading differs (see hierarchy.io.spans)
    tags = ["O", "B-X", "I-X", "E-X", "B-Y", "I-Y", "B", "I", "E", "I-_"]
    for n in range(6):
        for seq in itertools.product(tags, repeat=n):
            assert get_chunks(list(seq)) == conlleval_chunks(seq), seq


def assert_matches_conlleval(metric, sentences):
    correct_chunk, found_guessed, found_correct, correct_tags, token_counter = conlleval_reference(sentences)
    assert metric.tp == sum(correct_chunk.values())
    assert (metric.n_pred, metric.n_gold) == (sum(found_guessed.values()), sum(found_correct.values()))
    assert (metric.n_correct_tags, metric.n_tokens) == (correct_tags, token_counter)
    for type_, scores in metric.per_type.items():
        p, r, f = f1(correct_chunk[type_], found_guessed[type_], found_correct[type_])
        assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx((100 * p, 100 * r, 100 * f))
        assert (scores["n_pred"], scores["n_gold"]) == (found_guessed[type_], found_correct[type_])
    assert set(metric.per_type) == {t for t in found_guessed | found_correct}


@pytest.mark.parametrize(
    "tags",
    [
        ["O", "B-NP", "I-NP", "B-VP", "I-VP"],  # IOB1 and IOB2, well and ill formed
        ["O", "B-NP", "I-NP", "E-NP", "I-VP", "E-VP"],  # IOE
        ["O", "B", "I", "E", "B-NP", "I-NP"],  # untyped tags mixed in
    ],
)
def test_chunk_metric_matches_literal_conlleval(tags):
    rng = random.Random(0)
    sentences, summed = [], ChunkMetric()
    for _ in range(400):
        n = rng.randint(0, 12)
        golds = [rng.choice(tags) for _ in range(n)]
        preds = [gold if rng.random() < 0.6 else rng.choice(tags) for gold in golds]
        metric = ChunkMetric()
        metric.update(preds, golds)
        assert_matches_conlleval(metric, [(golds, preds)])
        sentences.append((golds, preds))
        summed = summed + metric
    assert_matches_conlleval(summed, sentences)
    assert 0 < summed.score < 1


def test_chunk_metric_adds_like_one_stream():
    rng = random.Random(1)
    tags = ["O", "B-NP", "I-NP", "B-VP", "I-VP"]
    sentences = [([rng.choice(tags) for _ in range(8)], [rng.choice(tags) for _ in range(8)]) for _ in range(20)]
    one_by_one, metrics = ChunkMetric(), []
    for preds, golds in sentences:
        one_by_one.update(preds, golds)
        metrics.append(ChunkMetric())
        metrics[-1].update(preds, golds)
    assert sum(metrics) == one_by_one == sum(metrics, ChunkMetric())
    # an "O" between sentences ends chunks as the sentence boundary does: same chunk counts
    joined = ChunkMetric()
    joined_preds = [tag for preds, _ in sentences for tag in [*preds, "O"]]
    joined.update(joined_preds, [tag for _, golds in sentences for tag in [*golds, "O"]])
    assert (joined.tp, joined.n_pred, joined.n_gold) == (one_by_one.tp, one_by_one.n_pred, one_by_one.n_gold)
    assert joined.per_type == one_by_one.per_type
