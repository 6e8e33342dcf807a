"""The Python API: ``hierarchy.load(dir)`` gives a Pipeline whose ``annotate`` takes Sentences, word lists and texts
and whose ``pairs`` scores sentence pairs; errors for a missing directory and a model without pair layers; the
dependency decoder gives the label ``root`` to the word under ROOT and to no other word."""
import copy
import dataclasses
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import ROOT, SAMPLE, needs_bf16, tiny_pair_config

import hierarchy
from hierarchy.io import Pair, Sentence, read_conllu, read_pairs
from hierarchy.io.errors import ConfigError
from hierarchy.io.pairs import LABELS, tokenize
from hierarchy.io.spans import repair_bio
from hierarchy.pipeline import Pipeline
from hierarchy.tasks import Context
from hierarchy.tasks.decoding import is_tree
from hierarchy.tasks.dependency import DependencyHead
from hierarchy.training import Trainer

TEXTS = ["The cat sat on the mat.", "A dog isn't running in the park today, is it?", "Go!"]


@pytest.fixture(scope="module")
def pair_model(tmp_path_factory):
    """A tiny model with all five tasks (POS, chunks, deps, relatedness, entailment), trained for 2 epochs."""
    out = tmp_path_factory.mktemp("pipeline") / "tiny-pairs"
    Trainer(tiny_pair_config(epochs=2), out, progress=False).fit()
    return out


@pytest.fixture(scope="module")
def nlp(pair_model):
    return hierarchy.load(pair_model, device="cpu")


def check_annotated(sentence: Sentence, words: list[str], vocabs):
    """All three sentence layers predicted, one label per word, from the model's vocabularies; a tree; BIO."""
    assert isinstance(sentence, Sentence) and sentence.words == words
    for field in ("upos", "xpos", "heads", "rels", "chunks"):
        values = getattr(sentence, field)
        assert values is not None and len(values) == len(words), field
        if field != "heads":
            assert set(values) <= set(vocabs.labels[field].itos), field
    assert is_tree(sentence.heads), sentence.heads
    assert repair_bio(sentence.chunks) == sentence.chunks, sentence.chunks


def check_root_label(sentences, vocabs):
    """Exactly the words attached to ROOT have the label ``root`` (when the model knows that label)."""
    assert "root" in vocabs.labels["rels"].stoi
    for s in sentences:
        assert [r == "root" for r in s.rels] == [h == 0 for h in s.heads], (s.words, s.heads, s.rels)


# --- loading ---

def test_load_gives_a_pipeline(nlp, pair_model):
    assert isinstance(nlp, Pipeline)
    assert list(nlp.model.depth) == ["pos", "chunks", "deps", "relatedness", "entailment"]
    assert nlp.config.model == tiny_pair_config().model
    assert nlp.device == torch.device("cpu") and not nlp.model.training
    default = hierarchy.load(pair_model)  # device "auto"
    assert default.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_missing_directory(tmp_path):
    with pytest.raises(ConfigError, match="model directory not found") as error:
        hierarchy.load(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(error.value)
    (tmp_path / "file").write_text("not a model")
    with pytest.raises(ConfigError, match="model directory not found"):
        hierarchy.load(tmp_path / "file")
    with pytest.raises(ConfigError, match="config.toml"):
        hierarchy.load(tmp_path)  # a directory, but no model in it


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu(pair_model):
    with pytest.raises(ConfigError, match="no CUDA device"):
        hierarchy.load(pair_model, device="cuda")


def test_import_does_not_load_torch():
    code = "import sys, hierarchy; assert callable(hierarchy.load); assert 'torch' not in sys.modules, 'torch'"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# --- annotate ---

def test_annotate_sentences_word_lists_and_texts(nlp):
    gold = read_conllu(SAMPLE / "dev.conllu")[:3]
    kept = copy.deepcopy(gold)
    words = ["Dogs", "bark", "at", "the", "old", "postman", "."]
    inputs = [gold[0], TEXTS[0], words, tuple(words[:2]), gold[1], TEXTS[1], gold[2], TEXTS[2]]
    out = nlp.annotate(inputs)
    expected_words = [gold[0].words, tokenize(TEXTS[0]), words, words[:2], gold[1].words, tokenize(TEXTS[1]),
                      gold[2].words, tokenize(TEXTS[2])]
    assert len(out) == len(inputs)
    for sentence, w in zip(out, expected_words):
        check_annotated(sentence, w, nlp.vocabs)
    assert gold == kept  # the input Sentences are copied, not changed
    assert out[0].source == gold[0].source and out[0].meta is gold[0].meta  # ... and keep their other fields
    # a text, its words and a Sentence of them are annotated alike
    (from_text,) = nlp.annotate([TEXTS[1]])
    assert from_text.meta.metadata["text"] == TEXTS[1]
    assert dataclasses.replace(from_text, meta=None) == nlp.annotate([tokenize(TEXTS[1])])[0] == \
        nlp.annotate([Sentence(tokenize(TEXTS[1]))])[0] == nlp.annotate([TEXTS[1]], split=False)[0]
    assert nlp.annotate(iter([words])) == nlp.annotate([words])  # any iterable
    assert nlp.annotate([]) == []


def test_annotate_splits_a_text_into_sentences_as_the_command_line_does(nlp):
    out = nlp.annotate(["Two sentences. In one string.", "Go!"])
    assert [s.words for s in out] == [["Two", "sentences", "."], ["In", "one", "string", "."], ["Go", "!"]]
    assert [s.meta.metadata["text"] for s in out] == ["Two sentences.", "In one string.", "Go!"]
    (whole,) = nlp.annotate(["Two sentences. In one string."], split=False)
    assert whole.words == ["Two", "sentences", ".", "In", "one", "string", "."] and whole.heads.count(0) == 1


def test_annotate_batched_equals_one_by_one(nlp):
    sentences = read_conllu(SAMPLE / "dev.conllu") + [Sentence(tokenize(t)) for t in TEXTS]
    assert len({len(s) for s in sentences}) > 3  # a big batch really pads
    one_by_one = [nlp.annotate([s])[0] for s in sentences]
    for batch_tokens in (100_000, 30):
        assert nlp.annotate(sentences, batch_tokens=batch_tokens) == one_by_one, batch_tokens


def annotated_close_to_fp32(nlp, other, share: float) -> list:
    """``other`` (a Pipeline at another precision) annotates the sample sentences well-formed, with at least
    ``share`` of each layer's labels as ``nlp`` (fp32) gives them; its annotations."""
    sentences = read_conllu(SAMPLE / "dev.conllu") + read_conllu(SAMPLE / "train.conllu")
    fp32, out = nlp.annotate(sentences), other.annotate(sentences)
    for s, words in zip(out, sentences):
        check_annotated(s, words.words, other.vocabs)
    n = sum(map(len, sentences))
    for field in ("upos", "xpos", "heads", "rels", "chunks"):
        same = sum(x == y for a, b in zip(fp32, out) for x, y in zip(getattr(a, field), getattr(b, field)))
        assert same / n > share, field
    return out


def test_int8_needs_a_transformer_input(pair_model):
    with pytest.raises(ConfigError, match="precision int8 quantizes a transformer input's linear layers, and this "
                                          "model has none"):
        hierarchy.load(pair_model, device="cpu", precision="int8").annotate(["A dog barks."])


@needs_bf16
def test_bf16_annotates_close_to_fp32(pair_model, nlp):
    """precision="bf16" on the CPU: every layer well-formed, labels nearly all as in fp32 (bf16 rounding flips a
    few close calls, and batches of other shapes round otherwise, so it is not exactly batch-invariant)."""
    fast = hierarchy.load(pair_model, device="cpu", precision="bf16")
    annotated_close_to_fp32(nlp, fast, 0.95)
    pairs = read_pairs(SAMPLE / "pairs-dev.txt")
    for a, b in zip(nlp.pairs(pairs), fast.pairs(pairs)):
        assert abs(a["relatedness"] - b["relatedness"]) < 0.1
    with pytest.raises(ConfigError, match="precision must be one of auto, bf16, fp32, int8, not 'fp16'"):
        hierarchy.load(pair_model, device="cpu", precision="fp16")


def test_annotate_word_labels_are_root_only_under_root(nlp, trained_model):
    sentences = read_conllu(SAMPLE / "dev.conllu") + read_conllu(SAMPLE / "train.conllu")
    check_root_label(nlp.annotate(sentences + TEXTS), nlp.vocabs)
    other = hierarchy.load(trained_model, device="cpu")  # the three-layer model as well
    check_root_label(other.annotate(sentences + TEXTS), other.vocabs)


# --- the root label in the decoder itself ---

def decode_with_bias(task: DependencyHead, bias: torch.Tensor, lens=(4, 2, 6)):
    """Decode random scores for a batch of ``lens`` words, the label bias set to ``bias``."""
    torch.manual_seed(0)
    n = max(lens)
    mask = torch.arange(n)[None, :] < torch.tensor(lens)[:, None]
    batch = SimpleNamespace(mask=mask, lens=torch.tensor(lens))
    with torch.no_grad():
        task.rel_attn.bias.copy_(bias)
        scores = task(Context(batch, torch.randn(len(lens), n, 8)))
        return task.decode(scores, batch)


@pytest.mark.parametrize("root_bias", [1e4, -1e4, 0.0])
def test_decode_gives_root_to_the_root_word_only(root_bias):
    """However the label scorer rates ``root`` (here: index 2 of 5), only the word under ROOT gets it."""
    task = DependencyHead(8, 5, 6, 4, 0.0, root=2).eval()
    bias = torch.zeros(5)
    bias[2] = root_bias
    decoded = decode_with_bias(task, bias)
    for heads, rels in zip(decoded["heads"], decoded["rels"]):
        assert is_tree(heads)
        assert [r == 2 for r in rels] == [h == 0 for h in heads], (heads, rels)


def test_decode_without_a_root_label_takes_the_best_label():
    """A model whose label vocabulary has no ``root`` (``root=None``) keeps plain argmax labels."""
    task = DependencyHead(8, 5, 6, 4, 0.0).eval()
    decoded = decode_with_bias(task, torch.tensor([0.0, 0.0, 1e4, 0.0, 0.0]))
    assert all(r == 2 for rels in decoded["rels"] for r in rels)


# --- pairs ---

def check_pair_prediction(p: dict):
    assert set(p) == {"label", "probabilities", "relatedness"}
    assert list(p["probabilities"]) == list(LABELS)  # ENTAILMENT, NEUTRAL, CONTRADICTION
    assert all(0 <= v <= 1 for v in p["probabilities"].values())
    assert sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert p["label"] == max(p["probabilities"], key=p["probabilities"].get)
    assert isinstance(p["relatedness"], float) and 1 <= p["relatedness"] <= 5


def test_pairs_from_texts_word_lists_and_pairs(nlp):
    gold = read_pairs(SAMPLE / "pairs-dev.txt")[:2]
    items = [("A man is playing a guitar.", "A person plays music."),
             (["A", "dog", "runs"], ["A", "dog", "is", "moving"]),
             gold[0],
             (Sentence(["Nobody", "sings"]), "A woman is singing loudly on a stage in the park."),
             gold[1]]
    out = nlp.pairs(items)
    assert len(out) == len(items)
    for p in out:
        check_pair_prediction(p)
    for k, pair in ((2, gold[0]), (4, gold[1])):  # in order (batched, the floats may differ in the last bits)
        alone = nlp.pairs([pair])[0]
        assert out[k]["label"] == alone["label"] and out[k]["relatedness"] == pytest.approx(alone["relatedness"])
        assert out[k]["probabilities"] == pytest.approx(alone["probabilities"])
    text = ("A man is playing a guitar.", "A person plays music.")
    assert nlp.pairs([text]) == nlp.pairs([tuple(tokenize(t) for t in text)])
    assert nlp.pairs([]) == []
    with pytest.raises(ValueError, match="empty"):
        nlp.pairs([("A dog.", " ")])


def test_pairs_batched_equals_one_by_one(nlp):
    pairs = read_pairs(SAMPLE / "pairs-dev.txt") + read_pairs(SAMPLE / "pairs-train.txt")[:8]
    assert len({max(len(p.premise), len(p.hypothesis)) for p in pairs}) > 3  # a big batch really pads
    one_by_one = [nlp.pairs([p])[0] for p in pairs]
    for batch_tokens in (100_000, 40):
        for many, alone in zip(nlp.pairs(pairs, batch_tokens=batch_tokens), one_by_one):
            assert many["label"] == alone["label"]
            assert many["relatedness"] == pytest.approx(alone["relatedness"], abs=1e-5)
            assert list(many["probabilities"].values()) == pytest.approx(list(alone["probabilities"].values()), abs=1e-5)


def test_pairs_leave_the_pair_objects_alone(nlp):
    pairs = read_pairs(SAMPLE / "pairs-dev.txt")[:3]
    kept = copy.deepcopy(pairs)
    nlp.pairs(pairs)
    assert pairs == kept and all(isinstance(p, Pair) for p in pairs)


def test_pairs_without_pair_layers(trained_model):
    nlp = hierarchy.load(trained_model, device="cpu")
    assert "relatedness" not in nlp.model.depth
    with pytest.raises(ConfigError, match="no sentence-pair layer"):
        nlp.pairs([("A dog runs.", "A dog moves.")])
    (sentence,) = nlp.annotate(["A dog runs."])  # the sentence layers still work
    check_annotated(sentence, ["A", "dog", "runs", "."], nlp.vocabs)
