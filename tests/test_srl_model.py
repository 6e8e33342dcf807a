"""The SRL layer: overfit, save, reload; batched equals one-by-one; predictions written back; bad input."""
import pytest
from conftest import ROOT, SAMPLE, gold_specs, tiny_config

from hierarchy.core.batching import make_batch
from hierarchy.core.config import LayerConfig, load_config
from hierarchy.core.model import Hierarchy
from hierarchy.core.persistence import load_model
from hierarchy.core.predict import annotate, score
from hierarchy.core.vocab import Vocabs
from hierarchy.io import Sentence, read_srl, write_srl
from hierarchy.io.errors import ConfigError, CorpusError
from hierarchy.tasks.srl import renamed_lemmas, roleset
from hierarchy.training import Trainer

FILES = {"conllu": "srl-train.conllu", "conll05": "srl-spans.txt"}


def srl_config(srl_format: str, **train):
    """POS below, SRL above, trained and scored on the first sentences of one SRL sample file."""
    config = tiny_config(**{"epochs": 40, "lr": 2e-2, "patience": 100, **train})
    config.data.srl = config.data.srl_dev = str(SAMPLE / FILES[srl_format])
    config.data.srl_format = srl_format
    config.data.max_sentences = 4
    config.model.word_dim = config.model.mlp_dim = config.model.rel_dim = 16
    config.model.layers = [LayerConfig(size=8, tasks=["pos"]), LayerConfig(size=16, tasks=["srl"])]
    return config


@pytest.mark.parametrize("srl_format", ["conllu", "conll05"])
def test_overfit_save_reload_batched_and_write_back(tmp_path, srl_format):
    config = srl_config(srl_format)
    trainer = Trainer(config, tmp_path / "model", progress=False)
    state = trainer.fit()
    assert state["best_dev"]["srl"]["srl"]["f1"] == 100.0
    gold = trainer.dev_data["srl"]
    model, _, vocabs = load_model(tmp_path / "model")
    predicted = annotate(model, vocabs, gold, ["srl"])
    assert score("srl", predicted, gold, vocabs)["srl"].score == 1.0
    assert [p.roles for p in predicted] == [g.roles for g in gold]
    if srl_format == "conllu":  # span corpora's senses are lemmas; predicted ones are the lowercased words
        assert [p.senses for p in predicted] == [g.senses for g in gold]
    one_by_one = [annotate(model, vocabs, [s], ["srl"])[0] for s in gold]
    assert [(p.senses, p.roles) for p in one_by_one] == [(p.senses, p.roles) for p in predicted]
    write_srl(tmp_path / "out", predicted, srl_format)
    again = read_srl(tmp_path / "out", srl_format)
    assert [(s.senses, s.roles) for s in again] == [(p.senses, p.roles) for p in predicted]


def test_span_senses_are_lemmas_and_head_senses_fall_back_to_01():
    assert roleset("open", "02", {"open"}) == "open.02" and roleset("borrow", "02", {"open"}) == "borrow.01"
    assert roleset("open", None, set()) == "open"


def test_rolesets_of_nouns_take_their_verbs_lemma():
    """PropBank files many nouns under a verb's roleset (service -> serve.01): the vocabulary learns, per word
    lemma, the roleset lemma it most often had, and predicted rolesets use it."""
    def frame(words, senses):
        return Sentence(words, senses=senses, roles=[["V" if k == i else "_" for k in range(len(words))]
                                                     for i, sense in enumerate(senses) if sense != "_"])

    train = [frame(["Service", "was", "slow"], ["serve.01", "_", "_"]),
             frame(["good", "service"], ["_", "serve.01"]),
             frame(["self", "service"], ["_", "service.02"]),
             frame(["Thanks", "!"], ["thank.01", "_"]),
             frame(["we", "serve"], ["_", "serve.02"])]
    vocabs = Vocabs.build({"srl": train}, 1)
    assert vocabs.labels["roleset_lemmas"].itos == ["service\tserve", "thanks\tthank"]
    renamed = renamed_lemmas(Vocabs.from_json(vocabs.to_json()).labels["roleset_lemmas"])
    assert renamed == {"service": "serve", "thanks": "thank"}
    seen = vocabs.labels["sense_lemmas"].stoi
    assert roleset("service", "02", seen, renamed) == "serve.02"
    assert roleset("thanks", "01", {"serve"}, renamed) == "thank.01"  # unseen lemma: .01 of its own
    assert roleset("serve", "02", seen, renamed) == "serve.02"


def test_shapes_and_gold_predicates_at_training(tmp_path):
    config = srl_config("conllu")
    sentences = read_srl(SAMPLE / FILES["conllu"])[:4]
    vocabs = Vocabs.build({"srl": sentences}, 1)
    assert {"_", "V", "ARG0"} <= set(vocabs.labels["roles"].itos) and "01" in vocabs.labels["senses"].stoi
    config.model.layers = [LayerConfig(size=8, tasks=["srl"])]
    model = Hierarchy(config.model, vocabs)
    batch = make_batch(sentences, vocabs, specs=gold_specs(vocabs))
    n_pred = max(len(s.roles) for s in sentences)
    assert batch.gold["roles"].shape == (4, n_pred, batch.words.shape[1])
    assert batch.gold["pred_index"][0, 0] == sentences[0].senses.index("leave.01")
    scores = model(batch, ["srl"])["srl"]
    s_role = model.tasks["srl"].role_scores(scores, batch.gold["pred_index"])
    assert s_role.shape == (4, n_pred, batch.words.shape[1], len(vocabs.labels["roles"]))
    loss = model.tasks["srl"].loss(scores, batch)
    loss.backward()
    assert loss.item() > 0 and model.tasks["srl"].role_weight.grad.abs().sum() > 0


def test_unannotated_sentences_are_not_supervised():
    sentences = read_srl(SAMPLE / FILES["conllu"])
    no_up = next(s for s in sentences if s.senses is None)
    vocabs = Vocabs.build({"srl": sentences}, 1)
    batch = make_batch([no_up, sentences[0]], vocabs, specs=gold_specs(vocabs))
    assert (batch.gold["predicates"][0] == -100).all() and (batch.gold["roles"][0] == -100).all()
    assert (batch.gold["predicates"][1, : len(sentences[0])] >= 0).all()


def test_bad_input(tmp_path):
    config = srl_config("conllu")
    config.data.srl_format = "xml"
    with pytest.raises(ConfigError, match="data.srl_format must be 'conllu' or 'conll05', not 'xml'"):
        config.validate("recipe.toml")
    config = srl_config("conllu", epochs=1)
    config.data.srl = str(SAMPLE / "train.conllu")  # plain CoNLL-U: no SRL columns
    with pytest.raises(CorpusError, match="no sentence carries senses annotation, needed by task 'srl'"):
        Trainer(config, tmp_path / "m", progress=False)
    config = srl_config("conll05", epochs=1)
    config.data.srl = str(SAMPLE / "srl-train.conllu")  # the wrong format
    with pytest.raises(CorpusError, match="srl-train.conllu:1: expected"):
        Trainer(config, tmp_path / "m", progress=False)
    assert not (tmp_path / "m").exists()


def test_jmt_recipe_has_srl_at_layer_5():
    config = load_config(ROOT / "models" / "jmt.toml")
    assert [layer.tasks for layer in config.model.layers][4] == ["srl"]
    assert (ROOT / config.data.srl).is_file() and (ROOT / config.data.srl_dev).is_file()
