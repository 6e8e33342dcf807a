"""A transformer input beneath the hierarchy: a tiny BERT written here (a BertConfig, a vocabulary of letters; no
network, no downloads). Windows and pooling against the encoder run by hand, the feature cache's hit and miss,
overfit-save-reload frozen and fine-tuned, the wrong-encoder error, and a packaged pipeline that carries it."""
import json
import shutil
import string

import pytest
import torch
from safetensors.torch import load_file, save_file

transformers = pytest.importorskip("transformers")  # the ``transformers`` extra; dev installs it

from conftest import SAMPLE, tiny_config  # noqa: E402

from hierarchy.core.features import cached_features  # noqa: E402
from hierarchy.core.persistence import load_model, save_model  # noqa: E402
from hierarchy.core.predict import Predictor  # noqa: E402
from hierarchy.io import read_conllu  # noqa: E402
from hierarchy.io.errors import ConfigError  # noqa: E402
from hierarchy.modules.transformer import TransformerInput  # noqa: E402
from hierarchy.training import Trainer  # noqa: E402

MAX_POSITIONS = 16  # 14 pieces a window besides [CLS] and [SEP]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """A BERT of 2 layers of 8 units whose pieces are letters (``##x`` inside a word) and a few words."""
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def tiny_bert(path):
    """Write :func:`encoder`'s BERT into the directory ``path``; return it."""
    path.mkdir(parents=True, exist_ok=True)
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, *string.digits,
              *(f"##{c}" for c in string.ascii_lowercase + string.digits), *".,!?'-:;()\"$%&/", "the", "a", "of"]
    if int(transformers.__version__.split(".")[0]) >= 5:
        tokenizer = transformers.BertTokenizerFast(vocab={p: i for i, p in enumerate(pieces)})
    else:
        (path / "vocab.txt").write_text("\n".join(pieces) + "\n", encoding="utf-8")
        tokenizer = transformers.BertTokenizerFast(vocab_file=str(path / "vocab.txt"))
    config = transformers.BertConfig(vocab_size=len(pieces), hidden_size=8, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=16,
                                     max_position_embeddings=MAX_POSITIONS)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def by_hand(encoder, pieces: list[int]) -> torch.Tensor:
    """``[n_layers, len(pieces), size]``: the encoder over ``[CLS] pieces [SEP]``, without the specials."""
    model = transformers.AutoModel.from_pretrained(str(encoder)).eval()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([[2, *pieces, 3]]), output_hidden_states=True).hidden_states
    return torch.stack(out)[:, 0, 1:-1]


def test_a_word_reads_its_first_or_mean_piece_in_one_window(encoder):
    words = ["The", "cat", "sat"]  # the, c ##a ##t, s ##a ##t
    ids = TransformerInput(encoder).tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    assert len(ids) == 7
    hand = by_hand(encoder, ids)
    with torch.no_grad():
        first = TransformerInput(encoder, "first").encode([words], 4)[0]  # (seq, n_layers, size)
        mean = TransformerInput(encoder, "mean").encode([words], 4)[0]
    assert first.shape == (4, 3, 8) and not first[3].any()  # the padding position stays zero
    assert torch.allclose(first[1], hand[:, 1], atol=1e-6) and torch.allclose(first[2], hand[:, 4], atol=1e-6)
    assert torch.allclose(mean[1], hand[:, 1:4].mean(1), atol=1e-6)
    assert torch.allclose(mean[0], first[0], atol=1e-6)


def test_a_sentence_longer_than_the_model_is_read_in_overlapping_windows(encoder):
    words = list(string.ascii_lowercase[:20]) + ["the"] * 10  # one piece each: 30 pieces, windows of 14
    transformer = TransformerInput(encoder)
    assert transformer.max_pieces == MAX_POSITIONS - 2
    with torch.no_grad():
        got = transformer.encode([words, ["a", "b"]], len(words))  # with a short sentence in the same batch
    ids = transformer.tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    starts = [0, 7, 14, 16]  # half-overlapping, the last one flush with the end
    owner = lambda p: max((s for s in starts if s <= p < s + 14), key=lambda s: min(p - s, s + 13 - p))  # noqa: E731
    hand = {s: by_hand(encoder, ids[s : s + 14]) for s in starts}
    for p in range(len(words)):
        s = owner(p)
        assert torch.allclose(got[0, p], hand[s][:, p - s], atol=1e-5), p
    short = transformer.tokenizer(["a", "b"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
    assert torch.allclose(got[1, :2], by_hand(encoder, short).transpose(0, 1), atol=1e-5)
    assert not got[1, 2:].any()


def test_the_feature_cache_hits_for_the_same_text_and_encoder_and_misses_otherwise(encoder, tmp_path, monkeypatch):
    sentences = [s.words for s in read_conllu(SAMPLE / "dev.conllu")]
    first = TransformerInput(encoder)
    assert cached_features(first, sentences, tmp_path) is False  # computed and written
    assert len(list(tmp_path.glob("*.safetensors"))) == 1
    second = TransformerInput(encoder)
    monkeypatch.setattr(second, "encode", lambda *a: pytest.fail("a cache hit runs no encoder"))
    assert cached_features(second, sentences, tmp_path) is True
    assert all(torch.equal(first.features[k], second.features[k]) for k in first.features)
    monkeypatch.undo()
    assert cached_features(TransformerInput(encoder), sentences[:-1], tmp_path) is False  # other text: a miss
    assert cached_features(TransformerInput(encoder, "mean"), sentences, tmp_path) is False  # other pooling too
    assert len(list(tmp_path.glob("*.safetensors"))) == 3
    with torch.no_grad():  # what the cache holds is what the encoder gives (in half precision)
        direct = first.encode([sentences[0]], len(sentences[0]))[0]
    assert torch.allclose(first.features[tuple(sentences[0])].float(), direct, atol=1e-2)


def transformer_config(encoder, tmp_path, freeze: bool, **train):
    config = tiny_config(**train)
    config.model.chars = "none"  # the words and the transformer only
    config.model.transformer.path, config.model.transformer.freeze = str(encoder), freeze
    config.model.transformer.lr, config.model.transformer.warmup = 1e-3, 5
    config.train.feature_cache = str(tmp_path / "cache")
    return config


@pytest.mark.parametrize("freeze", [True, False])
def test_a_model_with_a_transformer_overfits_saves_and_reloads(encoder, tmp_path, freeze):
    config = transformer_config(encoder, tmp_path, freeze, epochs=12, lr=0.03)
    trainer = Trainer(config, tmp_path / "model", progress=False)
    before = transformers.AutoModel.from_pretrained(str(encoder)).state_dict()
    state = trainer.fit()
    first, last = state["history"][0]["loss"], state["history"][-1]["loss"]
    assert all(last[t] < 0.6 * first[t] for t in first), (first, last)  # it learns
    weights = list(load_file(tmp_path / "model" / "weights.safetensors"))
    encoder_keys = [k for k in weights if k.startswith("embed.transformer.encoder.")]
    assert "embed.transformer.mix.weights" in weights
    tuned = trainer.model.embed.transformer.encoder.state_dict()
    if freeze:  # the encoder is read from its directory, not saved, and did not move
        assert not encoder_keys and all(torch.equal(tuned[k], before[k]) for k in before)
        assert list((tmp_path / "cache").glob("*.safetensors"))
    else:  # fine-tuned: saved with the model, and moved
        assert len(encoder_keys) == len(before) and any(not torch.equal(tuned[k], before[k]) for k in before)
        assert trainer.optimizer.param_groups[1]["name"] == "encoder" and trainer.steps == state["steps"] > 5
    save_model(trainer.model, config, trainer.vocabs, tmp_path / "last")
    save_model(trainer.model, config, trainer.vocabs, tmp_path / "carried", copy_encoder=True)
    copied = {p.name for p in (tmp_path / "carried" / "encoder").iterdir()}
    assert ("model.safetensors" in copied) == freeze  # a fine-tuned encoder's weights are the model's own
    dev = read_conllu(SAMPLE / "dev.conllu")
    trained = [(s.upos, s.heads, s.chunks) for s in Predictor(trainer.model, trainer.vocabs)(dev)]
    for directory in ("last", "carried"):  # reloaded: features computed on the fly, not read from the cache
        model, _, vocabs = load_model(tmp_path / directory)
        assert [(s.upos, s.heads, s.chunks) for s in Predictor(model, vocabs)(dev)] == trained


def test_a_model_refuses_another_encoder_and_a_package_carries_its_own(encoder, tmp_path):
    import spacy

    from hierarchy.package import package_model

    copy = tmp_path / "encoder"
    shutil.copytree(encoder, copy)
    config = transformer_config(copy, tmp_path, True, epochs=1)
    Trainer(config, tmp_path / "model", progress=False).fit()
    package_model(tmp_path / "model", tmp_path / "package")
    assert {p.name for p in (tmp_path / "package" / "hierarchy" / "encoder").iterdir()} >= {
        "config.json", "model.safetensors", "tokenizer.json"}
    text = "The cat sat on the mat."
    before = [(t.pos_, t.head.i) for t in spacy.load(tmp_path / "package")(text)]
    weights = copy / "model.safetensors"
    original = weights.read_bytes()
    tensors = load_file(weights)
    tensors["embeddings.word_embeddings.weight"] += 1.0  # the same config, other weights
    save_file(tensors, weights, metadata={"format": "pt"})
    with pytest.raises(ConfigError, match=r"trained with the transformer .*\(weights sha256"):
        load_model(tmp_path / "model")
    weights.write_bytes(original)
    settings = json.loads((copy / "config.json").read_text())
    settings["hidden_dropout_prob"] = 0.2  # another encoder, as far as the model can tell
    (copy / "config.json").write_text(json.dumps(settings))
    with pytest.raises(ConfigError, match="trained with the transformer .* but this directory holds"):
        load_model(tmp_path / "model")
    shutil.rmtree(copy)
    with pytest.raises(ConfigError, match="transformer encoder .* was not found"):
        load_model(tmp_path / "model")
    assert [(t.pos_, t.head.i) for t in spacy.load(tmp_path / "package")(text)] == before  # its own copy


def test_a_directory_that_is_no_model_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not a Hugging Face model directory"):
        TransformerInput(tmp_path)


@pytest.mark.parametrize("freeze", [True, False])
def test_int8_quantizes_the_encoder_and_annotates_close_to_fp32(encoder, tmp_path, freeze):
    """precision="int8": the encoder's linear layers become dynamically quantized ones (frozen or fine-tuned, in
    place, once), the hierarchy's own layers stay fp32, and the labels stay nearly all as in fp32."""
    import hierarchy

    config = transformer_config(encoder, tmp_path, freeze, epochs=6, lr=0.03)
    Trainer(config, tmp_path / "model", progress=False).fit()
    sentences = read_conllu(SAMPLE / "dev.conllu")
    fp32 = hierarchy.load(tmp_path / "model", device="cpu").annotate(sentences)
    small = hierarchy.load(tmp_path / "model", device="cpu", precision="int8")
    int8 = small.annotate(sentences)
    quantized = lambda module: [m for m in module.modules() if type(m).__module__.startswith("torch.ao.nn")]  # noqa
    assert quantized(small.model.embed.transformer.encoder) and small.model.quantized
    assert not quantized(small.model.tasks)
    n = sum(map(len, sentences))
    for field in ("upos", "heads"):
        same = sum(x == y for a, b in zip(fp32, int8) for x, y in zip(getattr(a, field), getattr(b, field)))
        assert same / n > 0.9, field
    assert small.annotate(sentences) == int8

