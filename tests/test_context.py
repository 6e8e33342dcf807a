"""Document context for the transformer input (``[model.transformer] context = N``, as FLERT): each sentence read
with up to N words of its document's neighbours a side, only its own words kept; the caches keyed on the context;
a model trained with it saves, reloads and predicts as it did, and a sentence alone is read as before."""
import json

import pytest
import torch

transformers = pytest.importorskip("transformers")

from conftest import SAMPLE
from test_transformer import tiny_bert, transformer_config

from hierarchy.annotate import annotate_files
from hierarchy.annotate_work import in_context
from hierarchy.core.batching import make_batch
from hierarchy.core.features import cache_key, cached_features
from hierarchy.core.persistence import load_model
from hierarchy.core.predict import Predictor, pieces
from hierarchy.io import Sentence, read_conllu
from hierarchy.io.documents import read_coref, with_context
from hierarchy.modules.transformer import InContext, TransformerInput
from hierarchy.training import Trainer


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def test_with_context_stays_inside_each_document():
    documents = read_coref(SAMPLE / "mentions-train.conllu")
    sentences = [s for d in documents for s in d.sentences]
    context = with_context(sentences, 5)
    at = 0
    for d in documents:
        words = [w for s in d.sentences for w in s.words]
        for offset, s in zip(d.offsets(), d.sentences):
            left, right = context[at].get("context")
            assert left == words[max(offset - 5, 0) : offset] and right == words[offset + len(s) : offset + len(s) + 5]
            at += 1
    assert context[len(documents[0].sentences)].get("context")[0] == []  # a document's first sentence: none before


def test_a_sentence_in_context_reads_its_own_words_of_the_whole_text(encoder):
    transformer = TransformerInput(encoder, pooling="mean")
    left, words, right = ("the", "cat"), ("sat", "on", "mats"), ("today", ".")
    with torch.no_grad():
        inside = transformer.encode([InContext(left, words, right)], 3)  # (1, 3, n_layers, size)
        whole = transformer.encode([[*left, *words, *right]], 7)
        alone = transformer.encode([list(words)], 3)
    assert torch.allclose(inside, whole[:, 2:5], atol=1e-6)
    assert not torch.allclose(inside, alone, atol=1e-3)  # the context changed the vectors


def test_the_cache_keys_on_the_context_and_reads_back(encoder, tmp_path):
    transformer = TransformerInput(encoder)
    plain = [["a", "cat"], ["sat"]]
    texts = [InContext((), ("a", "cat"), ("sat",)), InContext(("a", "cat"), ("sat",), ())]
    assert cache_key(transformer.identity, "first", plain) != cache_key(transformer.identity, "first", texts)
    cached_features(transformer, texts, tmp_path)
    again = TransformerInput(encoder)
    assert cached_features(again, texts, tmp_path)  # read back from the file
    with torch.no_grad():
        assert torch.equal(again(texts, 2), transformer(texts, 2))
        assert torch.allclose(again(texts, 2), TransformerInput(encoder)(texts, 2), atol=1e-2)  # on the fly


def test_make_batch_hands_the_transformer_the_context():
    from hierarchy.core.vocab import Vocabs

    sentences = with_context([Sentence(["A", "b"]), Sentence(["c"])], 1)
    batch = make_batch(sentences, Vocabs.build({"pos": sentences}, 1))
    assert batch.texts == [InContext((), ("A", "b"), ("c",)), InContext(("b",), ("c",), ())]
    assert make_batch([Sentence(["A"])], Vocabs.build({"pos": [Sentence(["A"])]}, 1)).texts == [["A"]]


@pytest.fixture(scope="module")
def context_model(encoder, tmp_path_factory):
    """A tiny-BERT model reading 8 words of context a side, trained for 2 epochs; ``(directory, trainer)``."""
    tmp_path = tmp_path_factory.mktemp("context")
    config = transformer_config(encoder, tmp_path, True, epochs=2, lr=0.03)
    config.model.transformer.context = 8
    trainer = Trainer(config, tmp_path / "model", progress=False)
    assert trainer.train_data["pos"][1].get("context")[0]  # the corpus's sentences carry their context
    trainer.fit()
    return tmp_path / "model", trainer


def test_a_model_with_context_trains_saves_reloads_and_predicts_alike(context_model):
    directory, trainer = context_model
    dev = read_conllu(SAMPLE / "dev.conllu")
    trained = [(s.upos, s.heads) for s in Predictor(trainer.model, trainer.vocabs)(dev)]
    model, _, vocabs = load_model(directory)
    assert model.embed.transformer.context == 8
    predicted = Predictor(model, vocabs)(dev)
    assert [(s.upos, s.heads) for s in predicted] == trained
    assert predicted[0].get("context") is None  # the context is read, not written back


def test_a_long_sentence_in_pieces_reads_its_context(context_model):
    """Each piece of a sentence over ``max_words`` is read with its sentence's other words and the sentence's
    neighbours as context, whether the predictor adds the context or the caller (annotate, the component) did."""
    directory, _ = context_model
    model, _, vocabs = load_model(directory)
    dev = read_conllu(SAMPLE / "dev.conllu")
    long = Sentence([w for s in dev[2:] for w in s.words][:40])
    read = []
    transformer, forward = model.embed.transformer, model.embed.transformer.forward
    transformer.forward = lambda texts, seq_len: read.extend(texts) or forward(texts, seq_len)
    predictor = Predictor(model, vocabs, max_words=15)
    spans = pieces(40, 15, long.words)
    words = [*dev[0].words, *long.words, *dev[1].words]
    start = len(dev[0])
    assert len(spans) > 1
    expected = {(tuple(words[max(start + a - 8, 0) : start + a]), tuple(long.words[a:b]),
                 tuple(words[start + b : start + b + 8])) for a, b in spans}
    for sentences in ([dev[0], long, dev[1]], with_context([dev[0], long, dev[1]], 8)):
        read.clear()
        joined = predictor(sentences)
        assert {(t.left, t.words, t.right) for t in read if t.words in {w for _, w, _ in expected}} == expected
        assert len(joined[1].upos) == 40 and [s.get("context") for s in joined] == [s.get("context") for s in sentences]


def test_annotate_reads_a_paragraph_in_context_and_the_component_a_doc(context_model, tmp_path):
    import spacy

    directory, _ = context_model
    text = "The cat sat on the mat. It slept.\n\nA dog came in. It barked at the cat.\n"
    (tmp_path / "in.txt").write_text(text, encoding="utf-8")
    for nproc in (1, 2):
        annotate_files(directory, [tmp_path / "in.txt"], format="jsonl", output=tmp_path / f"{nproc}.jsonl",
                       progress=False, nproc=nproc)
    lines = [json.loads(line) for line in (tmp_path / "1.jsonl").read_text().splitlines()]
    assert (tmp_path / "2.jsonl").read_text() == (tmp_path / "1.jsonl").read_text()
    model, _, vocabs = load_model(directory)
    paragraphs = [[Sentence(line["words"]) for line in lines[:2]], [Sentence(line["words"]) for line in lines[2:]]]
    expected = [s.upos for p in paragraphs for s in Predictor(model, vocabs)(with_context(p, 8))]
    assert [line["upos"] for line in lines] == expected  # each paragraph its own document
    nlp = spacy.blank("en")
    nlp.add_pipe("hierarchy", config={"model": str(directory)})
    doc = nlp(text.split("\n\n")[1].strip())  # a Doc alone: no context from another
    alone = [Sentence([t.text for t in sent]) for sent in doc.sents]
    assert [t.pos_ for t in doc] == [u for s in Predictor(model, vocabs)(with_context(alone, 8)) for u in s.upos]
    assert [t.pos_ for t in doc] == [u for line in lines[2:] for u in line["upos"]]


def test_annotate_groups_context_by_paragraph_or_document():
    a, b, c = Sentence(["A", "b"]), Sentence(["C"]), Sentence(["D"])
    text = [("f", 0, None, a), ("f", 1, None, b), ("f", 0, None, c), ("g", 0, None, a)]  # paragraphs: ab | c ; g
    assert [s.get("context") for s in in_context(text, "text", 4)] == [([], ["C"]), (["A", "b"], []), ([], []),
                                                                        ([], [])]
    conllu = [("f", 0, None, a), ("f", 0, None, b), ("f", 0, None, c), ("g", 0, None, a)]  # a file is a document
    assert [s.get("context") for s in in_context(conllu, "conllu", 4)][:3] == [([], ["C", "D"]), (["A", "b"], ["D"]),
                                                                              (["A", "b", "C"], [])]
    assert in_context(text, "text", 0) == [a, b, c, a]


def test_context_without_a_transformer_is_one_error():
    from conftest import tiny_config

    from hierarchy.io.errors import ConfigError

    config = tiny_config()
    config.model.transformer.context = 8
    with pytest.raises(ConfigError, match="model.transformer.context needs a transformer"):
        config.validate("recipe")
