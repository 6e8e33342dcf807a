"""Per-layer regularization (each ``[[model.layers]]`` table's dropout, word dropout and head dropouts) and weight
averaging (``train.ema``: scored on dev beside the weights, saved when higher, checkpointed)."""
import json

import pytest
import torch
from conftest import SAMPLE, gold_specs, tiny_config
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

import hierarchy.training.loop
from hierarchy.core.batching import make_batch
from hierarchy.core.config import LayerConfig
from hierarchy.core.model import Hierarchy
from hierarchy.core.persistence import save_tensors
from hierarchy.core.vocab import Vocabs
from hierarchy.io import read_conll2000, read_conllu
from hierarchy.io.errors import ConfigError
from hierarchy.modules.dropout import LockedDropout
from hierarchy.training import Trainer
from hierarchy.training.checkpoint import NAME as CHECKPOINT
from hierarchy.training.checkpoint import load_checkpoint
from hierarchy.training.ema import WeightAverage


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


def test_the_average_starts_after_its_warm_up_and_swaps_in_and_out_exactly():
    layer = nn.Linear(2, 1)
    layer.bias.requires_grad_(False)  # frozen: not averaged
    average = WeightAverage(layer, decay=0.5, start=1)
    assert set(average.state_dict()) == {"weight"}
    history = []
    for step, value in enumerate([1.0, 3.0, 5.0], 1):
        nn.init.constant_(layer.weight, value)
        average.update(step)
        history.append(average.shadow["weight"][0, 0].item())
    assert history == [1.0, 2.0, 3.5]  # step 1 (the warm-up) copies; then halfway to the weights each step
    own = layer.weight.detach().clone()
    with average.applied():
        assert torch.equal(layer.weight, torch.full((1, 2), 3.5))
    assert torch.equal(layer.weight, own)


def fake_scores(raw: float, ema: float):
    """A stand-in for the loop's ``task_score``: each epoch scores its 3 tasks with the weights, then with their
    average."""
    calls = []

    def score(task, metrics):
        calls.append(task)
        return raw if (len(calls) - 1) // 3 % 2 == 0 else ema
    return score


@pytest.mark.parametrize("raw, ema, saved", [(50.0, 60.0, "ema"), (60.0, 50.0, "raw"), (50.0, 50.0, "raw")])
def test_the_weights_or_their_average_whichever_scores_higher_is_saved(tmp_path, monkeypatch, raw, ema, saved):
    monkeypatch.setattr(hierarchy.training.loop, "task_score", fake_scores(raw, ema))
    config = tiny_config(epochs=1, ema=0.9)
    config.data.max_sentences = 6
    state = Trainer(config, tmp_path / "out", progress=False).fit()
    assert state["best"] == max(raw, ema) and state["history"][0]["ema_score"] == ema
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["best_weights"] == saved
    weights, checkpoint = load_file(tmp_path / "out" / "weights.safetensors"), load_file(tmp_path / "out" / CHECKPOINT)
    averaged = {k[4:] for k in checkpoint if k.startswith("ema.")}
    assert averaged and any(not torch.equal(checkpoint[f"ema.{k}"], checkpoint[f"model.{k}"]) for k in averaged)
    for name, tensor in weights.items():
        expected = f"ema.{name}" if saved == "ema" and name in averaged else f"model.{name}"
        assert torch.equal(tensor, checkpoint[expected]), name


def test_a_checkpoint_whose_average_does_not_fit_names_the_tensor(tmp_path):
    config = tiny_config(epochs=1, ema=0.9)
    config.data.max_sentences = 4
    out = tmp_path / "out"
    Trainer(config, out, progress=False).fit()
    with safe_open(str(out / CHECKPOINT), framework="pt") as f:
        meta = f.metadata()
    tensors = load_file(out / CHECKPOINT)
    name = next(k for k in tensors if k.startswith("ema."))
    tensors[name] = torch.zeros(3)
    save_tensors(tensors, out / CHECKPOINT, meta)
    config.train.epochs = 2
    with pytest.raises(ConfigError, match=rf"tensor '{name}' has shape \(3,\)"):
        Trainer(config, out, progress=False).fit(resume=True)
    config.train.ema = 0.0  # the average off: its tensors are not read
    assert Trainer(config, out, progress=False).fit(resume=True)["epoch"] == 2


def test_a_run_resumed_with_the_average_turned_on_starts_it_from_the_weights(tmp_path):
    config = tiny_config(epochs=1)
    config.data.max_sentences = 4
    out = tmp_path / "out"
    Trainer(config, out, progress=False).fit()
    config.train.epochs, config.train.ema = 2, 0.9
    trainer = Trainer(config, out, progress=False)
    trainer.build(resume=True)  # the average of the freshly built model's weights
    load_checkpoint(out, trainer.model, trainer.optimizer, trainer.average)
    weights = dict(trainer.model.named_parameters())
    assert all(torch.equal(tensor, weights[name]) for name, tensor in trainer.average.state_dict().items())
    state = Trainer(config, out, progress=False).fit(resume=True)
    assert "ema_score" not in state["history"][0] and "ema_score" in state["history"][1]
