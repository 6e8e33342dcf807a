"""The spaCy component: what it writes, sentences and trees, odd texts, batching, scoring, save and reload."""
import shutil

import pytest
import spacy
from conftest import SAMPLE, needs_bf16, tiny_config
from spacy.tokens import Doc, Span
from spacy.training import Example

from hierarchy.io import read_conll2000, read_conllu, write_conllu
from hierarchy.io.errors import ConfigError
from hierarchy.io.spans import bio_spans, bio_tags

LONG = " ".join(["the big dog"] * 133) + " ."  # one sentence of 400 tokens
TEXTS = [
    "The cat sat on the mat. It was happy.",
    "",
    "   ",
    "Dogs bark 🐕🐕 loudly!!! 😀",
    "Η γάτα κάθεται στο χαλί. 猫がマットの上に座った。",
    "Hi.\n\nThere  you go.",
    LONG,
    "\n",
]


def pipeline(model_dir, sentencizer=True, **config):
    nlp = spacy.blank("en")
    if sentencizer:
        nlp.add_pipe("sentencizer")
    nlp.add_pipe("hierarchy", config={"model": str(model_dir), **config})
    return nlp


def annotations(doc) -> tuple:
    tokens = [(t.text, t.pos_, t.tag_, t.head.i, t.dep_, t.is_sent_start) for t in doc]
    return tokens, [(s.start, s.end, s.label_) for s in doc.spans["chunks"]]


@pytest.fixture(scope="module")
def nlp(trained_model):
    return pipeline(trained_model)


def test_writes_every_attribute(nlp):
    doc = nlp("The cat sat on the mat. It was happy.")
    assert all(doc.has_annotation(attr) for attr in ("POS", "TAG", "DEP"))
    assert all(t.pos_ and t.tag_ and t.dep_ for t in doc)
    chunks = doc.spans["chunks"]
    assert len(chunks) > 0 and all(span.label_ for span in chunks)
    assert [s.text for s in doc.sents] == ["The cat sat on the mat.", "It was happy."]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_one_tree_per_sentence(nlp, text):
    doc = nlp(text)
    sentencized = spacy.blank("en")
    sentencized.add_pipe("sentencizer")
    expected = [(s.start, s.end) for s in sentencized(text).sents] if text else []
    assert [(s.start, s.end) for s in doc.sents] == expected  # the sentencizer's sentences survive the parse
    for sent in doc.sents:
        roots = [t for t in sent if t.dep_ == "ROOT"]
        assert len(roots) == 1 and roots[0].head == roots[0]
        assert all(sent.start <= t.head.i < sent.end for t in sent)
        assert all(t.head != t for t in sent if t.dep_ != "ROOT")
    for span in doc.spans["chunks"]:
        assert not doc[span.start].is_space and span.end <= doc[span.start].sent.end


def test_whitespace_tokens(nlp):
    doc = nlp("Hi there.  How are you?\n")  # the sentencizer makes the final line break a sentence of its own
    assert [t.text for t in doc if t.is_space] == [" ", "\n"]
    space, newline = doc[3], doc[-1]
    assert (space.pos_, space.tag_, space.dep_, space.head.text) == ("SPACE", "_SP", "dep", "How")
    assert (newline.pos_, newline.tag_, newline.dep_, newline.head) == ("SPACE", "_SP", "ROOT", newline)
    doc = nlp("Hi  there\n.")
    assert [(t.text, t.dep_, t.head.text) for t in doc if t.is_space] == [(" ", "dep", "Hi"), ("\n", "dep", "there")]
    only = nlp("   ")
    assert [(t.pos_, t.tag_, t.dep_, t.head.i) for t in only] == [("SPACE", "_SP", "ROOT", 0)]
    assert len(nlp("")) == 0 and len(nlp("").spans["chunks"]) == 0


def test_without_sentence_boundaries_a_doc_is_one_sentence(trained_model):
    doc = pipeline(trained_model, sentencizer=False)("The cat sat. It was happy.")
    assert sum(t.dep_ == "ROOT" for t in doc) == 1 and len(list(doc.sents)) == 1


def test_long_sentence(nlp):
    doc = nlp(LONG)
    assert len(doc) == 400 and len(list(doc.sents)) == 1 and sum(t.dep_ == "ROOT" for t in doc) == 1


def test_predict_has_no_side_effects(nlp):
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc("The cat sat on the mat. It was happy."))
    before = doc.to_bytes()
    component = nlp.get_pipe("hierarchy")
    parses = component.predict([doc])
    assert doc.to_bytes() == before
    assert [len(s) for s in parses[0].sentences] == [7, 4]
    component.set_annotations([doc], parses)
    assert annotations(doc) == annotations(nlp("The cat sat on the mat. It was happy."))


def test_pipe_equals_one_by_one(nlp):
    one_by_one = [annotations(nlp(text)) for text in TEXTS]
    assert [annotations(doc) for doc in nlp.pipe(TEXTS, batch_size=2)] == one_by_one
    assert [annotations(doc) for doc in nlp.pipe(TEXTS, batch_size=100)] == one_by_one


def test_two_processes(nlp):
    texts = TEXTS[:4]
    assert [annotations(doc) for doc in nlp.pipe(texts, n_process=2, batch_size=2)] == [annotations(nlp(t)) for t in texts]


def test_layers_subset(trained_model):
    doc = pipeline(trained_model, layers=["pos"])("The cat sat on the mat.")
    assert doc.has_annotation("POS") and not doc.has_annotation("DEP") and "chunks" not in doc.spans
    doc = pipeline(trained_model, layers=["chunks"])("The cat sat on the mat.")
    assert not doc.has_annotation("POS") and not doc.has_annotation("DEP") and "chunks" in doc.spans
    with pytest.raises(ConfigError, match="unknown layer 'ner'"):
        pipeline(trained_model, layers=["ner"])
    with pytest.raises(ConfigError, match="the model has no layer srl"):
        pipeline(trained_model, layers=["srl"])


@needs_bf16
def test_bf16(trained_model):
    doc = pipeline(trained_model, precision="bf16")("The cat sat on the mat. It was happy.")
    assert doc.has_annotation("POS") and doc.has_annotation("DEP") and len(list(doc.sents)) == 2


def test_precision(trained_model):
    with pytest.raises(ConfigError, match="precision must be one of auto, bf16, fp32, int8, not 'fp16'"):
        pipeline(trained_model, precision="fp16")


def test_missing_model_directory(tmp_path):
    nlp = pipeline(tmp_path / "nowhere")  # spacy.load of a saved pipeline builds it like this, then reads from disk
    with pytest.raises(ConfigError, match="model directory not found"):
        nlp("The cat sat.")


def test_scores_match_the_library(nlp, trained_model):
    """nlp.evaluate gives the library's own scores (LAS can only be higher: roots are always labelled ROOT)."""
    from hierarchy.core.persistence import load_model
    from hierarchy.core.predict import annotate, score

    ud, chunks = read_conllu(SAMPLE / "dev.conllu"), read_conll2000(SAMPLE / "chunks-dev.txt")
    examples = []
    for s in ud:
        heads = [h - 1 if h else i for i, h in enumerate(s.heads)]
        gold = Doc(nlp.vocab, words=s.words, pos=s.upos, tags=s.xpos, heads=heads, deps=s.rels)
        examples.append(Example(Doc(nlp.vocab, words=s.words), gold))
    for s in chunks:
        gold = Doc(nlp.vocab, words=s.words)
        gold.spans["chunks"] = [Span(gold, a, b, label) for a, b, label in bio_spans(s.chunks)]
        examples.append(Example(Doc(nlp.vocab, words=s.words), gold))
    scores = nlp.evaluate(examples)
    model, _, vocabs = load_model(trained_model)
    pos = score("pos", annotate(model, vocabs, ud, ["pos"]), ud)
    deps = score("deps", annotate(model, vocabs, ud, ["deps"]), ud)["deps"]
    chunk = score("chunks", annotate(model, vocabs, chunks, ["chunks"]), chunks)["chunks"]
    assert scores["pos_acc"] == pytest.approx(pos["upos"].score)
    assert scores["tag_acc"] == pytest.approx(pos["xpos"].score)
    assert scores["dep_uas"] == pytest.approx(deps.uas)
    assert scores["dep_las"] >= deps.las - 1e-9
    assert scores["spans_chunks_f"] == pytest.approx(chunk.values["f1"] / 100)


def test_bio_helpers():
    tags = ["B-NP", "I-NP", "B-VP", "O", "B-PP", "B-NP"]
    assert bio_tags(len(tags), bio_spans(tags)) == tags
    assert bio_spans(["I-NP", "I-VP", "O"]) == [(0, 1, "NP"), (1, 2, "VP")]


def test_overfit_then_reload(tmp_path):
    """Train on two sentences until the model knows them, annotate, save, load without the model directory:
    identical annotations."""
    from hierarchy.training import Trainer

    gold = read_conllu(SAMPLE / "train.conllu")[:2]
    write_conllu(tmp_path / "train.conllu", gold)
    blocks = (SAMPLE / "chunks-train.txt").read_text(encoding="utf-8").split("\n\n")[:2]
    (tmp_path / "chunks.txt").write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")
    config = tiny_config(epochs=20, patience=20, lr=5e-2)
    for key in ("pos", "pos_dev", "deps", "deps_dev"):
        setattr(config.data, key, str(tmp_path / "train.conllu"))
    config.data.chunks = config.data.chunks_dev = str(tmp_path / "chunks.txt")
    Trainer(config, tmp_path / "model", progress=False).fit()

    nlp = pipeline(tmp_path / "model", sentencizer=False)
    docs = [nlp(Doc(nlp.vocab, words=s.words)) for s in gold]
    assert [[t.pos_ for t in doc] for doc in docs] == [s.upos for s in gold]
    assert [[t.tag_ for t in doc] for doc in docs] == [s.xpos for s in gold]
    chunk_gold = read_conll2000(tmp_path / "chunks.txt")
    chunk_docs = [nlp(Doc(nlp.vocab, words=s.words)) for s in chunk_gold]
    assert [bio_tags(len(d), [(c.start, c.end, c.label_) for c in d.spans["chunks"]]) for d in chunk_docs] == \
        [s.chunks for s in chunk_gold]

    texts = ["The cat sat on the mat. It was happy.", "", "  ", "Dogs bark 🐕 loudly!"]
    nlp = pipeline(tmp_path / "model")
    before = [annotations(doc) for doc in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(tmp_path / "model")  # the saved pipeline must not need the original model directory
    assert sorted(p.name for p in (tmp_path / "pipeline" / "hierarchy").iterdir()) == \
        ["config.toml", "manifest.json", "metrics.json", "vocab.json", "weights.safetensors"]
    reloaded = spacy.load(tmp_path / "pipeline")
    assert [annotations(doc) for doc in reloaded.pipe(texts)] == before
    assert [annotations(reloaded(t)) for t in texts] == before
