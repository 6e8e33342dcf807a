"""Data-parallel training on the CPU: two gloo processes under torchrun (``hierarchy train --nproc 2``) train a tiny
recipe; rank 0 alone writes; the ranks hold the same weights after every epoch (the loop checks it and fails
otherwise); the saved model loads; ``--resume`` continues (issue 16). Skipped where torchrun cannot start two
processes that talk to each other."""
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, tiny_config

from hierarchy.core.config import save_config
from hierarchy.core.persistence import load_model

PROBE = """
import torch, torch.distributed as dist
dist.init_process_group("gloo")
t = torch.ones(1)
dist.all_reduce(t)
assert t.item() == 2
"""


def torchrun(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def can_run(tmp_path_factory):
    probe = tmp_path_factory.mktemp("probe") / "probe.py"
    probe.write_text(PROBE)
    for _ in range(3):  # a loaded machine can miss a rendezvous: try again before concluding
        done = torchrun(probe, timeout=120)
        if done.returncode == 0:
            return
    pytest.skip(f"torchrun cannot start two gloo processes here: {done.stderr.strip().splitlines()[-3:]}")


def test_two_processes_train_resume_and_rank_0_alone_writes(can_run, tmp_path):
    recipe, out = tmp_path / "tiny.toml", tmp_path / "model"
    save_config(tiny_config(epochs=2), recipe)
    done = subprocess.run([sys.executable, "-m", "hierarchy", "train", str(recipe), "--output", str(out),
                           "--nproc", "2", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("best dev score") == 1  # rank 0 speaks for the run
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "config.toml", "dev-scores.png",
                                                     "log.jsonl", "manifest.json", "metrics.json", "vocab.json",
                                                     "weights.safetensors"]
    history = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in history] == [1, 2]  # one writer, not two
    load_model(out)
    done = torchrun("-m", "hierarchy", "train", recipe, "--output", out, "--resume", "--train.epochs=3", "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    history = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in history] == [1, 2, 3]
    load_model(out)


def test_pcgrad_is_refused_with_several_processes(can_run, tmp_path):
    recipe = tmp_path / "tiny.toml"
    config = tiny_config(epochs=1, sampling="joint", weighting="pcgrad")
    save_config(config, recipe)
    done = torchrun("-m", "hierarchy", "train", recipe, "--output", tmp_path / "model", "--quiet")
    assert done.returncode != 0 and "not available with several processes" in done.stderr


def test_nproc_below_one_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "hierarchy", "train", str(ROOT / "models" / "jmt.toml"),
                           "--output", str(tmp_path / "m"), "--nproc", "0"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "--nproc must be at least 1, not 0" in done.stderr
