"""The Hierarchy model: overfit, save, reload, predict the same; batched equals one by one; well-formed outputs;
the documented shapes; the stack runs once; lower layers' predictions flow upward as label embeddings."""
import copy
import dataclasses

import pytest
import torch
from conftest import SAMPLE, gold_specs, needs_bf16, tiny_config

from hierarchy.core.batching import make_batch
from hierarchy.core.config import TrainConfig
from hierarchy.core.model import Hierarchy
from hierarchy.core.persistence import load_model, save_model
from hierarchy.core.predict import annotate
from hierarchy.core.vocab import Vocabs
from hierarchy.io import read_conll2000, read_conllu
from hierarchy.io.spans import repair_bio
from hierarchy.modules import BiLSTM
from hierarchy.tasks import TASKS
from hierarchy.tasks.decoding import is_tree
from hierarchy.training import make_optimizer

FIELDS = ("words", "upos", "xpos", "heads", "rels", "chunks")


@pytest.fixture(scope="module")
def sample():
    """Every sample sentence: ``(ud, chunks)``, train then dev."""
    ud = read_conllu(SAMPLE / "train.conllu") + read_conllu(SAMPLE / "dev.conllu")
    chunks = read_conll2000(SAMPLE / "chunks-train.txt") + read_conll2000(SAMPLE / "chunks-dev.txt")
    return ud, chunks


@pytest.fixture(scope="module")
def untrained(sample):
    """A freshly initialised tiny model with vocabularies over all the sample data: ``(model, vocabs)``."""
    ud, chunks = sample
    vocabs = Vocabs.build({"pos": ud, "chunks": chunks, "deps": ud}, min_freq=1)
    torch.manual_seed(0)
    return Hierarchy(tiny_config().model, vocabs).eval(), vocabs


@pytest.fixture(scope="module")
def overfit(sample):
    """A tiny model (dropout 0) trained on 3 dependency/POS sentences and 3 chunk sentences until it knows them:
    ``(model, config, vocabs, ud, chunks)``."""
    ud, chunks = sample[0][:3], sample[1][:3]
    config = tiny_config()
    vocabs = Vocabs.build({"pos": ud, "chunks": chunks, "deps": ud}, min_freq=1)
    torch.manual_seed(0)
    model = Hierarchy(config.model, vocabs)
    optimizer = make_optimizer(model.parameters(), TrainConfig(lr=0.05))
    specs = gold_specs(vocabs)
    ud_batch, chunk_batch = make_batch(ud, vocabs, specs=specs), make_batch(chunks, vocabs, specs=specs)
    for _ in range(40):
        scores = model(ud_batch, ["pos", "deps"])
        loss = model.tasks["pos"].loss(scores["pos"], ud_batch) + model.tasks["deps"].loss(scores["deps"], ud_batch)
        scores = model(chunk_batch, ["chunks"])
        loss = loss + model.tasks["chunks"].loss(scores["chunks"], chunk_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), config, vocabs, ud, chunks


def accuracy(predicted, gold, field: str) -> float:
    pairs = [(p, g) for ps, gs in zip(predicted, gold) for p, g in zip(getattr(ps, field), getattr(gs, field))]
    return sum(p == g for p, g in pairs) / len(pairs)


def rel_scores(model, scores, heads):
    """Label scores of each word at ``heads [batch_size, seq_len + 1]`` -> ``[batch_size, seq_len + 1, n_rels]``."""
    return model.tasks["deps"].rel_scores(scores["deps"], heads)


def fields(sentences):
    return [tuple(getattr(s, f) for f in FIELDS) for s in sentences]


def test_overfit_save_reload_predicts_the_same(overfit, sample, tmp_path):
    model, config, vocabs, ud, chunks = overfit
    predicted_ud, predicted_chunks = annotate(model, vocabs, ud), annotate(model, vocabs, chunks)
    for field in ("upos", "xpos", "heads", "rels"):
        assert accuracy(predicted_ud, ud, field) >= 0.9, field
    assert accuracy(predicted_chunks, chunks, "chunks") >= 0.9

    others = sample[0] + sample[1]  # sentences it never saw: predictions the model is unsure of
    before = annotate(model, vocabs, others)
    save_model(model, config, vocabs, tmp_path / "model")
    loaded, loaded_config, loaded_vocabs = load_model(tmp_path / "model")
    assert loaded_config == config and not loaded.training
    assert loaded_vocabs.to_json() == vocabs.to_json()
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert state.keys() == loaded_state.keys()
    assert all(torch.equal(state[k], loaded_state[k]) for k in state)
    assert fields(annotate(loaded, loaded_vocabs, ud)) == fields(predicted_ud)
    assert fields(annotate(loaded, loaded_vocabs, chunks)) == fields(predicted_chunks)
    assert fields(annotate(loaded, loaded_vocabs, others)) == fields(before)


def test_batched_equals_one_by_one(overfit, sample):
    model, _, vocabs, _, _ = overfit
    sentences = sample[0] + sample[1]
    batched = annotate(model, vocabs, sentences, batch_tokens=100_000)
    assert len({len(s) for s in sentences}) > 5  # the big batch really pads
    assert fields(batched) == fields([annotate(model, vocabs, [s])[0] for s in sentences])
    assert fields(annotate(model, vocabs, sentences, batch_tokens=40)) == fields(batched)


def test_annotate_keeps_order_inputs_and_empty_sentences(overfit, sample):
    model, _, vocabs, _, _ = overfit
    gold = sample[0][:4]
    empty = dataclasses.replace(gold[0], words=[], upos=None, xpos=None, heads=None, rels=None, meta=None)
    sentences = [gold[3], empty, gold[0], gold[2]]
    out = annotate(model, vocabs, sentences, tasks=["pos"])
    assert out[1] == empty
    assert [s.words for s in out] == [s.words for s in sentences]
    assert [s.source for s in out] == [s.source for s in sentences]
    assert all(p.heads == g.heads and p.rels == g.rels for p, g in zip(out, sentences))  # deps not asked for
    assert sample[0][0].upos == read_conllu(SAMPLE / "train.conllu")[0].upos  # inputs are not modified
    assert model.training is False


def test_scores_do_not_depend_on_padding(untrained, sample):
    model, vocabs = untrained
    sentences = sample[0][:6]
    batch = make_batch(sentences, vocabs, specs=gold_specs(vocabs))
    with torch.no_grad():
        together = model(batch, ["deps"])
        for i, s in enumerate(sentences):
            alone, n = model(make_batch([s], vocabs, specs=gold_specs(vocabs)), ["deps"]), len(s)
            for name in ("upos", "xpos"):
                torch.testing.assert_close(together["pos"][name][i, :n], alone["pos"][name][0])
            torch.testing.assert_close(together["chunks"]["chunks"][i, :n], alone["chunks"]["chunks"][0])
            torch.testing.assert_close(together["deps"]["s_arc"][i, : n + 1, : n + 1], alone["deps"]["s_arc"][0])
            heads = torch.randint(0, n + 1, (1, n + 1))  # label scores at any choice of heads
            padded_heads = torch.nn.functional.pad(heads, (0, batch.words.shape[1] - n))
            torch.testing.assert_close(
                rel_scores(model, together, padded_heads.expand(len(sentences), -1))[i, : n + 1],
                rel_scores(model, alone, heads)[0],
            )


@pytest.mark.parametrize("which", ["untrained", "overfit"])
def test_predictions_are_well_formed(which, untrained, overfit, sample):
    """Every predicted tree is a tree with one root; every chunk sequence is well-formed BIO."""
    model, vocabs = untrained if which == "untrained" else (overfit[0], overfit[2])
    sentences = sample[0] + sample[1]
    for s in annotate(model, vocabs, sentences):
        assert is_tree(s.heads) and s.heads.count(0) == 1, (s.source, s.heads)
        assert len(s.rels) == len(s) and set(s.rels) <= set(vocabs.labels["rels"].itos)
        assert repair_bio(s.chunks) == s.chunks, (s.source, s.chunks)
        assert set(s.chunks) <= set(vocabs.labels["chunks"].itos)
    if which == "untrained":  # the constraints did work: greedy decoding would break both
        batch = make_batch(sentences, vocabs, specs=gold_specs(vocabs))
        with torch.no_grad():
            scores = model(batch, ["deps"])
        greedy_heads = scores["deps"]["s_arc"].argmax(-1)[:, 1:]
        assert not all(is_tree(greedy_heads[i, :n].tolist()) for i, n in enumerate(batch.lens.tolist()))
        itos = vocabs.labels["chunks"].itos
        greedy_chunks = scores["chunks"]["chunks"].argmax(-1)
        assert any(
            repair_bio(tags) != tags
            for tags in ([itos[j] for j in greedy_chunks[i, :n]] for i, n in enumerate(batch.lens.tolist()))
        )


def test_forward_shapes(untrained, sample):
    model, vocabs = untrained
    config = tiny_config().model
    sentences = [sample[0][0], sample[0][5], sample[0][1]]
    batch = make_batch(sentences, vocabs, specs=gold_specs(vocabs))
    b, n = len(sentences), max(map(len, sentences))
    n_upos, n_xpos = len(vocabs.labels["upos"]), len(vocabs.labels["xpos"])
    n_chunks, n_rels = len(vocabs.labels["chunks"]), len(vocabs.labels["rels"])
    assert batch.words.shape == batch.mask.shape == batch.types.shape == (b, n)
    forms = {w for s in sentences for w in s.words}
    assert batch.chars.shape[0] == len(forms) + 1  # one row per distinct form, row 0 for padding
    chars = vocabs.chars.itos
    for i, s in enumerate(sentences):  # each word's row spells it; padding points at the empty row
        spelled = ["".join(chars[c] for c in batch.chars[t] if c) for t in batch.types[i, : len(s)].tolist()]
        assert spelled == [w[: batch.chars.shape[1]] for w in s.words]
        assert not batch.types[i, len(s) :].any()

    assert model(batch, ["pos"]).keys() == {"pos"}  # runs only as high as asked
    assert model(batch, ["chunks"]).keys() == {"pos", "chunks"}
    scores = model(batch, ["deps"])
    assert scores.keys() == {"pos", "chunks", "deps"}
    assert scores["pos"]["upos"].shape == (b, n, n_upos) and scores["pos"]["xpos"].shape == (b, n, n_xpos)
    assert scores["chunks"]["chunks"].shape == (b, n, n_chunks)
    assert scores["deps"]["s_arc"].shape == (b, n + 1, n + 1)
    heads = torch.zeros(b, n + 1, dtype=torch.long)
    assert rel_scores(model, scores, heads).shape == (b, n + 1, n_rels)
    assert model.tasks["pos"].label_embedding(scores["pos"]).shape == (b, n, 2 * config.label_dim)
    assert model.tasks["chunks"].label_embedding(scores["chunks"]).shape == (b, n, config.label_dim)
    # padding can never be a head; ROOT always can
    for i, s in enumerate(sentences):
        assert torch.isinf(scores["deps"]["s_arc"][i, :, len(s) + 1 :]).all()
        assert torch.isfinite(scores["deps"]["s_arc"][i, :, : len(s) + 1]).all()

    batch_ud = make_batch(sample[0][:3], vocabs, specs=gold_specs(vocabs))
    batch_chunks = make_batch(sample[1][:3], vocabs, specs=gold_specs(vocabs))
    for task, batch in (("pos", batch_ud), ("chunks", batch_chunks), ("deps", batch_ud)):
        loss = model.tasks[task].loss(model(batch, [task])[task], batch)
        assert loss.shape == () and torch.isfinite(loss) and loss > 0, task
        decoded = model.tasks[task].decode(model(batch, [task])[task], batch)
        assert set(decoded) == set(TASKS[task].fields)
        assert all([len(row) for row in rows] == batch.lens.tolist() for rows in decoded.values())


def test_loss_ignores_sentences_without_the_layer(untrained, sample):
    """A chunk batch has no heads, a CoNLL-U batch no chunks: their losses are zero, not an error."""
    model, vocabs = untrained
    batch_ud, batch_chunks = (make_batch(sample[0][:2], vocabs, specs=gold_specs(vocabs)),
                               make_batch(sample[1][:2], vocabs, specs=gold_specs(vocabs)))
    assert model.tasks["chunks"].loss(model(batch_ud, ["chunks"])["chunks"], batch_ud) == 0
    assert model.tasks["deps"].loss(model(batch_chunks, ["deps"])["deps"], batch_chunks) == 0


def test_stack_runs_once(untrained, sample):
    model, vocabs = untrained
    calls = []
    hooks = [layer.register_forward_hook(lambda m, i, o, k=k: calls.append(k)) for k, layer in enumerate(model.layers)]
    try:
        model(make_batch(sample[0][:2], vocabs, specs=gold_specs(vocabs)), ["pos", "chunks", "deps"])
        assert calls == [0, 1, 2]
        calls.clear()
        model(make_batch(sample[0][:2], vocabs, specs=gold_specs(vocabs)), ["pos"])
        assert calls == [0]
    finally:
        for hook in hooks:
            hook.remove()


def test_layer_input_sizes(untrained):
    """Layer k reads the word embeddings, layer k-1's states and the label embeddings of every task below."""
    model, _ = untrained
    config = tiny_config().model
    n_embed = config.word_dim + config.char_size
    assert model.embed.n_out == n_embed
    pos, chunks = model.tasks["pos"].n_label_out, model.tasks["chunks"].n_label_out
    assert (pos, chunks) == (2 * config.label_dim, config.label_dim)  # UPOS and XPOS embeddings, chunk embeddings
    sizes = [layer.lstm.input_size for layer in model.layers]
    assert sizes == [n_embed, n_embed + 2 * 8 + pos, n_embed + 2 * 8 + pos + chunks]


@pytest.mark.parametrize("lower, upper", [("pos", "chunks"), ("pos", "deps"), ("chunks", "deps")])
def test_lower_predictions_flow_upward(untrained, sample, lower, upper):
    """Changing only a lower task's classifier changes the upper task's scores, through the label embeddings."""
    model, vocabs = untrained
    batch = make_batch(sample[0][:3], vocabs, specs=gold_specs(vocabs))
    key = "chunks" if upper == "chunks" else "s_arc"

    def upper_scores(m):
        with torch.no_grad():
            return m(batch, [upper])[upper][key]

    def perturbed(m):
        m = copy.deepcopy(m)
        head = m.tasks[lower]
        classifiers = head.classifiers.values() if lower == "pos" else [head.classifier]
        with torch.no_grad():
            for classifier in classifiers:
                classifier.weight.add_(torch.randn_like(classifier.weight))
        return m

    base = upper_scores(model)
    assert not torch.allclose(upper_scores(perturbed(model)), base)

    # the gradient of the upper scores reaches the lower classifier
    model.zero_grad()
    scores = model(batch, [upper])[upper][key]
    scores[torch.isfinite(scores)].sum().backward()
    weight = model.tasks[lower].classifiers["upos"].weight if lower == "pos" else model.tasks[lower].classifier.weight
    assert weight.grad is not None and weight.grad.abs().sum() > 0
    model.zero_grad()

    # and the path is the label embeddings: without them the lower classifier no longer matters
    cut = copy.deepcopy(model)
    with torch.no_grad():
        for parameter in cut.tasks[lower].label_embeddings.parameters():
            parameter.zero_()
    torch.testing.assert_close(upper_scores(perturbed(cut)), upper_scores(cut))


def test_label_embeddings_are_softmax_weighted(untrained, sample):
    model, vocabs = untrained
    batch = make_batch(sample[0][:2], vocabs, specs=gold_specs(vocabs))
    with torch.no_grad():
        scores = model(batch, ["chunks"])
        head = model.tasks["chunks"]
        expected = scores["chunks"]["chunks"].softmax(-1) @ head.label_embeddings.weight.T
        torch.testing.assert_close(head.label_embedding(scores["chunks"]), expected)
        pos = model.tasks["pos"]
        expected = torch.cat([scores["pos"][f].softmax(-1) @ pos.label_embeddings[f].weight.T for f in ("upos", "xpos")], -1)
        torch.testing.assert_close(pos.label_embedding(scores["pos"]), expected)


def test_bilstm_padded_directions_equal_packed():
    """The CPU path (each direction over the padded batch) gives what the packed path gives, gradients included;
    rows past a sentence's length are zero."""
    torch.manual_seed(0)
    lstm = BiLSTM(5, 3)
    x, lens = torch.randn(4, 6, 5), torch.tensor([6, 1, 4, 6])
    outputs, grads = [], []
    for run in (lstm, lstm.packed):
        lstm.zero_grad()
        out = run(x, lens)
        (out * torch.arange(out.numel()).view_as(out).sin()).sum().backward()
        outputs.append(out.detach())
        grads.append([p.grad.clone() for p in lstm.parameters()])
    assert torch.allclose(outputs[0], outputs[1], atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(*grads))
    assert not outputs[0][1, 1:].any() and not outputs[0][2, 4:].any()


@needs_bf16
def test_bilstm_under_bf16_autocast_is_close_to_fp32():
    torch.manual_seed(0)
    lstm = BiLSTM(5, 3)
    x, lens = torch.randn(4, 6, 5), torch.tensor([6, 1, 4, 6])
    with torch.no_grad():
        fp32 = lstm.packed(x, lens)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.allclose(lstm(x, lens).float(), fp32, atol=0.05)


def test_label_scores_equal_the_bilinear_over_chunk_boundaries():
    """rel_scores in chunks of REL_CHUNK words gives nn.Bilinear's scores, gradients included, on more words than
    one chunk holds."""
    from hierarchy.tasks.dependency import REL_CHUNK, DependencyHead

    torch.manual_seed(0)
    head = DependencyHead(n_in=6, n_rels=5, arc_dim=4, rel_dim=3, dropout=0.0).double()  # exact sums
    rel_dep = torch.randn(3, REL_CHUNK + 7, 3, dtype=torch.double, requires_grad=True)
    rel_head = torch.randn(3, REL_CHUNK + 7, 3, dtype=torch.double, requires_grad=True)
    heads = torch.randint(0, REL_CHUNK + 7, (3, REL_CHUNK + 7))
    got = head.rel_scores({"rel_dep": rel_dep, "rel_head": rel_head}, heads)
    at_heads = rel_head.gather(1, heads[..., None].expand(-1, -1, 3))
    want = head.rel_attn(rel_dep, at_heads)
    torch.testing.assert_close(got, want)
    grads_got = torch.autograd.grad(got.square().sum(), [rel_dep, rel_head, head.rel_attn.weight])
    grads_want = torch.autograd.grad(want.square().sum(), [rel_dep, rel_head, head.rel_attn.weight])
    for g, w in zip(grads_got, grads_want):
        torch.testing.assert_close(g, w)
