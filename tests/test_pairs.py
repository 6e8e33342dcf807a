"""Sentence pairs at the top of the hierarchy: the readers and their errors, the writer, relatedness and entailment
metrics (hand-made cases, scipy where installed), the two heads, overfit-save-reload, batching, the schedule and the
joint mode with all five tasks, and successive regularization over the pair layers."""
import copy
import dataclasses
import json
import math
import random

import pytest
import torch
from conftest import SAMPLE, gold_specs, tiny_pair_config

from hierarchy.core.batching import batches, make_pair_batch
from hierarchy.core.config import LayerConfig, TrainConfig
from hierarchy.core.model import Hierarchy
from hierarchy.core.persistence import load_model, save_model
from hierarchy.core.predict import evaluate, predict_pairs, score
from hierarchy.core.vocab import Vocabs
from hierarchy.io import Pair, Sentence, format_pairs, read_conll2000, read_conllu, read_pairs, write_pairs
from hierarchy.io.errors import ConfigError, CorpusError
from hierarchy.tasks.metrics import EntailmentMetric, RelatednessMetric
from hierarchy.tasks.pairs import score_distribution
from hierarchy.training import Trainer, load_corpora, make_optimizer

SICK_HEADER = ("pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\tentailment_AB\tentailment_BA\t"
               "sentence_A_original\tsentence_B_original\tsentence_A_dataset\tsentence_B_dataset\tSemEval_set")


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def sick_row(*cells) -> str:
    """A 12-column SICK row from its first five cells."""
    return "\t".join([*map(str, cells), "A_neutral_B", "B_neutral_A", "x", "y", "FLICKR", "FLICKR", "TRAIN"])


# --- readers ---

def test_sick_with_semeval_set(tmp_path):
    path = write(tmp_path / "sick.txt", "\n".join([
        SICK_HEADER,
        sick_row(7, "A cat is sleeping on the sofa", "A cat isn't awake", "ENTAILMENT", 4.5),
        sick_row(9, "A man is cooking", "Nobody is cooking", "CONTRADICTION", 3.2),
    ]) + "\n")
    first, second = read_pairs(path)
    assert first.premise.words == ["A", "cat", "is", "sleeping", "on", "the", "sofa"]
    assert first.hypothesis.words == ["A", "cat", "is", "n't", "awake"]  # spaCy's English tokenizer
    assert (first.label, first.score, first.id, first.source) == ("ENTAILMENT", 4.5, "7", f"{path}:2")
    assert (second.label, second.score, second.id, second.source) == ("CONTRADICTION", 3.2, "9", f"{path}:3")


def test_sick_without_semeval_set_any_column_order(tmp_path):
    """The SemEval-2014 release: five columns, the label named entailment_judgment, the score before it; CRLF."""
    path = write(tmp_path / "sick.txt", "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\r\n"
                                        "1\tA dog runs\tA dog is running\t4.9\tEntailment\r\n")
    (pair,) = read_pairs(path)
    assert (pair.premise.words, pair.hypothesis.words) == (["A", "dog", "runs"], ["A", "dog", "is", "running"])
    assert (pair.label, pair.score) == ("ENTAILMENT", 4.9)


def test_sample_pairs():
    train, dev = read_pairs(SAMPLE / "pairs-train.txt"), read_pairs(SAMPLE / "pairs-dev.txt")
    assert (len(train), len(dev)) == (40, 12)
    for pairs in (train, dev):
        assert {p.label for p in pairs} == {"ENTAILMENT", "NEUTRAL", "CONTRADICTION"}
        assert all(1 <= p.score <= 5 and len(p.premise) and len(p.hypothesis) for p in pairs)


def test_generic_tsv_optional_cells(tmp_path):
    path = write(tmp_path / "pairs.tsv", "premise\thypothesis\tlabel\tscore\n"
                                         "A bird sings.\tA bird makes a sound.\tentailment\t\n"
                                         "A bird sings.\tThe bird is silent.\t\t2\n\n")
    first, second = read_pairs(path)
    assert (first.label, first.score, first.id) == ("ENTAILMENT", None, "")
    assert (second.label, second.score) == (None, 2.0)
    assert first.hypothesis.words == ["A", "bird", "makes", "a", "sound", "."]
    only_text = read_pairs(write(tmp_path / "text.tsv", "premise\thypothesis\nA b\tc d\n"))
    assert (only_text[0].label, only_text[0].score) == (None, None)


def test_snli_jsonl_skips_dash_rows(tmp_path):
    rows = [
        {"gold_label": "neutral", "sentence1": "A man plays chess.", "sentence2": "A man wins.", "pairID": "a1"},
        {"gold_label": "-", "sentence1": "A man plays chess.", "sentence2": "A game.", "pairID": "a2"},
        {"gold_label": "contradiction", "sentence1": "A man plays chess.", "sentence2": "He sleeps.", "pairID": "a3"},
        {"gold_label": "-", "sentence1": "Kids run.", "sentence2": "Kids move.", "pairID": "a4"},
    ]
    path = write(tmp_path / "snli.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    with pytest.warns(UserWarning, match=r"skipped 2 pairs labelled '-'"):
        pairs = read_pairs(path)
    assert [(p.id, p.label, p.score, p.source) for p in pairs] == [
        ("a1", "NEUTRAL", None, f"{path}:1"), ("a3", "CONTRADICTION", None, f"{path}:3")]
    generic = write(tmp_path / "g.jsonl", '{"premise": "A b", "hypothesis": "c", "label": "ENTAILMENT", "score": 3}\n')
    assert read_pairs(generic)[0].score == 3.0


def test_snli_tsv(tmp_path):
    header = "gold_label\tsentence1_parse\tsentence1\tsentence2\tpairID"
    path = write(tmp_path / "snli.txt", f"{header}\nentailment\t(ROOT)\tA dog runs.\tA dog moves.\tp1\n"
                                        "-\t(ROOT)\tA dog runs.\tA cat.\tp2\n")
    with pytest.warns(UserWarning, match="skipped 1 pairs"):
        (pair,) = read_pairs(path)
    assert (pair.id, pair.label, pair.premise.words) == ("p1", "ENTAILMENT", ["A", "dog", "runs", "."])


@pytest.mark.parametrize("row, line, expected", [
    ("1\tA dog runs\tA dog is running\tENTAILMENT", 3,
     "missing column 'relatedness_score' (expected 5 tab-separated columns as in the header, found 4)"),
    ("1\tA dog runs\tA dog is running\tENTAILMENT\t7.5", 3, "expected a relatedness score from 1 to 5, found '7.5'"),
    ("1\tA dog runs\tA dog is running\tENTAILMENT\t0.5", 3, "expected a relatedness score from 1 to 5, found '0.5'"),
    ("1\tA dog runs\tA dog is running\tENTAILMENT\thigh", 3, "expected a relatedness score from 1 to 5, found 'high'"),
    ("1\tA dog runs\tA dog is running\tENTAILMENT\tnan", 3, "expected a relatedness score from 1 to 5, found 'nan'"),
    ("1\tA dog runs\tA dog is running\tMAYBE\t3", 3,
     "expected an entailment label ENTAILMENT, NEUTRAL or CONTRADICTION (any case), found 'MAYBE'"),
    ("1\t  \tA dog is running\tNEUTRAL\t3", 3, "expected a non-empty premise"),
    ("1\tA\tb\tNEUTRAL\t3\textra", 3, "expected 5 tab-separated columns as in the header, found 6"),
])
def test_bad_rows_name_file_line_and_expectation(tmp_path, row, line, expected):
    good = "0\tA cat sits\tA cat is sitting\tENTAILMENT\t4.6"
    path = write(tmp_path / "bad.txt", "\t".join(SICK_HEADER.split("\t")[:5]) + f"\n{good}\n{row}\n")
    with pytest.raises(CorpusError) as e:
        read_pairs(path)
    assert str(e.value) == f"{path}:{line}: {expected}"
    with pytest.warns(UserWarning, match="skipping pair"):
        assert len(read_pairs(path, skip_bad=True)) == 1


@pytest.mark.parametrize("text, line, expected", [
    ("", None, "empty file"),
    ("\n\n", None, "empty file"),
    ("pair_ID\tsentence_A\tsentence_B\n", None, "no sentence pairs found"),
    ("id\tfirst\tsecond\n1\ta\tb\n", 1, "expected a tab-separated header with a column 'premise' or 'sentence_A' or "
                                        "'sentence1'"),
    ('{"premise": "a", "hypothesis": "b"}\n{"premise": "a"\n', 2, "expected a JSON object, found invalid JSON"),
    ('{"premise": "a", "hypothesis": "b"}\n["a", "b"]\n', 2, "expected a JSON object, found list"),
    ('{"premise": "a", "hypothesis": "b"}\n{"premise": "a", "label": "neutral"}\n', 2,
     "missing field 'hypothesis' or 'sentence_B' or 'sentence2'"),
    ('{"premise": "a", "hypothesis": "b", "score": "9"}\n', 1, "expected a relatedness score from 1 to 5, found '9'"),
])
def test_bad_files(tmp_path, text, line, expected):
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(CorpusError, match="^" + str(path).replace("\\", "\\\\") + (f":{line}" if line else "")) as e:
        read_pairs(path)
    assert expected in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="nope.txt: file not found"):
        read_pairs(tmp_path / "nope.txt")


def test_write_pairs_reads_back_and_is_atomic(tmp_path):
    pairs = read_pairs(SAMPLE / "pairs-dev.txt")[:3]
    pairs[2].label = None
    predictions = [{"label": "NEUTRAL", "probabilities": {"ENTAILMENT": 0.25, "NEUTRAL": 0.5, "CONTRADICTION": 0.25},
                    "relatedness": 3.14159}] * 3
    out = tmp_path / "pred.tsv"
    write_pairs(out, pairs, predictions)
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == ["id", "premise", "hypothesis", "gold_label", "predicted_label", "p_ENTAILMENT",
                                    "p_NEUTRAL", "p_CONTRADICTION", "gold_score", "predicted_score"]
    assert lines[1].split("\t")[3:] == [pairs[0].label, "NEUTRAL", "0.2500", "0.5000", "0.2500", f"{pairs[0].score:g}",
                                        "3.142"]
    assert lines[3].split("\t")[3] == ""
    back = read_pairs(out)
    assert [(p.premise.words, p.hypothesis.words, p.label, p.score, p.id) for p in back] == [
        (p.premise.words, p.hypothesis.words, p.label, p.score, p.id) for p in pairs]
    rows = [json.loads(line) for line in format_pairs(pairs, predictions, "jsonl").splitlines()]
    assert rows[2] == {"id": pairs[2].id, "premise": pairs[2].premise.meta, "hypothesis": pairs[2].hypothesis.meta,
                       "gold_label": None, "gold_score": pairs[2].score, **predictions[2]}
    tabbed = [Pair(Sentence(["a\tb"]), Sentence(["c"], meta="c\n d"))]  # whitespace in a cell becomes one space
    write_pairs(out, tabbed, predictions[:1])
    assert out.read_text().splitlines()[1].split("\t")[1:3] == ["a b", "c d"]
    assert [p.name for p in tmp_path.iterdir()] == ["pred.tsv"]


# --- metrics ---

def test_relatedness_metric_by_hand():
    metric = RelatednessMetric()
    metric.update([1.0, 2.0], [2.0, 4.0])
    metric.update([3.0], [7.0])
    # mean 2 and 13/3; deviations (-1, 0, 1) and (-7/3, -1/3, 8/3): r = 5 / sqrt(2 * 114 / 9)
    assert metric.pearson == pytest.approx(5 / math.sqrt(2 * 114 / 9))
    assert metric.spearman == pytest.approx(1.0)  # monotone
    assert metric.mse == pytest.approx((1 + 4 + 16) / 3)
    assert metric.score == metric.pearson
    assert metric.values == pytest.approx({"pearson": 100 * metric.pearson, "spearman": 100.0, "mse": 7.0})
    ties = RelatednessMetric()
    ties.update([1, 2, 2, 3], [4, 1, 2, 3])  # ranks (1, 2.5, 2.5, 4) and (4, 1, 2, 3)
    # rank deviations (-1.5, 0, 0, 1.5) and (1.5, -1.5, -0.5, 0.5): products sum to -1.5, squares to 4.5 and 5
    assert ties.spearman == pytest.approx(-1.5 / math.sqrt(4.5 * 5))
    assert RelatednessMetric().values == {"pearson": 0.0, "spearman": 0.0, "mse": 0.0}
    constant = RelatednessMetric()
    constant.update([3, 3, 3], [1, 2, 5])
    assert constant.pearson == 0.0 and constant.spearman == 0.0 and constant.mse == pytest.approx((4 + 1 + 4) / 3)
    with pytest.raises(ValueError):
        metric.update([1.0], [])


def test_relatedness_metric_adds_like_one_update():
    rng = random.Random(3)
    preds, golds = [rng.uniform(1, 5) for _ in range(30)], [rng.uniform(1, 5) for _ in range(30)]
    whole = RelatednessMetric()
    whole.update(preds, golds)
    parts = []
    for i in range(0, 30, 7):
        part = RelatednessMetric()
        part.update(preds[i : i + 7], golds[i : i + 7])
        parts.append(part)
    assert sum(parts) == whole == sum(parts, RelatednessMetric())
    assert parts[0].preds == preds[:7]  # adding does not change the parts


def test_relatedness_metric_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(0)
    golds = [round(rng.uniform(1, 5), 1) for _ in range(200)]  # rounded: ties, as in SICK
    preds = [round(g + rng.gauss(0, 1), 1) for g in golds]
    metric = RelatednessMetric()
    metric.update(preds, golds)
    assert metric.pearson == pytest.approx(stats.pearsonr(preds, golds)[0], abs=1e-12)
    assert metric.spearman == pytest.approx(stats.spearmanr(preds, golds)[0], abs=1e-12)
    assert metric.mse == pytest.approx(sum((p - g) ** 2 for p, g in zip(preds, golds)) / 200)


def test_entailment_metric_by_hand():
    E, N, C = "ENTAILMENT", "NEUTRAL", "CONTRADICTION"
    metric = EntailmentMetric()
    metric.update([E, E, N, C], [E, N, N, N])
    metric.update([C, E], [C, C])
    assert metric.n_pairs == 6 and metric.score == pytest.approx(3 / 6)
    assert metric.labels == [E, N, C]
    assert metric.matrix == {E: {E: 1, N: 0, C: 0}, N: {E: 1, N: 1, C: 1}, C: {E: 1, N: 0, C: 1}}
    per_class = metric.per_class
    # ENTAILMENT: 3 predicted, 1 right, 1 gold; NEUTRAL: 1 predicted, 1 right, 3 gold; CONTRADICTION: 2, 1, 2
    assert per_class[E] == pytest.approx({"precision": 100 / 3, "recall": 100, "f1": 50, "n_pred": 3, "n_gold": 1})
    assert per_class[N] == pytest.approx({"precision": 100, "recall": 100 / 3, "f1": 50, "n_pred": 1, "n_gold": 3})
    assert per_class[C] == pytest.approx({"precision": 50, "recall": 50, "f1": 50, "n_pred": 2, "n_gold": 2})
    assert metric.values == pytest.approx({"acc": 50.0, "macro_f1": 50.0})
    first, second = EntailmentMetric(), EntailmentMetric()
    first.update([E, E, N, C], [E, N, N, N])
    second.update([C, E], [C, C])
    assert first + second == metric and sum([first, second]) == metric
    assert EntailmentMetric().values == {"acc": 0.0, "macro_f1": 0.0}


# --- the model ---

@pytest.fixture(scope="module")
def data():
    ud, chunks = read_conllu(SAMPLE / "train.conllu")[:4], read_conll2000(SAMPLE / "chunks-train.txt")[:4]
    pairs = read_pairs(SAMPLE / "pairs-train.txt")
    return {"pos": ud, "chunks": chunks, "deps": ud, "relatedness": pairs, "entailment": pairs}


@pytest.fixture(scope="module")
def untrained(data):
    config = tiny_pair_config()
    vocabs = Vocabs.build(data, min_freq=1)
    torch.manual_seed(0)
    return Hierarchy(config.model, vocabs).eval(), config, vocabs


@pytest.fixture(scope="module", params=[False, True], ids=["states", "pair_inputs"])
def overfit(data, request):
    """A tiny model (dropout 0) trained on 6 pairs until it knows their labels and scores; its pair heads read
    their layer's states, or those and the mean word inputs (``pair_inputs``)."""
    config = tiny_pair_config()
    for layer in config.model.layers[-2:]:
        layer.pair_inputs = request.param
    pairs = data["relatedness"][:6]
    vocabs = Vocabs.build(data, min_freq=1)
    torch.manual_seed(0)
    model = Hierarchy(config.model, vocabs)
    optimizer = make_optimizer(model.parameters(), TrainConfig(lr=0.05))
    batch = make_pair_batch(pairs, vocabs, specs=gold_specs(vocabs, 'pair'))
    for _ in range(60):
        scores = model(batch, ["relatedness", "entailment"])
        loss = sum(model.tasks[t].loss(scores[t], batch) for t in ("relatedness", "entailment"))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), config, vocabs, pairs


def test_score_distribution():
    scores = torch.tensor([1.0, 2.3, 3.6, 4.99, 5.0])
    target = score_distribution(scores)
    torch.testing.assert_close(target.sum(-1), torch.ones(5))
    torch.testing.assert_close(target @ torch.arange(1.0, 6.0), scores)
    assert ((target > 0).sum(-1) <= 2).all() and target[0, 0] == 1 and target[-1, -1] == 1
    torch.testing.assert_close(target[2], torch.tensor([0.0, 0.0, 0.4, 0.6, 0.0]))


def test_pair_batch(untrained, data):
    _, _, vocabs = untrained
    pairs = data["relatedness"][:3] + [Pair(Sentence(["a"]), Sentence(["b", "c"]))]
    batch = make_pair_batch(pairs, vocabs, [5, 6, 7, 8], specs=gold_specs(vocabs, 'pair'))
    n = max(max(len(p.premise), len(p.hypothesis)) for p in pairs)
    assert batch.words.shape == (8, n) and batch.index == [5, 6, 7, 8]
    assert batch.lens.tolist() == [len(p.premise) for p in pairs] + [len(p.hypothesis) for p in pairs]
    assert batch.gold["score"][:3].tolist() == pytest.approx([p.score for p in pairs[:3]])
    assert math.isnan(batch.gold["score"][3])
    itos = vocabs.labels["entailment"].itos
    assert itos == ["ENTAILMENT", "NEUTRAL", "CONTRADICTION"]
    assert [itos[i] for i in batch.gold["label"][:3]] == [p.label for p in pairs[:3]]
    assert batch.gold["label"][3] == -100
    groups = list(batches(data["relatedness"], vocabs, batch_tokens=60))
    assert sorted(i for b in groups for i in b.index) == list(range(40))
    assert all(b.words.numel() <= 60 or len(b.index) == 1 for b in groups)  # bucketed by the longer sentence


def test_pair_shapes_and_label_embedding_flow(untrained, data):
    model, config, vocabs = untrained
    pairs = data["relatedness"][:3]
    batch = make_pair_batch(pairs, vocabs, specs=gold_specs(vocabs, 'pair'))
    scores = model(batch, ["entailment"])
    assert scores.keys() == {"pos", "chunks", "relatedness", "entailment"}  # deps feeds nothing upward: not run
    assert scores["relatedness"]["score"].shape == (3, 5) and scores["entailment"]["label"].shape == (3, 3)
    label = model.tasks["relatedness"].label_embedding(scores["relatedness"])
    assert label.shape == (6, config.model.label_dim) and torch.equal(label[:3], label[3:])
    expected = scores["relatedness"]["score"].softmax(-1) @ model.tasks["relatedness"].label_embeddings.weight.T
    torch.testing.assert_close(label[:3], expected)
    n_embed, pos, chunks = model.embed.n_out, model.tasks["pos"].n_label_out, model.tasks["chunks"].n_label_out
    assert model.layers[4].lstm.input_size == n_embed + 16 + pos + chunks + config.model.label_dim
    assert model.layers[3].lstm.input_size == n_embed + 16 + pos + chunks

    def entailment(m):
        with torch.no_grad():
            return m(batch, ["entailment"])["entailment"]["label"]

    perturbed = copy.deepcopy(model)
    with torch.no_grad():
        weight = perturbed.tasks["relatedness"].classifier.weight
        weight.add_(torch.randn_like(weight))
    assert not torch.allclose(entailment(perturbed), entailment(model))  # relatedness predictions reach entailment
    for m in (model, perturbed):  # ... through its label embeddings only
        m.tasks["relatedness"].label_embeddings.weight.data.zero_()
    torch.testing.assert_close(entailment(perturbed), entailment(model))


def test_pair_losses_and_padding(untrained, data):
    model, _, vocabs = untrained
    pairs = data["relatedness"][:5]
    batch = make_pair_batch(pairs, vocabs, specs=gold_specs(vocabs, 'pair'))
    with torch.no_grad():
        together = model(batch, ["entailment"])
        for i, pair in enumerate(pairs):
            alone = model(make_pair_batch([pair], vocabs, specs=gold_specs(vocabs, 'pair')), ["entailment"])
            for task, key in (("relatedness", "score"), ("entailment", "label")):
                torch.testing.assert_close(together[task][key][i], alone[task][key][0])
    for task in ("relatedness", "entailment"):
        loss = model.tasks[task].loss(together[task], batch)
        assert loss.shape == () and torch.isfinite(loss) and loss > 0
    unlabelled = make_pair_batch([Pair(p.premise, p.hypothesis) for p in pairs], vocabs,
                                 specs=gold_specs(vocabs, 'pair'))
    scores = model(unlabelled, ["entailment"])
    assert all(model.tasks[t].loss(scores[t], unlabelled) == 0 for t in ("relatedness", "entailment"))


def test_overfit_save_reload_predicts_the_same(overfit, data, tmp_path):
    model, config, vocabs, pairs = overfit
    predicted = predict_pairs(model, vocabs, pairs)
    assert [p["label"] for p in predicted] == [p.label for p in pairs]
    assert [p["relatedness"] for p in predicted] == pytest.approx([p.score for p in pairs], abs=0.3)
    assert all(sum(p["probabilities"].values()) == pytest.approx(1) for p in predicted)
    assert list(predicted[0]["probabilities"]) == ["ENTAILMENT", "NEUTRAL", "CONTRADICTION"]
    others = data["relatedness"]  # mostly pairs it never saw
    before = predict_pairs(model, vocabs, others)
    save_model(model, config, vocabs, tmp_path / "model")
    loaded, loaded_config, loaded_vocabs = load_model(tmp_path / "model")
    assert loaded_config == config and loaded.depth == model.depth
    assert predict_pairs(loaded, loaded_vocabs, pairs) == predicted
    assert predict_pairs(loaded, loaded_vocabs, others) == before


def test_batched_equals_one_by_one(overfit, data):
    model, _, vocabs, _ = overfit
    pairs = data["relatedness"]
    batched = predict_pairs(model, vocabs, pairs, batch_tokens=100_000)
    assert len({max(len(p.premise), len(p.hypothesis)) for p in pairs}) > 3  # the big batch really pads
    for many in (batched, predict_pairs(model, vocabs, pairs, batch_tokens=50)):
        for one, pair in zip(many, pairs):
            alone = predict_pairs(model, vocabs, [pair])[0]
            assert one["label"] == alone["label"]
            assert one["relatedness"] == pytest.approx(alone["relatedness"], abs=1e-5)
            assert list(one["probabilities"].values()) == pytest.approx(list(alone["probabilities"].values()), abs=1e-5)


def test_predict_pairs_from_text_and_evaluate(overfit, data):
    model, _, vocabs, pairs = overfit
    texts = [(" ".join(p.premise.words), " ".join(p.hypothesis.words)) for p in pairs[:2]]
    assert predict_pairs(model, vocabs, texts) == predict_pairs(model, vocabs, pairs[:2])
    assert predict_pairs(model, vocabs, [(p.premise.words, p.hypothesis.words) for p in pairs[:2]]) == \
        predict_pairs(model, vocabs, pairs[:2])
    with pytest.raises(ValueError, match="empty"):
        predict_pairs(model, vocabs, [("A dog.", "  ")])
    results, predictions = evaluate(model, vocabs, {"relatedness": pairs, "entailment": pairs})
    assert predictions["relatedness"] is predictions["entailment"]  # one prediction run for both tasks
    assert results["entailment"]["entailment"].score == 1.0
    assert results["relatedness"]["relatedness"].pearson > 0.9
    assert score("entailment", predictions["entailment"], pairs)["entailment"] == results["entailment"]["entailment"]
    unannotated = [Pair(p.premise, p.hypothesis) for p in pairs]
    assert score("relatedness", predictions["relatedness"], unannotated)["relatedness"].golds == []
    sentences_only = Hierarchy(dataclasses.replace(tiny_pair_config().model, layers=[LayerConfig(4, tasks=["pos"])]),
                               vocabs)
    with pytest.raises(ConfigError, match="no sentence-pair layer"):
        predict_pairs(sentences_only, vocabs, pairs)


# --- configuration and training ---

def test_config_validation():
    config = tiny_pair_config()
    config.validate("tiny")
    config.model.layers.append(LayerConfig(size=4, tasks=["deps"]))
    config.model.layers[2].tasks = []
    with pytest.raises(ConfigError, match="task 'deps' sits at or above a sentence-pair task"):
        config.validate("tiny")
    config = tiny_pair_config()
    config.data.pairs = ""
    with pytest.raises(ConfigError, match="task 'relatedness' has no training corpus: set data.pairs"):
        config.validate("tiny")
    config = tiny_pair_config()
    config.model.layers[0].pair_inputs = True
    with pytest.raises(ConfigError, match=r"model.layers\[0\]: pair_inputs needs a sentence-pair task"):
        config.validate("tiny")


def test_load_corpora_reads_the_pairs_once(tmp_path):
    config = tiny_pair_config()
    train, dev = load_corpora(config)
    assert train["relatedness"] is train["entailment"] and len(train["relatedness"]) == 40
    assert dev["relatedness"] is dev["entailment"] and len(dev["entailment"]) == 12
    nli = write(tmp_path / "nli.jsonl", '{"premise": "a b", "hypothesis": "c", "label": "neutral"}\n')
    config.data.pairs = str(nli)
    with pytest.raises(CorpusError, match="nli.jsonl: no pair carries relatedness annotation, needed by task 'relatedness'"):
        load_corpora(config)


def test_lower_parameters_of_the_pair_layers(untrained):
    model = untrained[0]
    entailment, relatedness = set(model.lower_parameters("entailment")), set(model.lower_parameters("relatedness"))
    assert relatedness < entailment
    assert any(n.startswith("tasks.relatedness.") for n in entailment)
    assert not any(n.startswith("tasks.relatedness.") for n in relatedness)
    for prefix in ("embed.", "layers.0.", "layers.1.", "layers.2.", "layers.3.", "tasks.pos.", "tasks.chunks."):
        assert any(n.startswith(prefix) for n in entailment), prefix
    # deps' predictions do not feed upward (no label embedding), so its head cannot change the layers above
    assert not any(n.startswith(("layers.4.", "tasks.entailment.", "tasks.deps.")) for n in entailment)


def small_pair_config(**train):
    config = tiny_pair_config(**train)
    config.data.max_sentences = 6
    return config


@pytest.mark.parametrize("mode", ["schedule", "joint"])
def test_all_five_tasks_train(mode, tmp_path, monkeypatch):
    regularized, lower_parameters = [], Hierarchy.lower_parameters

    def spy(model, task):  # the schedule asks once per task and epoch, at the start of the task's pass
        regularized.append((task, set(lower_parameters(model, task))))
        return lower_parameters(model, task)

    monkeypatch.setattr(Hierarchy, "lower_parameters", spy)
    state = Trainer(small_pair_config(sampling=mode, epochs=3, lr=0.03), tmp_path / "out", progress=False).fit()
    tasks = {"pos", "chunks", "deps", "relatedness", "entailment"}
    first, last = state["history"][0], state["history"][-1]
    assert first["loss"].keys() == tasks and first["dev"].keys() == tasks
    assert first["dev"]["relatedness"]["relatedness"].keys() == {"pearson", "spearman", "mse"}
    assert first["dev"]["entailment"]["entailment"]["acc"] >= 0
    for task in ("relatedness", "entailment"):
        assert last["loss"][task] < first["loss"][task], (task, first["loss"], last["loss"])
    if mode == "schedule":  # bottom-up, and the entailment pass is held near where the relatedness pass left
        assert [task for task, _ in regularized[:5]] == ["pos", "chunks", "deps", "relatedness", "entailment"]
        assert any(n.startswith("tasks.relatedness.") for n in regularized[4][1])
    else:
        assert regularized == []
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert "pearson" in metrics["dev"]["relatedness"]["relatedness"]
    model, _, vocabs = load_model(tmp_path / "out")
    assert len(predict_pairs(model, vocabs, read_pairs(SAMPLE / "pairs-dev.txt"))) == 12
