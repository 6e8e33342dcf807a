"""Sentences longer than ``max_sentence_words`` are predicted in pieces and joined back into one sentence (issue 14,
part 3): the memory and time of a sentence grow with the square of its length, so a 120,000-word line must not be
one sentence."""
import random

import pytest
import spacy
from conftest import SAMPLE
from spacy.tokens import Doc
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core.persistence import load_model
from hierarchy.core.predict import Predictor, pieces
from hierarchy.io import Sentence, read_conllu
from hierarchy.io.trees import find_cycle


@pytest.mark.parametrize("seed", range(20))
def test_pieces_cover_the_sentence_in_order_within_the_limit(seed):
    rng = random.Random(seed)
    n, limit = rng.randint(1, 300), rng.randint(1, 40)
    words = [rng.choice(["a", "b", ",", "."]) for _ in range(n)]
    cut = pieces(n, limit, words)
    assert cut[0][0] == 0 and cut[-1][1] == n
    assert all(a < b <= a + limit for a, b in cut)
    assert all(b == c for (_, b), (c, _) in zip(cut, cut[1:]))
    assert len(cut) <= -(-n // limit) + max(n // limit // 2, 1)  # early cuts at punctuation add few pieces


@pytest.fixture(scope="module")
def long_sentence():
    """The sample dev sentences run together into one sentence of about 120 words."""
    words = [w for s in read_conllu(SAMPLE / "dev.conllu") for w in s.words]
    return Sentence(words[:120])


def test_a_long_sentence_is_predicted_in_pieces_and_joined(trained_model, long_sentence):
    model, _, vocabs = load_model(trained_model)
    predictor = Predictor(model, vocabs, max_words=25)
    joined, = predictor([long_sentence])
    assert joined.words == long_sentence.words
    assert len(joined.upos) == len(joined.heads) == len(joined.rels) == len(joined.chunks) == 120
    assert joined.heads.count(0) == 1 and not find_cycle(joined.heads)  # one tree
    assert all(0 <= h <= 120 for h in joined.heads)
    offset = 0
    for a, b in pieces(120, 25, long_sentence.words):  # each piece reads as it does alone
        alone, = predictor([Sentence(long_sentence.words[a:b])])
        assert joined.upos[a:b] == alone.upos and joined.chunks[a:b] == alone.chunks
        for k, (head, rel) in enumerate(zip(alone.heads, alone.rels)):
            if head:
                assert (joined.heads[a + k], joined.rels[a + k]) == (head + a, rel)
            elif a:
                assert joined.rels[a + k] == "parataxis" and joined.heads[joined.heads[a + k] - 1] == 0
        offset = b
    assert offset == 120
    whole, = Predictor(model, vocabs)([long_sentence])  # below the default limit: one piece
    assert len(whole.heads) == 120 and whole.heads.count(0) == 1


def test_annotate_cuts_raw_text_into_sentences_and_joins_conllu_pieces(trained_model, long_sentence, tmp_path):
    """Raw text without sentence ends becomes consecutive sentences of at most the limit; a CoNLL-U sentence (the
    user's own boundaries) is predicted in pieces and written as one."""
    text = tmp_path / "long.txt"
    words = [w for w in long_sentence.words if w not in ".?!"]  # one sentence for the sentencizer
    text.write_text(" ".join(words) + "\n", encoding="utf-8")
    out = tmp_path / "out.conllu"
    result = CliRunner().invoke(app, ["annotate", str(trained_model), str(text), "--max-sentence-words", "30",
                                      "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    sentences = read_conllu(out)  # the reader checks one root and no cycle per sentence
    assert [w for s in sentences for w in s.words] == words and max(len(s) for s in sentences) <= 30
    assert " ".join(s.meta.metadata["text"] for s in sentences) == " ".join(words)

    result = CliRunner().invoke(app, ["annotate", str(trained_model), "--input", "conllu", str(out),
                                      "--max-sentence-words", "7", "-o", str(tmp_path / "again.conllu")])
    assert result.exit_code == 0, result.output
    again = read_conllu(tmp_path / "again.conllu")
    assert [s.words for s in again] == [s.words for s in sentences]
    assert any("parataxis" in s.rels for s in again)
    result = CliRunner().invoke(app, ["annotate", str(trained_model), str(text), "--max-sentence-words", "0"])
    assert result.exit_code == 2 and "--max-sentence-words must be at least 1" in result.stderr


def test_the_spacy_component_parses_a_long_sentence_as_one_tree(trained_model, long_sentence):
    nlp = spacy.blank("en")
    nlp.add_pipe("hierarchy", config={"model": str(trained_model), "max_sentence_words": 25})
    doc = nlp(Doc(nlp.vocab, words=long_sentence.words))
    assert len(list(doc.sents)) == 1 and sum(t.dep_ == "parataxis" for t in doc) >= 4
