"""Sluice-style mixing: a layer with ``mix`` gives its tasks a learned softmax-weighted mix of its states and those
of every layer below (issue 15)."""
import json

import pytest
import torch
from conftest import SAMPLE, gold_specs, tiny_config

from hierarchy.core.batching import make_batch
from hierarchy.core.model import Hierarchy
from hierarchy.core.vocab import Vocabs
from hierarchy.inspect import report
from hierarchy.io import read_conll2000, read_conllu
from hierarchy.io.errors import ConfigError
from hierarchy.training import Trainer


@pytest.fixture(scope="module")
def data():
    sentences = read_conllu(SAMPLE / "train.conllu")[:6]
    chunks = read_conll2000(SAMPLE / "chunks-train.txt")[:6]
    return sentences, Vocabs.build({"pos": sentences, "deps": sentences, "chunks": chunks}, min_freq=1)


def model(vocabs, mix: bool) -> Hierarchy:
    config = tiny_config().model
    config.layers[2].mix = mix
    torch.manual_seed(0)
    return Hierarchy(config, vocabs)


def test_the_mix_shares_sum_to_one_and_learn(data):
    sentences, vocabs = data
    mixed = model(vocabs, mix=True)
    batch = make_batch(sentences, vocabs, specs=gold_specs(vocabs))
    scores = mixed(batch, ["deps"])
    mixed.tasks["deps"].loss(scores["deps"], batch).backward()
    mix = mixed.mixes["2"]
    assert sum(mix.shares()) == pytest.approx(1) and len(mix.shares()) == 3
    assert mix.weights.grad.abs().sum() > 0 and mix.gamma.grad is not None
    assert list(mixed.mix_shares()) == ["deps"]


def test_a_one_hot_mix_reads_the_own_layer(data):
    sentences, vocabs = data
    plain, mixed = model(vocabs, mix=False).eval(), model(vocabs, mix=True).eval()
    with torch.no_grad():
        mixed.mixes["2"].weights.copy_(torch.tensor([-1e4, -1e4, 0.0]))  # all of beta on layer 2, gamma 1
    batch = make_batch(sentences, vocabs)
    a, b = plain(batch, ["deps"])["deps"], mixed(batch, ["deps"])["deps"]
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    with torch.no_grad():
        mixed.mixes["2"].weights.copy_(torch.tensor([0.0, -1e4, -1e4]))  # all on layer 0: other scores
    assert not torch.allclose(mixed(batch, ["deps"])["deps"]["s_arc"], a["s_arc"])


def test_mixing_layers_of_other_sizes_is_refused(data):
    config = tiny_config().model
    config.layers[1].size, config.layers[2].mix = 6, True
    with pytest.raises(ConfigError, match=r"model.layers\[2\]: mix reads layers 0-2, whose outputs differ in size"):
        Hierarchy(config, data[1])


def test_training_logs_plots_and_inspect_prints_the_mix(tmp_path):
    config = tiny_config(epochs=2)
    config.model.layers[2].mix = True
    Trainer(config, tmp_path / "m", progress=False).fit()
    history = [json.loads(line) for line in (tmp_path / "m" / "log.jsonl").read_text().splitlines()]
    assert [len(line["mix"]["deps"]) for line in history] == [3, 3]
    assert (tmp_path / "m" / "mix.png").stat().st_size > 10_000
    assert "deps reads layers 0 " in report(tmp_path / "m")
