"""Shared fixtures: a tiny recipe (dimensions 2-8) over the sample corpora in data/, and a model trained on it once."""
from pathlib import Path

import pytest
import torch

from hierarchy.core.config import Config, DataConfig, LayerConfig, ModelConfig, TrainConfig
from hierarchy.core.predict import cpu_runs_bf16

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
CORPORA = ROOT.parent / "shared" / "corpora"

# bf16 on the CPU needs AVX512-BF16 or AMX (oneDNN's bf16 LSTM raises elsewhere)
needs_bf16 = pytest.mark.skipif(not cpu_runs_bf16(), reason="this CPU cannot run bf16 LSTMs (no AVX512-BF16 or AMX)")


def tiny_config(**train) -> Config:
    """A recipe small enough to train, save and reload inside a unit test."""
    data = DataConfig(
        pos=str(SAMPLE / "train.conllu"), pos_dev=str(SAMPLE / "dev.conllu"),
        chunks=str(SAMPLE / "chunks-train.txt"), chunks_dev=str(SAMPLE / "chunks-dev.txt"),
        deps=str(SAMPLE / "train.conllu"), deps_dev=str(SAMPLE / "dev.conllu"),
    )
    model = ModelConfig(
        word_dim=8, char_dim=4, char_size=6, min_freq=1, label_dim=4, mlp_dim=8, arc_dim=8, rel_dim=6,
        dropout=0.0, word_dropout=0.0,
        layers=[LayerConfig(size=8, tasks=["pos"]), LayerConfig(size=8, tasks=["chunks"]), LayerConfig(size=8, tasks=["deps"])],
    )
    options = dict(epochs=2, patience=5, batch_tokens=100, lr=1e-2, delta=1e-3, seed=1, device="cpu")
    options.update(train)
    return Config(data=data, model=model, train=TrainConfig(**options))


def tiny_pair_config(**train) -> Config:
    """:func:`tiny_config` with JMT's two sentence-pair layers on top: relatedness (layer 4), entailment (layer 5)."""
    config = tiny_config(**train)
    config.data.pairs, config.data.pairs_dev = str(SAMPLE / "pairs-train.txt"), str(SAMPLE / "pairs-dev.txt")
    config.model.layers += [LayerConfig(size=8, tasks=["relatedness"]), LayerConfig(size=8, tasks=["entailment"])]
    return config


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and the test machine's cores are shared."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory):
    """A model directory trained for a few epochs on the sample data (shared by the tests that only read it)."""
    from hierarchy.training import Trainer

    out = tmp_path_factory.mktemp("model") / "tiny"
    Trainer(tiny_config(epochs=3), out, progress=False).fit()
    return out


@pytest.fixture(scope="session")
def coref_model(tmp_path_factory):
    """Mentions and coreference over the first two sample documents (train and dev alike), dropout 0, given enough
    epochs to know them."""
    config = tiny_config(epochs=70, patience=70, lr=0.02, batch_tokens=200, score_weights={"mentions": 0.0})
    train = str(SAMPLE / "mentions-train.conllu")
    config.data.mentions = config.data.mentions_dev = config.data.coref = config.data.coref_dev = train
    config.data.max_sentences = 2
    config.model.layers = [LayerConfig(size=16, tasks=["mentions"]), LayerConfig(size=16, tasks=["coref"])]
    config.model.mlp_dim, config.model.span_width, config.model.span_ratio = 32, 8, 0.5
    out = tmp_path_factory.mktemp("coref") / "model"
    from hierarchy.training import Trainer

    Trainer(config, out, progress=False).fit()
    return out


def gold_specs(vocabs, unit: str = "sentence") -> list:
    """The specs of every task over ``unit`` whose label tables ``vocabs`` has: a batch built with them carries
    every gold tensor the model's heads read."""
    from hierarchy.tasks import TASKS

    return [s for s in TASKS.values() if s.unit == unit and s.labels([]).keys() <= vocabs.labels.keys()]
