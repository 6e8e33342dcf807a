"""The entity-mention layer everywhere a layer reaches the user: overfit, save and reload; ``evaluate --mentions``
(scores and GUM-bracket predictions that read back); ``annotate`` (CoNLL-U Plus column, JSON lines, HTML); the
spaCy component (``doc.ents``, ``doc.spans["mentions"]``, ``nlp.evaluate``)."""
import json

import pytest
import spacy
from conftest import SAMPLE, tiny_config
from spacy.tokens import Doc, Span
from spacy.training import Example
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core.config import LayerConfig
from hierarchy.core.persistence import load_model
from hierarchy.core.predict import Predictor
from hierarchy.io.entities import read_mentions
from hierarchy.io.spans import bio_spans
from hierarchy.training import Trainer

TRAIN, DEV = SAMPLE / "mentions-train.conllu", SAMPLE / "mentions-dev.conllu"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def mention_model(tmp_path_factory):
    """POS, chunks, mentions, dependencies (the order of models/jmt-gum.toml), dropout 0, trained until it knows
    the first 12 mention sentences (they are both train and dev); the model kept is the first that knows them all
    (selected on mentions alone: the mean over the layers may peak one epoch before)."""
    config = tiny_config(epochs=40, patience=40, lr=0.03, batch_tokens=60,
                         score_weights={"pos": 0.0, "chunks": 0.0, "deps": 0.0})
    config.data.mentions = config.data.mentions_dev = str(TRAIN)
    config.data.max_sentences = 12
    config.model.layers = [LayerConfig(size=8, tasks=["pos"]), LayerConfig(size=8, tasks=["chunks"]),
                           LayerConfig(size=16, tasks=["mentions"]), LayerConfig(size=8, tasks=["deps"])]
    config.model.mlp_dim = 32
    out = tmp_path_factory.mktemp("mentions") / "model"
    Trainer(config, out, progress=False).fit()
    return out


def test_overfit_save_reload_batched(mention_model):
    model, _, vocabs = load_model(mention_model)
    gold = read_mentions(TRAIN)[:12]
    predictor = Predictor(model, vocabs)
    predicted = predictor(gold)
    metric = predictor.evaluate({"mentions": gold})[0]["mentions"]["mentions"]
    assert metric.score == 1.0, metric.values
    assert [p.get("mentions") for p in predicted] == [g.get("mentions") for g in gold]
    assert [predictor([s])[0].get("mentions") for s in gold] == [p.get("mentions") for p in predicted]


def test_evaluate_mentions_scores_and_writes_gum_brackets(mention_model, tmp_path):
    result = invoke("evaluate", mention_model, "--mentions", DEV, "--json", "--write-predictions", tmp_path / "p")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)["mentions"]["mentions"]
    assert {"precision", "recall", "f1", "per_type"} <= scores.keys()
    model, _, vocabs = load_model(mention_model)
    gold = read_mentions(DEV)
    predicted = Predictor(model, vocabs)(gold)
    written = (tmp_path / "p" / "mentions-dev.mentions.conllu").read_text(encoding="utf-8")
    back = read_mentions(tmp_path / "p" / "mentions-dev.mentions.conllu")  # GUM's notation reads back
    assert [s.get("mentions") for s in back] == [p.get("mentions") for p in predicted]
    assert "# global.Entity = GRP-etype" in written and "SpaceAfter=No" in written  # other fields kept
    assert [s.words for s in back] == [s.words for s in gold]
    table = invoke("evaluate", mention_model, "--mentions", DEV)
    assert table.exit_code == 0 and "entity mentions" in table.stdout and "all mentions" in table.stdout


def test_annotate_writes_the_mention_column_json_and_html(mention_model, tmp_path):
    out = tmp_path / "out.conllu"
    result = invoke("annotate", mention_model, DEV, "--input", "conllu", "--output", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0].endswith("HIERARCHY:CHUNK HIERARCHY:MENTION")
    model, _, vocabs = load_model(mention_model)
    expected = Predictor(model, vocabs)(read_mentions(DEV))
    column = [line.split("\t")[-1] for line in text.splitlines() if line and line[0].isdigit() and "\t" in line
              and line.split("\t")[0].isdigit()]
    assert column == [tag for s in expected for tag in s.get("mentions")]
    result = invoke("annotate", mention_model, DEV, "--input", "conllu", "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["mentions"] for row in rows] == [s.get("mentions") for s in expected]
    assert [row["mention_spans"] for row in rows] == [[list(x) for x in bio_spans(s.get("mentions"))] for s in expected]
    html = tmp_path / "out.html"
    assert invoke("annotate", mention_model, DEV, "--input", "conllu", "--format", "html", "-o", html).exit_code == 0
    labels = {label for s in expected for _, _, label in bio_spans(s.get("mentions"))}
    assert labels and all(label in html.read_text(encoding="utf-8") for label in labels)


def test_spacy_component_sets_ents_spans_and_scores(mention_model):
    nlp = spacy.blank("en")
    nlp.add_pipe("hierarchy", config={"model": str(mention_model)})
    gold = read_mentions(DEV)
    model, _, vocabs = load_model(mention_model)
    expected = Predictor(model, vocabs)(gold)
    docs = [nlp(Doc(nlp.vocab, words=s.words)) for s in gold]
    for doc, s in zip(docs, expected):
        spans = [(a, b, label) for a, b, label in bio_spans(s.get("mentions"))]
        assert [(e.start, e.end, e.label_) for e in doc.ents] == spans
        assert [(e.start, e.end, e.label_) for e in doc.spans["mentions"]] == spans
    examples = []
    for s in gold:
        reference = Doc(nlp.vocab, words=s.words)
        reference.ents = [Span(reference, a, b, label) for a, b, label in bio_spans(s.get("mentions"))]
        examples.append(Example(Doc(nlp.vocab, words=s.words), reference))
    scores = nlp.evaluate(examples)
    metric = Predictor(model, vocabs).evaluate({"mentions": gold})[0]["mentions"]["mentions"]
    assert scores["ents_f"] == pytest.approx(metric.values["f1"] / 100)
    assert scores["ents_p"] == pytest.approx(metric.values["precision"] / 100)
