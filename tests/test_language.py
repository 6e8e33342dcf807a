"""``model.lang``: a model of another language reads raw text with that language's spaCy tokenizer and sentence
splitter (hierarchy annotate, hierarchy.load(...).annotate, the packaged pipeline), and its spaCy component
refuses Docs of another language unless told otherwise."""
import pytest
import spacy
from conftest import SAMPLE
from typer.testing import CliRunner

import hierarchy
from hierarchy.cli import app
from hierarchy.core.config import Config, DataConfig, LayerConfig, ModelConfig, TrainConfig
from hierarchy.io.errors import ConfigError
from hierarchy.package import make_pipeline
from hierarchy.training import Trainer

GERMAN = SAMPLE / "de-train.conllu"
TEXT = "Das Buch ist z.B. gut. Er kam am 3. Mai."
GERMAN_WORDS = [["Das", "Buch", "ist", "z.B.", "gut", "."], ["Er", "kam", "am", "3.", "Mai", "."]]


@pytest.fixture(scope="module")
def german_model(tmp_path_factory):
    data = DataConfig(pos=str(GERMAN), pos_dev=str(GERMAN), deps=str(GERMAN), deps_dev=str(GERMAN))
    model = ModelConfig(lang="de", word_dim=8, char_dim=4, char_size=6, min_freq=1, label_dim=4, mlp_dim=8,
                        arc_dim=8, rel_dim=6, dropout=0.0, word_dropout=0.0,
                        layers=[LayerConfig(size=8, tasks=["pos"]), LayerConfig(size=8, tasks=["deps"])])
    config = Config(data=data, model=model, train=TrainConfig(epochs=2, batch_tokens=100, lr=1e-2, device="cpu"))
    out = tmp_path_factory.mktemp("german") / "model"
    Trainer(config, out, progress=False).fit()
    return out


def test_german_text_is_tokenized_by_german_rules(german_model):
    assert [t.text for t in spacy.blank("en")("z.B.")] != ["z.B."]  # English rules split it
    assert 'lang = "de"' in (german_model / "config.toml").read_text()
    assert [s.words for s in hierarchy.load(german_model).annotate([TEXT])] == GERMAN_WORDS
    result = CliRunner().invoke(app, ["annotate", str(german_model), "--format", "jsonl"], input=TEXT)
    assert result.exit_code == 0, result.output
    assert [line.split('"words": ')[1].split("]")[0] for line in result.stdout.splitlines()] == [
        '["Das", "Buch", "ist", "z.B.", "gut", "."', '["Er", "kam", "am", "3.", "Mai", "."']


def test_the_component_reads_its_language_and_refuses_another(german_model):
    nlp = make_pipeline(german_model)
    assert nlp.lang == "de"
    doc = nlp(TEXT)
    assert [[t.text for t in s] for s in doc.sents] == GERMAN_WORDS and doc.has_annotation("DEP")
    english = spacy.blank("en")
    english.add_pipe("hierarchy", config={"model": str(german_model)})
    with pytest.raises(ConfigError, match="a Doc of language 'en', but the model reads 'de'.*other_languages"):
        english(TEXT)
    tolerant = spacy.blank("en")
    tolerant.add_pipe("hierarchy", config={"model": str(german_model), "other_languages": True})
    assert tolerant(TEXT).has_annotation("POS")


def test_a_language_spacy_lacks_is_a_recipe_error():
    from conftest import tiny_config

    config = tiny_config()
    config.model.lang = "xx-nope"
    with pytest.raises(ConfigError, match="model.lang 'xx-nope' is not a language spaCy has"):
        config.validate("recipe.toml")
