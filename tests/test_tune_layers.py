"""Partial fine-tuning (``[model.transformer] tune_layers = k``) on test_transformer's tiny BERT of 2 layers: k = 0 is
the frozen input and its cache as they were; the tuned layers over the cached states give what the whole encoder
gives; only they train; a model saves them alone, reloads and packages to predict as it did."""
import hashlib
import json

import pytest
import torch
from safetensors.torch import load_file

transformers = pytest.importorskip("transformers")

from conftest import SAMPLE
from test_transformer import tiny_bert, transformer_config

import hierarchy.modules.transformer as transformer_module
from hierarchy.core.features import cache_key, cached_features
from hierarchy.core.persistence import load_model, save_model
from hierarchy.core.predict import Predictor
from hierarchy.io import read_conllu
from hierarchy.io.errors import ConfigError
from hierarchy.modules.transformer import TransformerInput
from hierarchy.training import Trainer
from hierarchy.training.optim import ENCODER

LONG = [c for c in "abcdefghijklmnopqrst"] + ["cats"] * 4  # 32 pieces: three windows of 14


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def texts() -> list[list[str]]:
    """Sentences of the sample corpus of several lengths, and one longer than a window."""
    return [s.words for s in read_conllu(SAMPLE / "dev.conllu")][:6] + [LONG]


def test_k0_is_the_frozen_input_and_keeps_its_cache_files(encoder, tmp_path):
    frozen, k0 = TransformerInput(encoder), TransformerInput(encoder, tune_layers=0)
    assert {n.split(".")[0] for n, _ in k0.named_parameters()} == {"mix"} and k0.n_cached == k0.n_layers == 3
    sentences = texts()
    cached_features(k0, sentences, tmp_path)
    digest = hashlib.sha256(json.dumps({"encoder": k0.identity, "pooling": "first"}, sort_keys=True).encode())
    for words in sentences:
        digest.update("\t".join(words).encode() + b"\n")
    assert [p.stem for p in tmp_path.iterdir()] == [digest.hexdigest()[:32]]  # the key frozen caches had
    assert cache_key(k0.identity, "first", sentences, 1) != digest.hexdigest()[:32]
    with torch.no_grad():
        assert torch.equal(k0(sentences, len(LONG)), frozen(sentences, len(LONG)))  # cached == on the fly


@pytest.mark.parametrize("pooling", ["first", "mean"])
@pytest.mark.parametrize("k", [1, 2])
def test_the_tuned_layers_over_the_cached_states_are_the_whole_encoder(encoder, pooling, k, monkeypatch):
    sentences = texts()
    tuned = TransformerInput(encoder, pooling, tune_layers=k)
    assert tuned.n_cached == 3 - k and len(tuned.tuned) == k
    monkeypatch.setattr(transformer_module, "STORED", torch.float32)  # nothing rounded: exactly the encoder's
    whole = TransformerInput(encoder, pooling, freeze=False).eval()
    tuned.precompute(sentences)
    assert set(tuned.pieces) == set(tuned.features) == {tuple(s) for s in sentences}
    with torch.no_grad():
        assert torch.allclose(tuned.cached(sentences, 24), whole.encode(sentences, 24), atol=1e-5)
    monkeypatch.undo()  # in half precision: the same whether cached or computed on the fly
    tuned = TransformerInput(encoder, pooling, tune_layers=k)
    with torch.no_grad():
        on_the_fly = tuned(sentences, 24)
        tuned.precompute(sentences[1:])
        assert torch.allclose(tuned(sentences, 24), on_the_fly, atol=1e-5)


def test_only_the_tuned_layers_and_the_mix_train(encoder):
    tuned = TransformerInput(encoder, tune_layers=1)
    assert {n.split(".")[0] for n, _ in tuned.named_parameters()} == {"tuned", "mix"}
    assert tuned.tuned[0] is tuned.encoder.encoder.layer[1]
    sentences = texts()
    tuned.precompute(sentences[:3])
    tuned.train()
    tuned(sentences, 24).square().sum().backward()  # three sentences cached, four computed on the fly
    for name, p in tuned.encoder.named_parameters():
        assert (p.grad is not None and p.grad.abs().sum() > 0) == name.startswith("encoder.layer.1."), name


def test_a_recipe_that_tunes_layers_of_an_encoder_fine_tuned_whole_or_too_small_is_one_clear_error(encoder, tmp_path):
    config = transformer_config(encoder, tmp_path, False)
    config.model.transformer.tune_layers = 1
    with pytest.raises(ConfigError, match=r"tune_layers = 1 tunes the top layers only, freeze = false the whole"):
        config.validate("recipe.toml")
    with pytest.raises(ConfigError, match=r"tune_layers is 3, but .* has 2 layers"):
        TransformerInput(encoder, tune_layers=3)


def test_a_model_tuning_its_top_layer_learns_saves_it_alone_reloads_and_packages(encoder, tmp_path):
    import spacy
    from spacy.tokens import Doc

    import hierarchy
    from hierarchy.package import package_model

    config = transformer_config(encoder, tmp_path, True, epochs=12, lr=0.03)
    config.model.transformer.tune_layers = 1
    trainer = Trainer(config, tmp_path / "model", progress=False)
    before = transformers.AutoModel.from_pretrained(str(encoder)).state_dict()
    state = trainer.fit()
    groups = {g["name"]: g["params"] for g in trainer.optimizer.param_groups}  # the tuned layer at its own rate
    assert list(map(id, groups[ENCODER])) == list(map(id, trainer.model.embed.transformer.tuned.parameters()))
    first, last = state["history"][0]["loss"], state["history"][-1]["loss"]
    assert all(last[t] < 0.6 * first[t] for t in first), (first, last)  # it learns
    after = trainer.model.embed.transformer.encoder.state_dict()
    moved = {k for k in before if not torch.equal(after[k], before[k])}
    assert moved and all(k.startswith("encoder.layer.1.") for k in moved)
    saved = [k for k in load_file(tmp_path / "model" / "weights.safetensors") if k.startswith("embed.transformer.")]
    assert {k.split(".")[2] for k in saved} == {"mix", "tuned"}
    assert {k.removeprefix("embed.transformer.tuned.0.") for k in saved if ".tuned." in k} == {
        k.removeprefix("encoder.layer.1.") for k in before if k.startswith("encoder.layer.1.")}
    assert all("pieces" in load_file(p) for p in (tmp_path / "cache").glob("*.safetensors"))  # the tuned layer's input
    dev = read_conllu(SAMPLE / "dev.conllu")
    trained = [(s.upos, s.heads, s.chunks) for s in Predictor(trainer.model, trainer.vocabs)(dev)]
    save_model(trainer.model, config, trainer.vocabs, tmp_path / "last")
    model, _, vocabs = load_model(tmp_path / "last")  # states computed on the fly, not read from the cache
    assert [(s.upos, s.heads, s.chunks) for s in Predictor(model, vocabs)(dev)] == trained
    assert hierarchy.load(tmp_path / "last", device="cpu", precision="int8").annotate(dev[:2])
    package_model(tmp_path / "last", tmp_path / "package")
    assert "model.safetensors" in {p.name for p in (tmp_path / "package" / "hierarchy" / "encoder").iterdir()}
    nlp = spacy.load(tmp_path / "package")
    assert [t.pos_ for t in nlp(Doc(nlp.vocab, words=dev[0].words))] == trained[0][0]
