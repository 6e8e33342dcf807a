"""Per-layer regularization: each ``[[model.layers]]`` table's dropout, word dropout and head dropouts."""
import pytest
import torch
from conftest import SAMPLE, gold_specs, tiny_config
from torch import nn

from hierarchy.core.batching import make_batch
from hierarchy.core.config import LayerConfig
from hierarchy.core.model import Hierarchy
from hierarchy.core.vocab import Vocabs
from hierarchy.io import read_conll2000, read_conllu
from hierarchy.modules.dropout import LockedDropout


@pytest.fixture(scope="module")
def sample():
    """A few sample sentences and vocabularies over them: ``(ud, vocabs)``."""
    ud, chunks = read_conllu(SAMPLE / "train.conllu")[:4], read_conll2000(SAMPLE / "chunks-train.txt")[:4]
    return ud, Vocabs.build({"pos": ud, "chunks": chunks, "deps": ud}, min_freq=1)


def rates(module: nn.Module) -> set[float]:
    """The rates of every dropout inside ``module``."""
    return {m.p for m in module.modules() if isinstance(m, (nn.Dropout, LockedDropout))}


def test_each_layer_and_head_drops_at_its_own_rate_else_the_global_one(sample):
    _, vocabs = sample
    config = tiny_config().model
    config.dropout = 0.3
    assert {p for module in Hierarchy(config, vocabs).modules() for p in rates(module)} == {0.3}  # nothing set
    config.layers[0] = LayerConfig(encoder="attention", size=8, heads=2, tasks=["pos"], dropout=0.2)
    config.layers[2].head_dropout = {"deps": 0.05}
    model = Hierarchy(config, vocabs)
    assert model.dropout.p == 0.3  # the embeddings'
    assert [d.p for d in model.layer_dropouts] == [0.2, 0.3, 0.3]  # on each layer's states
    assert rates(model.layers[0]) == {0.2}  # inside the attention block
    assert [rates(model.tasks[t]) for t in ("pos", "chunks", "deps")] == [{0.2}, {0.3}, {0.05}]


def test_a_forward_pass_drops_words_at_the_rate_of_its_tasks_layer(sample):
    """Layer 1 (POS) drops 90% of the words, layer 3 (dependencies) none: a training pass for the parser reads the
    words as evaluation does, one for the tagger does not."""
    ud, vocabs = sample
    config = tiny_config().model  # dropout 0: word dropout is the only noise
    config.layers[0].word_dropout = 0.9
    model = Hierarchy(config, vocabs)
    batch, seen = make_batch(ud, vocabs, specs=gold_specs(vocabs)), []
    model.embed.register_forward_hook(lambda module, inputs, output: seen.append(output.detach()))
    model.eval()
    model(batch, ["pos"])
    model.train()
    torch.manual_seed(0)
    model(batch, ["deps"])
    model(batch, ["pos"])
    evaluated, deps, pos = seen
    assert torch.equal(deps, evaluated) and not torch.equal(pos, evaluated)

