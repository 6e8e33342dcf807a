"""The spaCy component's SRL output: ``doc._.srl`` frames, ``doc._.srl_data``, ``doc.spans["srl"]``; and what
``hierarchy annotate`` writes of the roles."""
import json

import pytest
import spacy
from conftest import SAMPLE
from spacy.tokens import Doc, Span, Token
from test_srl_model import srl_config
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core.config import LayerConfig
from hierarchy.core.persistence import load_model
from hierarchy.core.predict import annotate
from hierarchy.io import Sentence, read_srl, write_conllu, write_srl
from hierarchy.io.errors import CorpusError
from hierarchy.tasks.srl import frames as srl_frames
from hierarchy.training import Trainer


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
        spans = doc.spans["srl"]
        assert [s.label_ for s in spans] == [role for f in frames for role, _ in f["arguments"]]
        again = Doc(nlp.vocab).from_bytes(doc.to_bytes())
        assert again._.srl_data == doc._.srl_data


def test_pipe_equals_one_by_one(srl_nlp):
    nlp, _, sentences = srl_nlp
    docs = [Doc(nlp.vocab, words=s.words) for s in sentences]
    one_by_one = [nlp(Doc(nlp.vocab, words=s.words))._.srl_data for s in sentences]
    assert [d._.srl_data for d in nlp.pipe(docs, batch_size=4)] == one_by_one
    assert any(frames for frames in one_by_one)


def test_annotate_writes_roles_that_read_back(srl_nlp, tmp_path):
    """``hierarchy annotate``: the roles in the declared HIERARCHY:PRED / HIERARCHY:ARGS columns (read back by
    read_srl as the library predicted them), in JSON lines, and as spans in HTML."""
    _, out, sentences = srl_nlp
    model, _, vocabs = load_model(out)
    plain = [Sentence(s.words) for s in sentences]
    expected = annotate(model, vocabs, plain)
    assert any(p.roles for p in expected)
    write_conllu(tmp_path / "in.conllu", plain)
    runner = CliRunner()
    result = runner.invoke(app, ["annotate", str(out), str(tmp_path / "in.conllu"), "--input", "conllu",
                                 "--output", str(tmp_path / "out.conllu")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out.conllu").read_text(encoding="utf-8")
    assert text.startswith("# global.columns = ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC HIERARCHY:PRED "
                           "HIERARCHY:ARGS\n")
    back = read_srl(tmp_path / "out.conllu")
    assert [(s.senses, s.roles) for s in back] == [(p.senses, p.roles) for p in expected]
    result = runner.invoke(app, ["annotate", str(out), str(tmp_path / "in.conllu"), "--input", "conllu",
                                 "--format", "jsonl"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["srl"] for row in rows] == [srl_frames(p, list(range(len(p)))) for p in expected]
    result = runner.invoke(app, ["annotate", str(out), str(tmp_path / "in.conllu"), "--input", "conllu",
                                 "--format", "html", "--output", str(tmp_path / "out.html")])
    roles = [a["role"] for p in expected for f in srl_frames(p, list(range(len(p)))) for a in f["arguments"]]
    assert result.exit_code == 0 and all(role in (tmp_path / "out.html").read_text() for role in roles)
    if out.name == "conllu":  # Universal PropBank input: its own role columns (one per predicate) are replaced
        write_srl(tmp_path / "up.conllu", sentences)
        result = runner.invoke(app, ["annotate", str(out), str(tmp_path / "up.conllu"), "--input", "conllu",
                                     "--output", str(tmp_path / "up-out.conllu")])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "up-out.conllu").read_text(encoding="utf-8").startswith("# global.columns = ")
        back = read_srl(tmp_path / "up-out.conllu")  # rolesets from the input's LEMMA column
        assert [(s.senses, s.roles) for s in back] == [(p.senses, p.roles) for p in annotate(model, vocabs, sentences)]


def test_declared_role_columns_bad_cell(tmp_path):
    header = "# global.columns = ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC HIERARCHY:PRED HIERARCHY:ARGS\n"
    row = "{}\t{}\t_\t_\t_\t_\t_\t_\t_\t_\t{}\t{}\n"
    path = tmp_path / "bad.conllu"
    path.write_text(header + row.format(1, "Dogs", "_", "2:ARG0") + row.format(2, "bark", "bark.01", "2:V|3:ARG1")
                    + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"bad.conllu:3: expected HIERARCHY:ARGS cells like 3:ARG0 .* found '3:ARG1'"):
        read_srl(path)
    path.write_text(header + row.format(1, "Dogs", "_", "2:ARG0") + row.format(2, "bark", "bark.01", "2:V") + "\n",
                    encoding="utf-8")
    (sentence,) = read_srl(path)
    assert sentence.senses == ["_", "bark.01"] and sentence.roles == [["ARG0", "V"]]
