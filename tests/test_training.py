"""The training loop: successive regularization, joint mode, early stopping, resume, crash-safe checkpoints,
and bad corpora that stop training before anything is written."""
import json
import math
import pickle
import random
import struct

import pytest
import torch
from conftest import ROOT, needs_bf16, tiny_config
from safetensors import safe_open
from safetensors.torch import load_file

import hierarchy.core.persistence
import hierarchy.core.predict
import hierarchy.training
from hierarchy.core.config import load_config
from hierarchy.core.model import Hierarchy
from hierarchy.core.persistence import load_model, write_manifest
from hierarchy.core.vocab import Vocabs
from hierarchy.io import Sentence
from hierarchy.io.errors import ConfigError, CorpusError
from hierarchy.training import Trainer, check_output, regularization
from hierarchy.training.checkpoint import NAME as CHECKPOINT
from hierarchy.training.checkpoint import load_checkpoint

SMALL = 6  # sentences per corpus in the end-to-end runs: a few seconds for the whole file


def small_config(max_sentences: int = SMALL, **train):
    config = tiny_config(**train)
    config.data.max_sentences = max_sentences
    return config


def prepared(config, output, tasks=None) -> Trainer:
    """A Trainer (of ``tasks`` only, when given) with vocabularies, model, sampler and optimiser built as ``fit()``
    builds them, nothing written."""
    trainer = Trainer(config, output, progress=False)
    trainer.tasks = tasks or trainer.tasks
    trainer.build()
    return trainer


def checkpoint_weights(directory) -> dict[str, torch.Tensor]:
    return {k[6:]: v for k, v in load_file(directory / CHECKPOINT).items() if k.startswith("model.")}


# --- successive regularization ---

def test_lower_parameters():
    s = Sentence(["a", "b"], upos=["X", "Y"], xpos=["x", "y"], heads=[0, 1], rels=["root", "dep"], chunks=["B-NP", "O"])
    model = Hierarchy(tiny_config().model, Vocabs.build({"pos": [s], "chunks": [s], "deps": [s]}))
    assert model.lower_parameters("pos") == {}
    names = set(model.lower_parameters("chunks"))
    assert names and all(n.startswith(("embed.", "layers.0.", "tasks.pos.")) for n in names)
    assert any(n.startswith("layers.0.") for n in names) and any(n.startswith("tasks.pos.") for n in names)
    assert any(n.startswith("embed.") for n in names)
    deps = set(model.lower_parameters("deps"))
    assert names < deps
    assert all(n.startswith(("embed.", "layers.0.", "layers.1.", "tasks.pos.", "tasks.chunks.")) for n in deps)
    assert any(n.startswith("tasks.chunks.") for n in deps) and any(n.startswith("layers.1.") for n in deps)


def test_regularization_term():
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    q = torch.nn.Parameter(torch.tensor([[3.0]]))
    value = regularization({"p": p, "q": q}, {"p": torch.tensor([0.0, 4.0]), "q": torch.tensor([[3.0]])})
    assert value.item() == 1 + 4
    value.backward()
    assert p.grad.tolist() == [2.0, -4.0] and q.grad.tolist() == [[0.0]]


def distance_after_chunk_pass(tmp_path, delta: float, monkeypatch) -> float:
    """Train one schedule pass (POS, then chunks) and return how far the chunk pass moved the parameters below
    it from where the POS pass left them (the anchor)."""
    trainer = prepared(small_config(12, delta=delta, batch_tokens=30), tmp_path / f"delta-{delta}", ["pos", "chunks"])
    lower_parameters, anchors = trainer.model.lower_parameters, {}

    def spy(task):  # train_epoch asks for the lower parameters once, at the start of each task's pass
        lower = lower_parameters(task)
        anchors[task] = {name: p.detach().clone() for name, p in lower.items()}
        return lower

    monkeypatch.setattr(trainer.model, "lower_parameters", spy)
    trainer.train_epoch(random.Random(0))
    assert anchors["pos"] == {} and anchors["chunks"]
    lower = lower_parameters("chunks")
    return sum(((p.detach() - anchors["chunks"][name]) ** 2).sum() for name, p in lower.items()).sqrt().item()


def test_successive_regularization_pulls_lower_parameters_back(tmp_path, monkeypatch):
    free = distance_after_chunk_pass(tmp_path, 0.0, monkeypatch)
    held = distance_after_chunk_pass(tmp_path, 1e3, monkeypatch)
    assert free > 0.5
    assert held < 0.25 * free


def test_delta_zero_leaves_lower_parameters_free(tmp_path, monkeypatch):
    def no_regularization(*args):
        raise AssertionError("delta = 0 must not compute the regularization term")

    monkeypatch.setattr(hierarchy.training.loop, "regularization", no_regularization)
    assert distance_after_chunk_pass(tmp_path, 0.0, monkeypatch) > 0.5


def test_nothing_is_written_until_fit(tmp_path):
    prepared(small_config(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- the loop ---

def test_joint_mode_trains(tmp_path):
    state = Trainer(small_config(sampling="joint", epochs=4, lr=0.03), tmp_path / "out", progress=False).fit()
    first, last = state["history"][0]["loss"], state["history"][-1]["loss"]
    assert first.keys() == {"pos", "chunks", "deps"}
    assert all(last[task] < first[task] for task in first), (first, last)


def test_joint_mode_weights_the_losses(tmp_path, monkeypatch):
    """A task with weight 0 contributes no gradient: with only POS weighted, the chunk head never moves."""
    trainer = prepared(small_config(sampling="joint", weights={"pos": 1.0, "chunks": 0.0, "deps": 0.0}), tmp_path / "o")
    before = {k: v.clone() for k, v in trainer.model.tasks["chunks"].state_dict().items()}
    trainer.train_epoch(random.Random(0))
    after = trainer.model.tasks["chunks"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_early_stopping_and_model_selection(tmp_path, monkeypatch):
    """Dev scores 50, 60, 55, 54, ... with patience 1: stop after epoch 3; the saved model is epoch 2's."""
    scores, calls = [50.0, 60.0, 55.0, 54.0, 53.0, 52.0], []

    def fake_score(task, metrics):  # called once per task per epoch; 3 tasks
        calls.append(task)
        return scores[(len(calls) - 1) // 3]

    saved = {}
    save_model = hierarchy.training.loop.save_model

    def spy_save(model, config, vocabs, directory, **options):
        saved["weights"] = {k: v.clone() for k, v in model.state_dict().items()}
        save_model(model, config, vocabs, directory, **options)

    monkeypatch.setattr(hierarchy.training.loop, "task_score", fake_score)
    monkeypatch.setattr(hierarchy.training.loop, "save_model", spy_save)
    out = tmp_path / "out"
    state = Trainer(small_config(epochs=6, patience=1), out, progress=False).fit()
    assert [line["epoch"] for line in state["history"]] == [1, 2, 3]
    assert state["best_epoch"] == 2 and state["best"] == 60.0
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == 2
    assert len((out / "log.jsonl").read_text().splitlines()) == 3
    best = load_file(out / "weights.safetensors")
    assert all(torch.equal(best[k], saved["weights"][k]) for k in best)  # the last save was epoch 2's model
    last = checkpoint_weights(out)  # the checkpoint holds epoch 3's, which moved on
    assert any(not torch.equal(best[k], last[k]) for k in best)


@pytest.mark.parametrize("ema", [0.0, 0.6])  # 0.6: a few steps' memory (an average restarted at the resume differs)
def test_resume_gives_the_same_weights_as_training_straight(tmp_path, ema):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    Trainer(small_config(epochs=4, ema=ema, ema_start=3), straight, progress=False).fit()
    Trainer(small_config(epochs=2, ema=ema, ema_start=3), resumed, progress=False).fit()
    assert json.loads((resumed / "metrics.json").read_text())["epochs"] == 2
    state = Trainer(small_config(epochs=4, ema=ema, ema_start=3), resumed, progress=False).fit(resume=True)
    assert [line["epoch"] for line in state["history"]] == [1, 2, 3, 4]
    a, b = load_file(straight / CHECKPOINT), load_file(resumed / CHECKPOINT)  # weights, optimizer, average, RNG
    assert a.keys() == b.keys() and any(k.startswith("ema.") for k in a) == (ema > 0)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    lines = [json.loads(line) for line in (resumed / "log.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2, 3, 4]
    straight_lines = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert [line["loss"] for line in lines] == [line["loss"] for line in straight_lines]
    assert [line["dev"] for line in lines] == [line["dev"] for line in straight_lines]
    assert [line.get("ema_score") for line in lines] == [line.get("ema_score") for line in straight_lines]
    assert (straight / "weights.safetensors").read_bytes() == (resumed / "weights.safetensors").read_bytes()
    assert [json.loads((run / "metrics.json").read_text())["best_weights"] for run in (straight, resumed)] == \
        [state["best_weights"]] * 2


def test_resume_after_the_last_epoch_does_nothing(tmp_path):
    out = tmp_path / "out"
    Trainer(small_config(epochs=1), out, progress=False).fit()
    before = (out / CHECKPOINT).read_bytes()
    state = Trainer(small_config(epochs=1), out, progress=False).fit(resume=True)
    assert state["epoch"] == 1 and (out / CHECKPOINT).read_bytes() == before


def test_checkpoint_is_safetensors_without_pickles(tmp_path, monkeypatch):
    out = tmp_path / "out"
    Trainer(small_config(epochs=1), out, progress=False).fit()
    for name in (CHECKPOINT, "weights.safetensors"):
        data = (out / name).read_bytes()
        (n,) = struct.unpack("<Q", data[:8])  # safetensors: header length, JSON header, raw tensor bytes
        header = json.loads(data[8 : 8 + n])
        metadata = header.pop("__metadata__", {})
        assert all(isinstance(v, str) for v in metadata.values())
        assert all(set(entry) == {"dtype", "shape", "data_offsets"} for entry in header.values())
    with safe_open(str(out / CHECKPOINT), framework="pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert json.loads(meta["state"])["epoch"] == 1
    assert any(k.startswith("model.") for k in keys) and any(k.startswith("optim.") for k in keys)
    assert "rng.torch" in keys

    def no_unpickling(*args, **kwargs):
        raise AssertionError("loading must not unpickle")

    for module, name in ((torch, "load"), (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")):
        monkeypatch.setattr(module, name, no_unpickling)
    trainer = prepared(small_config(epochs=1), out)
    assert load_checkpoint(out, trainer.model, trainer.optimizer)["epoch"] == 1
    load_model(out)


class Killed(Exception):
    pass


def test_run_killed_mid_epoch_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "out"
    Trainer(small_config(epochs=1), out, progress=False).fit()
    checkpoint, weights = (out / CHECKPOINT).read_bytes(), (out / "weights.safetensors").read_bytes()
    files = sorted(p.name for p in out.iterdir())
    steps = []

    def dying_step(self, losses, extra=None):
        steps.append(losses)
        if len(steps) == 3:
            raise Killed

    monkeypatch.setattr(Trainer, "step", dying_step)
    with pytest.raises(Killed):
        Trainer(small_config(epochs=3), out, progress=False).fit(resume=True)
    monkeypatch.undo()
    assert sorted(p.name for p in out.iterdir()) == files  # nothing half-written, no temporary files
    assert (out / CHECKPOINT).read_bytes() == checkpoint and (out / "weights.safetensors").read_bytes() == weights
    load_model(out)
    state = Trainer(small_config(epochs=2), out, progress=False).fit(resume=True)
    assert [line["epoch"] for line in state["history"]] == [1, 2]


def test_run_killed_in_its_first_epoch_can_simply_restart(tmp_path, monkeypatch):
    out = tmp_path / "out"

    def dying_step(self, losses, extra=None):
        raise Killed

    monkeypatch.setattr(Trainer, "step", dying_step)
    with pytest.raises(Killed):
        Trainer(small_config(epochs=1), out, progress=False).fit()
    monkeypatch.undo()
    assert not out.exists()  # no untrained weights that would pass for a model: not even the directory it made
    check_output(out, resume=False, force=False)  # a plain re-run is allowed
    Trainer(small_config(epochs=1), out, progress=False).fit()
    load_model(out)


def test_crash_while_writing_a_checkpoint_keeps_the_old_one(tmp_path, monkeypatch):
    out = tmp_path / "out"
    Trainer(small_config(epochs=1), out, progress=False).fit()
    checkpoint = (out / CHECKPOINT).read_bytes()
    files = sorted(p.name for p in out.iterdir())
    save_file = hierarchy.core.persistence.save_file

    def dying_save(tensors, path, metadata=None):
        if metadata and "state" in metadata:  # the checkpoint, not the model weights
            with open(path, "wb") as f:
                f.write(b"half a checkpoint")
            raise Killed
        save_file(tensors, path, metadata=metadata)

    monkeypatch.setattr(hierarchy.core.persistence, "save_file", dying_save)
    with pytest.raises(Killed):
        Trainer(small_config(epochs=2), out, progress=False).fit(resume=True)
    assert sorted(p.name for p in out.iterdir()) == files
    assert (out / CHECKPOINT).read_bytes() == checkpoint


# --- bad input ---

GOOD_LINE = "1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_\n"


@pytest.mark.parametrize("task, text, line, expected", [
    ("pos", GOOD_LINE + "2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\n", 2, "columns"),
    ("deps", GOOD_LINE + "2\tbark\tbark\tVERB\tVBP\t_\t7\troot\t_\t_\n", 2, "out of range"),
    ("deps", GOOD_LINE + "2\tbark\tbark\tVERB\tVBP\t_\troot\troot\t_\t_\n", 2, "integer HEAD"),
    ("chunks", "Dogs NNS B-NP\nbark VBP\n", 2, "3 space-separated columns"),
])
def test_malformed_corpus_stops_before_writing(tmp_path, task, text, line, expected):
    bad = tmp_path / "bad.txt"
    bad.write_text(text, encoding="utf-8")
    config = tiny_config()
    setattr(config.data, task, str(bad))
    with pytest.raises(CorpusError, match=expected) as e:
        Trainer(config, tmp_path / "out", progress=False)
    assert str(e.value).startswith(f"{bad}:{line}: ")
    assert not (tmp_path / "out").exists()


def test_corpus_without_the_task_layer(tmp_path):
    """A CoNLL-U file with no heads cannot train the parser."""
    bad = tmp_path / "nodeps.conllu"
    bad.write_text("1\tDogs\tdog\tNOUN\tNNS\t_\t_\t_\t_\t_\n", encoding="utf-8")
    config = tiny_config()
    config.data.deps = str(bad)
    with pytest.raises(CorpusError, match="heads") as e:
        Trainer(config, tmp_path / "out", progress=False)
    assert str(bad) in str(e.value) and not (tmp_path / "out").exists()


def test_task_batch_tokens_sizes_each_tasks_batches(tmp_path):
    """``train.task_batch_tokens`` gives a task its own batch size (e.g. small batches for sentence pairs)."""
    trainer = prepared(small_config(batch_tokens=1000, task_batch_tokens={"chunks": 20}), tmp_path / "out")
    rng = random.Random(0)
    pos, chunks = list(trainer.task_batches("pos", rng)), list(trainer.task_batches("chunks", rng))
    assert len(pos) == 1 and len(chunks) > 1
    assert sum(b.n_words() for b in chunks) == sum(len(s) for s in trainer.train_data["chunks"])
    assert all(b.n_words() <= 20 or len(b.lens) == 1 for b in chunks)
    for bad, message in [({"psos": 10}, "train.task_batch_tokens names task 'psos'"), ({"pos": 0}, "at least 1")]:
        with pytest.raises(ConfigError, match=message):
            small_config(task_batch_tokens=bad).validate("recipe.toml")


def test_task_repeats_gives_a_task_its_batches_several_times_an_epoch(tmp_path):
    """``train.task_repeats``: a task's batches this many times an epoch (more updates from a small corpus, or
    from a document task's one batch per document), each pass shuffled anew."""
    trainer = prepared(small_config(batch_tokens=20, task_repeats={"chunks": 3}), tmp_path / "out")
    thrice = trainer.task_batches("chunks", random.Random(0))
    trainer.config.train.task_repeats = {}
    once = trainer.task_batches("chunks", random.Random(0))
    assert len(once) > 1 and len(thrice) == 3 * len(once)
    assert sum(b.n_words() for b in thrice) == 3 * sum(len(s) for s in trainer.train_data["chunks"])
    passes = [[b.index for b in thrice[k * len(once) : (k + 1) * len(once)]] for k in range(3)]
    assert passes[0] == [b.index for b in once] and passes[1] != passes[0]  # the next pass shuffled anew
    for bad, message in [({"psos": 2}, "train.task_repeats names task 'psos'"), ({"pos": 0}, "at least 1")]:
        with pytest.raises(ConfigError, match=message):
            small_config(task_repeats=bad).validate("recipe.toml")


def test_lr_decay_sets_each_epochs_learning_rate(tmp_path, monkeypatch):
    """Epoch k trains at ``lr * lr_decay ** (k - 1)``, also after a resume (the rate comes from the recipe)."""
    seen = []
    step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self, losses, extra=None: (
        seen.append(self.optimizer.param_groups[0]["lr"]), step(self, losses, extra)))
    config = small_config(epochs=2, lr=0.01, lr_decay=0.5)
    Trainer(config, tmp_path / "out", progress=False).fit()
    assert sorted(set(seen), reverse=True) == pytest.approx([0.01, 0.005])
    seen.clear()
    config.train.epochs = 3
    Trainer(config, tmp_path / "out", progress=False).fit(resume=True)
    assert sorted(set(seen)) == pytest.approx([0.0025])
    with pytest.raises(ConfigError, match="train.lr_decay must be in"):
        small_config(lr_decay=0.0).validate("recipe.toml")


@needs_bf16
@pytest.mark.parametrize("recipe, mode", [("jmt.toml", "schedule"), ("jmt.toml", "joint"), ("lisa.toml", "joint")])
def test_every_task_trains_under_bf16_autocast(recipe, mode, tmp_path, monkeypatch):
    """What CUDA runs: forward under bf16 autocast, losses and decoding on its bf16 states next to fp32 parameters.
    The same mix happens on the CPU under bf16 autocast, so every task of both recipes is checked here."""
    bf16 = lambda device, precision="auto": torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    monkeypatch.setattr(hierarchy.training.loop, "autocast", bf16)
    monkeypatch.setattr(hierarchy.core.predict, "autocast", bf16)
    monkeypatch.chdir(ROOT)  # the recipes' sample paths are relative to the repository root
    config = load_config(ROOT / "models" / recipe, ["train.epochs=1", "train.device=cpu", f"train.sampling={mode}",
                                                    "data.max_sentences=8"])
    Trainer(config, tmp_path / "m", progress=False).fit()
    last = json.loads((tmp_path / "m" / "log.jsonl").read_text().splitlines()[-1])
    assert set(last["loss"]) == set(config.tasks()) and all(math.isfinite(v) for v in last["loss"].values())
    assert set(last["dev"]) == set(config.tasks())


def test_a_negative_dev_score_still_saves_the_first_epochs_model(tmp_path, monkeypatch):
    """Model selection once started at -1.0, so a run whose dev score stayed below it (a Pearson r) wrote no model
    and still exited 0; the first epoch's model is always a candidate now."""
    monkeypatch.setattr(hierarchy.training.loop, "task_score", lambda task, metrics: -50.0)
    state = Trainer(small_config(epochs=2), tmp_path / "out", progress=False).fit()
    assert state["best_epoch"] == 1 and state["best"] == -50.0
    load_model(tmp_path / "out")
    for epochs, patience, key in ((0, 5, "epochs"), (-1, 5, "epochs"), (2, 0, "patience")):
        with pytest.raises(ConfigError, match=f"train.{key} must be at least 1"):
            small_config(epochs=epochs, patience=patience).validate("recipe.toml")


def test_a_second_run_into_a_locked_directory_is_refused_and_a_stale_lock_taken_over(tmp_path):
    import subprocess

    out = tmp_path / "out"
    out.mkdir()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (out / ".lock").write_text(str(sleeper.pid))  # a live run holds it
        with pytest.raises(ConfigError, match=rf"another run \(pid {sleeper.pid}\) is writing"):
            Trainer(small_config(epochs=1), out, progress=False).fit()
        check_output(out, resume=False, force=False)  # (a lock alone does not make the directory taken)
    finally:
        sleeper.kill()
        sleeper.wait()
    (out / ".lock").write_text(str(sleeper.pid))  # its run is gone: a stale lock
    (out / ".weights.safetensors.abc.tmp").write_bytes(b"half")  # and what it was writing
    Trainer(small_config(epochs=1), out, progress=False).fit()
    assert not (out / ".lock").exists() and not list(out.glob(".*.tmp"))
    assert (out / "weights.safetensors").is_file()


def test_weights_that_do_not_fit_the_model_name_the_tensor(tmp_path):
    from safetensors.torch import save_file

    out = tmp_path / "out"
    Trainer(small_config(epochs=1), out, progress=False).fit()
    state = load_file(out / "weights.safetensors")
    name = next(k for k in state if k.endswith("weight") and state[k].dim() == 2)
    for change, message in [
        (lambda s: s.pop(name), f"tensor '{name}' is missing"),
        (lambda s: s.__setitem__(name, s[name][:1]), f"tensor '{name}' has shape"),
        (lambda s: s.__setitem__(name, torch.full_like(s[name], math.nan)), f"tensor '{name}' holds NaN"),
        (lambda s: s.__setitem__(name, s[name].long()), f"tensor '{name}' is I64, expected float32"),
        (lambda s: s.__setitem__("extra.weight", torch.zeros(1)), "unexpected tensor 'extra.weight'"),
    ]:
        broken = dict(state)
        change(broken)
        save_file(broken, out / "weights.safetensors")
        with pytest.raises(ConfigError, match="weights.safetensors: changed since the model was saved"):
            load_model(out)
        write_manifest(out)  # a manifest made to match: the tensors themselves are checked
        with pytest.raises(ConfigError, match=message):
            load_model(out)


def test_a_size_in_config_toml_is_checked_before_anything_is_allocated(tmp_path):
    """``word_dim = 100000000`` would allocate gigabytes: the model is built on the meta device and its shapes
    compared with the weights file's header first."""
    out = tmp_path / "out"
    Trainer(small_config(epochs=1), out, progress=False).fit()
    text = (out / "config.toml").read_text()
    (out / "config.toml").write_text(text.replace("word_dim = 8", "word_dim = 100000000"))
    with pytest.raises(ConfigError, match="config.toml: changed since the model was saved"):
        load_model(out)
    write_manifest(out)
    with pytest.raises(ConfigError, match="tensor 'embed.words.weight' has shape"):
        load_model(out)


def test_manifest_lists_every_file_and_tensor(tmp_path):
    out = tmp_path / "out"
    Trainer(small_config(epochs=1), out, progress=False).fit()
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"config.toml", "vocab.json", "weights.safetensors", "metrics.json"}
    state = load_file(out / "weights.safetensors")
    assert {k: v["shape"] for k, v in manifest["tensors"].items()} == {k: list(v.shape) for k, v in state.items()}
    (out / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="metrics.json: changed since the model was saved"):
        load_model(out)


def test_dev_scores_plot_has_a_panel_per_kind_of_score_and_the_losses(tmp_path):
    from hierarchy.training.plot import plot_history

    history = [{"epoch": e, "loss": {"pos": 1.0 / e, "relatedness": 0.5}, "dev": {
        "pos": {"upos": {"acc": 90.0 + e}}, "chunks": {"chunks": {"f1": 80.0 + e, "acc": 95.0}},
        "deps": {"deps": {"uas": 80.0, "las": 75.0 + e}}, "relatedness": {"relatedness": {"pearson": -20.0 + e}}}}
        for e in (1, 2, 3)]
    panels = plot_history(history, tmp_path / "dev.png", best_epoch=2)
    assert panels == ["accuracy (%)", "F1 (%)", "attachment (%)", "Pearson r x 100", "training loss"]
    assert (tmp_path / "dev.png").read_bytes().startswith(b"\x89PNG")


def test_a_run_killed_before_its_first_checkpoint_can_be_run_again(tmp_path):
    """Killed between the first epoch's model files and its checkpoint: neither --resume nor a plain re-run took
    the directory; a plain re-run does now, and --resume says why it cannot."""
    out = tmp_path / "out"
    Trainer(small_config(epochs=1), out, progress=False).fit()
    for name in ("checkpoint.safetensors", "log.jsonl", "metrics.json", "manifest.json", "dev-scores.png",
                 "weights.png"):
        (out / name).unlink(missing_ok=True)
    with pytest.raises(ConfigError, match="the first epoch did not finish: run again without --resume"):
        check_output(out, resume=True, force=False)
    check_output(out, resume=False, force=False)
    (out / "notes.txt").write_text("mine")  # anything else: not a run of ours
    with pytest.raises(ConfigError, match="already exists"):
        check_output(out, resume=False, force=False)


def test_a_checkpoint_of_another_model_names_the_tensor(tmp_path):
    Trainer(small_config(epochs=1), tmp_path / "a", progress=False).fit()
    other = small_config(epochs=2)
    other.model.mlp_dim = 6
    Trainer(other, tmp_path / "b", progress=False).fit()
    (tmp_path / "a" / CHECKPOINT).replace(tmp_path / "b" / CHECKPOINT)
    with pytest.raises(ConfigError, match=r"checkpoint.safetensors: weights do not match config.toml: tensor '.*' "
                                          r"has shape"):
        Trainer(other, tmp_path / "b", progress=False).fit(resume=True)


@needs_bf16
def test_bf16_training_on_the_cpu_keeps_fp32_weights_and_learns(tmp_path):
    """``train.precision = "bf16"`` trains under bf16 autocast on the CPU too (its losses are not the fp32 run's):
    the weights stay fp32, the losses are finite and fall, and the saved model loads."""
    out = tmp_path / "out"
    state = Trainer(small_config(epochs=3, precision="bf16"), out, progress=False).fit()
    fp32 = Trainer(small_config(epochs=3, precision="fp32"), tmp_path / "fp32", progress=False).fit()
    losses = [line["loss"] for line in state["history"]]
    assert losses != [line["loss"] for line in fp32["history"]]
    assert all(math.isfinite(v) for epoch in losses for v in epoch.values())
    assert sum(losses[-1].values()) < sum(losses[0].values())
    model, config, _ = load_model(out)
    assert config.train.precision == "bf16"
    assert {p.dtype for p in model.parameters()} == {torch.float32}
