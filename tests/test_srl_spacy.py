"""The spaCy component's SRL output: ``doc._.srl`` frames, ``doc._.srl_data``, ``doc.spans["srl"]``."""
import pytest
import spacy
from spacy.tokens import Doc, Span, Token

from conftest import SAMPLE
from hierarchy.config import LayerConfig
from hierarchy.corpus import read_srl
from hierarchy.persistence import load_model
from hierarchy.predict import annotate
from hierarchy.spacy_component import EXTENSIONS
from hierarchy.training import Trainer

from test_srl_model import srl_config


@pytest.fixture(scope="module", params=["conllu", "conll05"])
def srl_nlp(request, tmp_path_factory):
    """A pipeline whose model overfit the first sentences of an SRL sample file, and those sentences."""
    out = tmp_path_factory.mktemp("srl") / request.param
    config = srl_config(request.param)
    if request.param == "conllu":
        config.model.layers.insert(1, LayerConfig(size=8, tasks=["deps"]))
    Trainer(config, out, progress=False).fit()
    nlp = spacy.blank("en")
    nlp.add_pipe("hierarchy", config={"model": str(out)})
    return nlp, out, read_srl(SAMPLE / config.data.srl, request.param)[:4]


def test_frames_match_the_model_and_serialize(srl_nlp):
    nlp, out, sentences = srl_nlp
    model, _, vocabs = load_model(out)
    for sentence in sentences:
        doc = nlp(Doc(nlp.vocab, words=sentence.words))
        (expected,) = annotate(model, vocabs, [sentence.__class__(sentence.words)], ["srl"])
        frames = doc._.srl
        assert [f["predicate"].i for f in frames] == [i for i, s in enumerate(expected.senses) if s != "_"]
        assert [f["roleset"] for f in frames] == [s for s in expected.senses if s != "_"]
        for frame, labels in zip(frames, expected.roles):
            assert isinstance(frame["predicate"], Token)
            for role, argument in frame["arguments"]:
                assert isinstance(argument, Span if frame["arguments"] and "O" in labels else Token)
                start = argument.start if isinstance(argument, Span) else argument.i
                assert labels[start] in (role, f"B-{role}")
        spans = doc.spans[EXTENSIONS["srl"]]
        assert [s.label_ for s in spans] == [role for f in frames for role, _ in f["arguments"]]
        again = Doc(nlp.vocab).from_bytes(doc.to_bytes())
        assert again._.srl_data == doc._.srl_data


def test_pipe_equals_one_by_one(srl_nlp):
    nlp, _, sentences = srl_nlp
    docs = [Doc(nlp.vocab, words=s.words) for s in sentences]
    one_by_one = [nlp(Doc(nlp.vocab, words=s.words))._.srl_data for s in sentences]
    assert [d._.srl_data for d in nlp.pipe(docs, batch_size=4)] == one_by_one
    assert any(frames for frames in one_by_one)
