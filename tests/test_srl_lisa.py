"""The LISA recipe: attention layers, the syntax head and its injected parse, mixed stacks, bad config."""
import dataclasses

import pytest
import torch
from conftest import ROOT, SAMPLE, gold_specs
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core.batching import make_batch
from hierarchy.core.config import LayerConfig, load_config
from hierarchy.core.model import Hierarchy
from hierarchy.core.persistence import load_model
from hierarchy.core.predict import annotate, score
from hierarchy.core.vocab import Vocabs
from hierarchy.io import read_srl
from hierarchy.io.errors import ConfigError
from hierarchy.modules import AttentionLayer
from hierarchy.tasks import TASKS
from hierarchy.training import Trainer


def tiny_lisa(**train):
    """models/lisa.toml with dimensions 4-16, on the first sentences of the sample SRL file."""
    config = load_config(ROOT / "models" / "lisa.toml", [f"{k}={v}" for k, v in
                                                          {"train.epochs": 40, "train.lr": 1e-2, **train}.items()])
    for key in ("pos", "deps", "srl"):
        setattr(config.data, key, str(SAMPLE / "srl-train.conllu"))
        setattr(config.data, f"{key}_dev", str(SAMPLE / "srl-train.conllu"))
    config.data.max_sentences = 3
    config.train.device, config.train.batch_tokens = "cpu", 100
    config.model = dataclasses.replace(config.model, word_dim=16, char_dim=4, char_size=6, label_dim=4, mlp_dim=16,
                                       arc_dim=8, rel_dim=16, dropout=0.0, word_dropout=0.0)
    for layer in config.model.layers:
        layer.size, layer.heads = 16, 2
    return config


def test_injected_parse_replaces_the_syntax_heads_attention_exactly():
    torch.manual_seed(0)
    layer = AttentionLayer(6, 8, 2, syntax_head=True).eval()
    x = torch.randn(2, 4, 6)
    mask = torch.tensor([[True, True, True, True], [True, True, True, False]])
    inject = torch.tensor([[1, 1, 1, 2], [2, 0, 2, 0]])  # word 1 is the root (attends to itself) in both
    _, _, own, s_arc = layer.attend(x, mask)
    _, _, probs, s_arc_injected = layer.attend(x, mask, inject)
    expected = torch.zeros(2, 4, 4)
    expected[torch.arange(2)[:, None], torch.arange(4)[None, :], inject] = 1.0
    assert torch.equal(probs[:, 0], expected)  # head 0 attends to exactly the given head
    assert torch.equal(probs[:, 1:], own[:, 1:])  # the other heads are untouched
    assert torch.equal(s_arc, s_arc_injected)  # the parser's own scores do not change
    torch.testing.assert_close(own[:, 0], s_arc.masked_fill(~mask[:, None, :], float("-inf")).softmax(-1))
    assert (own[1, :, :, 3] == 0).all()  # padding is never attended to
    h, _ = layer(x, mask, inject)
    assert not torch.allclose(h, layer(x, mask)[0]) and (h[1, 3] == 0).all()


def test_injection_reaches_the_layers_above_the_syntax_head_only():
    config = tiny_lisa()
    sentences = read_srl(SAMPLE / "srl-train.conllu")[:3]
    vocabs = Vocabs.build({"pos": sentences, "deps": sentences, "srl": sentences}, 1)
    torch.manual_seed(0)
    model = Hierarchy(config.model, vocabs).eval()
    specs = gold_specs(vocabs)
    plain = make_batch(sentences, vocabs, specs=specs)
    injected = make_batch(sentences, vocabs, inject=TASKS["deps"].inject, specs=specs)
    assert injected.inject[0].tolist()[: len(sentences[0])] == [1, 4, 3, 1, 4, 6, 4, 8, 4, 4]  # root word 5 -> 4
    with torch.no_grad():
        a, b = model(plain, ["deps", "srl"]), model(injected, ["deps", "srl"])
    assert torch.equal(a["pos"]["upos"], b["pos"]["upos"])  # below: the same
    assert torch.equal(a["deps"]["s_arc"], b["deps"]["s_arc"])  # the syntax head's own arc scores: the same
    assert not torch.allclose(a["srl"]["role_arg"], b["srl"]["role_arg"])  # above: changed


def test_lisa_overfits_saves_reloads_and_batches(tmp_path):
    config = tiny_lisa()
    trainer = Trainer(config, tmp_path / "lisa", progress=False)
    state = trainer.fit()
    assert state["best_dev"]["srl"]["srl"]["f1"] == 100.0
    assert state["best_dev"]["predicates"]["predicates"]["predicate_f1"] == 100.0
    gold = trainer.dev_data["srl"]
    model, _, vocabs = load_model(tmp_path / "lisa")
    predicted = annotate(model, vocabs, gold)
    assert score("srl", predicted, gold, vocabs)["srl"].score == 1.0
    assert [p.heads for p in predicted] == [p.heads for p in annotate(trainer.model, vocabs, gold)]
    one_by_one = [annotate(model, vocabs, [s])[0] for s in gold]
    assert [(p.roles, p.heads, p.upos) for p in one_by_one] == [(p.roles, p.heads, p.upos) for p in predicted]
    with_gold = annotate(model, vocabs, gold, inject=[s.heads for s in gold])
    assert [p.heads for p in with_gold] == [p.heads for p in predicted]  # deps are the model's own either way
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "lisa"), "--srl", str(SAMPLE / "srl-dev.conllu"),
                                      "--inject-parse", "gold", "--json"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "lisa"), "--srl", str(SAMPLE / "srl-dev.conllu"),
                                      "--inject-parse", str(SAMPLE / "dev.conllu")])
    assert result.exit_code == 2 and "12 sentences, but" in result.stderr


def test_srl_labels_the_predicates_found_below():
    """With a ``predicates`` task below, the SRL head has no predicate classifier of its own: it labels the roles
    of the words the lower task marks, and its senses are that task's."""
    config = tiny_lisa()
    sentences = read_srl(SAMPLE / "srl-train.conllu")[:2]
    vocabs = Vocabs.build({"pos": sentences, "deps": sentences, "srl": sentences}, 1)
    torch.manual_seed(0)
    model = Hierarchy(config.model, vocabs).eval()
    assert model.depth["predicates"] == 0 and model.tasks["srl"].predicate is None
    assert not any(".predicate." in name or name.startswith("tasks.srl.mlp") for name, _ in model.named_parameters()
                   if name.startswith("tasks.srl."))
    with torch.no_grad():
        predicates = model.tasks["predicates"].predicate.bias
        predicates.copy_(torch.tensor([1e4, -1e4]))  # nothing below is a predicate: no frames above
        batch = make_batch(sentences, vocabs, specs=gold_specs(vocabs))
        none = model.tasks["srl"].decode(model(batch, ["srl"])["srl"], batch)
        predicates.copy_(torch.tensor([-1e4, 1e4]))  # every word is
        scores = model(batch, ["srl"])
        every = model.tasks["srl"].decode(scores["srl"], batch)
    assert none["roles"] == [[], []] and all(sense == -1 for row in none["senses"] for sense in row)
    assert [len(frames) for frames in every["roles"]] == [len(s) for s in sentences]
    assert every["senses"] == model.tasks["predicates"].decode(scores["predicates"], batch)["senses"]


def test_mixed_stack_and_bad_config():
    config = tiny_lisa()
    config.model.layers[0].encoder = "bilstm"  # a BiLSTM below attention layers
    sentences = read_srl(SAMPLE / "srl-train.conllu")[:2]
    vocabs = Vocabs.build({"pos": sentences, "deps": sentences, "srl": sentences}, 1)
    model = Hierarchy(config.model, vocabs)
    assert model(make_batch(sentences, vocabs, specs=gold_specs(vocabs)), ["srl"])["srl"]["s_pred"].shape[:2] == (2, max(map(len, sentences)))
    for change, message in [
        (lambda c: setattr(c.model.layers[0], "encoder", "gru"), "unknown encoder 'gru'"),
        (lambda c: setattr(c.model.layers[1], "heads", 3), "size 16 must be a multiple of heads 3"),
        (lambda c: setattr(c.model.layers[2], "encoder", "bilstm"), "layers\\[2\\]: syntax_head needs encoder"),
        (lambda c: (c.model.layers[0].tasks.remove("predicates"), c.model.layers[3].tasks.append("predicates")),
         "task 'predicates' must sit in a layer below 'srl'"),
        (lambda c: (c.model.layers[1].tasks.append("deps"), c.model.layers[2].tasks.clear()),
         "layers\\[2\\]: syntax_head needs encoder = \"attention\" and a task that takes arcs \\(deps"),
    ]:
        config = tiny_lisa()
        change(config)
        with pytest.raises(ConfigError, match=message):
            config.validate("lisa.toml")


def test_lisa_recipe_loads():
    config = load_config(ROOT / "models" / "lisa.toml")
    assert [layer.encoder for layer in config.model.layers] == ["attention"] * 4
    assert [layer.syntax_head for layer in config.model.layers] == [False, False, True, False]
    assert config.tasks() == ["pos", "predicates", "deps", "srl"] and isinstance(config.model.layers[0], LayerConfig)
