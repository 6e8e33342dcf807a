"""Each class of defect of the second reliability audit (issue 28) ends in a model, a correct result, or one
``error:`` line naming the file, exit status 2, with nothing lost or half-written."""
import json
import math
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import ROOT, SAMPLE, tiny_config
from test_annotate_cli import invoke
from test_cli import assert_one_error

from hierarchy.core.persistence import MANIFEST, load_model, save_tensors
from hierarchy.io.errors import ConfigError, CorpusError, HierarchyError
from hierarchy.io.fileio import atomic_write
from hierarchy.io.vectors import read_vectors
from hierarchy.training import Trainer
from hierarchy.training.lock import NAME as LOCK

CLI = [sys.executable, "-m", "hierarchy"]


@pytest.fixture
def model(trained_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(trained_model, copy)
    return copy


def files_of(directory) -> dict:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


# --- 1. never write over what is being read, or over a model ----------------------------------------------------

@pytest.mark.parametrize("target", ["weights.safetensors", "out.conllu"])
def test_annotate_never_writes_into_a_model_directory(model, target):
    before = files_of(model)
    result = invoke("annotate", model, "--output", model / target, input="A dog barks.")
    assert_one_error(result, model / target, "--output is inside the model directory")
    assert files_of(model) == before


def test_annotate_never_writes_over_its_input(model, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("A dog barks.\n")
    assert_one_error(invoke("annotate", model, text, "--output", text), "is the input file")
    assert text.read_text() == "A dog barks.\n"


def test_evaluate_never_writes_into_a_model_directory(model):
    before = files_of(model)
    result = invoke("evaluate", model, "--conllu", SAMPLE / "dev.conllu", "--write-predictions", model / "preds")
    assert_one_error(result, "--write-predictions is inside the model directory")
    assert files_of(model) == before and not (model / "preds").exists()


def test_train_never_writes_inside_another_model(model, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke("train", "models/jmt.toml", "--output", model / "sub", "--train.epochs=1", "--quiet")
    assert_one_error(result, "is inside the model directory")
    assert not (model / "sub").exists()


def test_package_names_are_what_spacy_allows(model, tmp_path):
    for name in ("../../x", "a b", "x/y", ""):
        assert_one_error(invoke("package", model, tmp_path / "out", "--name", name), "a package name is letters")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# --- 2. the lock comes first ---------------------------------------------------------------------------------------

def test_two_runs_into_one_output_one_wins(tmp_path):
    """The second run starts while the first still reads a slow corpus: it meets the lock, not an empty directory."""
    big = tmp_path / "big.conllu"
    sample = (SAMPLE / "train.conllu").read_text()
    big.write_text(sample * 300)  # a few seconds to read; max_sentences keeps training short
    out = tmp_path / "out"
    args = [*CLI, "train", str(ROOT / "models" / "jmt.toml"), "--output", str(out), "--quiet", "--device", "cpu",
            f"--data.pos={big}", f"--data.deps={big}", "--data.max_sentences=5", "--train.epochs=1"]
    first = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(200):  # the first run holds the lock
        if (out / LOCK).exists():
            break
        time.sleep(0.05)
    second = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    assert second.returncode == 2 and "another run (pid" in second.stderr, second.stderr
    assert load_model(out) and not (out / LOCK).exists()


# --- 3. no NaN success ---------------------------------------------------------------------------------------------

def test_vectors_with_a_value_that_is_not_finite_are_refused(tmp_path):
    text = tmp_path / "v.txt"
    text.write_text("the 0.1 0.2\ncat nan 0.3\n")
    with pytest.raises(CorpusError, match=r"v.txt:2: expected finite numbers, found nan"):
        read_vectors(text)
    np.save(tmp_path / "m.npy", np.array([[0.0, 1.0], [np.inf, 0.0]], dtype=np.float32))
    (tmp_path / "m.txt").write_text("a\nb\n")
    with pytest.raises(CorpusError, match=r"m.npy: row 2 \(the word 'b'\): expected finite numbers, found inf"):
        read_vectors(tmp_path / "m.npy")


def test_a_loss_that_becomes_nan_stops_the_run_and_keeps_the_last_good_model(tmp_path, monkeypatch):
    original = Trainer.task_loss

    def task_loss(self, task, batch):
        loss = original(self, task, batch)
        return loss * math.nan if self.epoch == 2 and task == "chunks" else loss

    monkeypatch.setattr(Trainer, "task_loss", task_loss)
    out = tmp_path / "out"
    with pytest.raises(HierarchyError, match=r"out: training diverged: the chunks loss is nan in epoch 2 \(the best "
                                             r"model of the epochs before is kept\)"):
        Trainer(tiny_config(epochs=3), out, progress=False).fit()
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == 1
    load_model(out)
    assert not (out / LOCK).exists()


# --- 4. the manifest is not optional -------------------------------------------------------------------------------

def test_a_model_without_its_manifest_is_refused(model):
    (model / MANIFEST).unlink()
    assert_one_error(invoke("evaluate", model, "--conllu", SAMPLE / "dev.conllu"), model / MANIFEST, "file not found")


def test_a_model_of_format_1_without_a_manifest_loads_with_a_warning(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(ROOT / "tests" / "fixtures" / "model-v1" / "jmt", old)
    (old / MANIFEST).unlink()
    with pytest.warns(UserWarning, match="manifest.json: not found; the model's files are not checked"):
        load_model(old)


def test_a_vocabulary_that_is_a_json_list_is_one_clean_error(model):
    (model / "vocab.json").write_text("[1, 2]")
    (model / MANIFEST).unlink()
    (model / "config.toml").write_text((model / "config.toml").read_text().replace("format_version = 2",
                                                                                   "format_version = 1"))
    with pytest.warns(UserWarning):
        with pytest.raises(ConfigError, match=r"vocab.json: not a valid vocabulary file \(AttributeError"):
            load_model(model)


def test_a_changed_file_is_refused_before_it_is_parsed(model):
    (model / "vocab.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"vocab.json: changed since the model was saved"):
        load_model(model)


# --- 5. every write error is one line naming its file --------------------------------------------------------------

def test_a_safetensors_write_error_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    from safetensors import SafetensorError

    import hierarchy.core.persistence as persistence

    path = tmp_path / "weights.safetensors"
    save_tensors({"a": torch.zeros(2)}, path)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: File too large (os error 27)")

    monkeypatch.setattr(persistence, "save_file", full)
    with pytest.raises(HierarchyError, match=r"weights.safetensors: cannot be written \(.*File too large"):
        save_tensors({"a": torch.ones(2)}, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["weights.safetensors"]


def test_an_io_error_without_a_file_name_gets_the_file_name(tmp_path):
    with pytest.raises(OSError) as e:
        with atomic_write(tmp_path / "out.txt") as f:
            f.write("x")
            raise OSError(5, "Input/output error")
    assert e.value.filename == str(tmp_path / "out.txt") and list(tmp_path.iterdir()) == []


# --- 6. wrong input form --------------------------------------------------------------------------------------------

def test_conllu_given_as_text_is_named(model):
    result = invoke("annotate", model, input=(SAMPLE / "dev.conllu").read_text())
    assert_one_error(result, "<stdin>:1: this looks like CoNLL-U", "use --input conllu")
    assert_one_error(invoke("annotate", model, SAMPLE / "dev.conllu"), "dev.conllu:1: this looks like CoNLL-U")


# --- 7. signals ----------------------------------------------------------------------------------------------------

def wait_for(predicate, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_sigterm_during_training_keeps_the_checkpoint_and_releases_the_lock(tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen([*CLI, "train", "models/jmt.toml", "--output", str(out), "--quiet", "--device", "cpu",
                                "--train.epochs=200", "--train.patience=200"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (out / "checkpoint.safetensors").exists())
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert "terminated; the last finished epoch is saved: continue with hierarchy train" in err and "--resume" in err
    assert not (out / LOCK).exists() and load_model(out)


@pytest.mark.parametrize("nproc", [1, 2])
def test_sigterm_during_annotate_leaves_no_temporary_file(trained_model, tmp_path, nproc):
    text = tmp_path / "in.txt"
    text.write_text("The cat sat on the mat. It was happy.\n\n" * 20000)
    out = tmp_path / "out.conllu"
    process = subprocess.Popen([*CLI, "annotate", str(trained_model), str(text), "--output", str(out), "--device",
                                "cpu", "--nproc", str(nproc)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any(p.name.endswith(".tmp") for p in tmp_path.iterdir()) or process.poll() is not None)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert "terminated (SIGTERM); no output was left half-written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


# --- 8. names -------------------------------------------------------------------------------------------------------

def test_a_directory_given_as_the_recipe_says_so(tmp_path):
    assert_one_error(invoke("train", tmp_path), f"{tmp_path}: is a directory (expected a TOML recipe)")


def test_evaluate_refuses_a_batch_size_below_one(model):
    assert_one_error(invoke("evaluate", model, "--conllu", SAMPLE / "dev.conllu", "--batch-tokens", "-5"),
                     "--batch-tokens must be at least 1, not -5")

