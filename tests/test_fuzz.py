"""Every reader, fed mutated sample corpora (lines dropped, duplicated or swapped; columns dropped, duplicated or
swapped; bytes flipped, inserted or deleted), either reads the file or raises one CorpusError naming the file and
(where the problem is on a line) a line of it — never another exception (issue 14). The JSON files of a model
directory (vocab.json, manifest.json) and a checkpoint's metadata likewise: they load or fail with one error naming
the file. A seeded generator: the same
mutations every run, and a failing case prints the seed that reproduces it."""
import json
import random
import shutil
import warnings
from pathlib import Path

import pytest
from conftest import SAMPLE
from safetensors import safe_open
from safetensors.torch import save_file

from hierarchy.core.persistence import load_model, write_manifest
from hierarchy.io import read_conll05, read_conll2000, read_conllu, read_pairs, read_srl_conllu
from hierarchy.io.entities import read_mentions
from hierarchy.io.errors import CorpusError, HierarchyError

READERS = {  # reader -> the sample file it is fuzzed from
    "conllu": (read_conllu, SAMPLE / "dev.conllu"),
    "conll2000": (read_conll2000, SAMPLE / "chunks-dev.txt"),
    "pairs": (read_pairs, SAMPLE / "pairs-dev.txt"),
    "srl-conllu": (read_srl_conllu, SAMPLE / "srl-dev.conllu"),
    "srl-conll05": (read_conll05, SAMPLE / "srl-spans.txt"),
    "mentions": (read_mentions, SAMPLE / "mentions-dev.conllu"),
}
CASES = 60  # per reader
FIXTURES = Path(__file__).parent / "fixtures" / "model-v1"


def split_cells(line: bytes) -> tuple[list[bytes], bytes]:
    separator = b"\t" if b"\t" in line else b" "
    return line.split(separator), separator


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random edits of ``data``: of its lines, of a line's columns, or of its bytes."""
    for _ in range(rng.randint(1, 3)):
        lines = data.split(b"\n")
        k = rng.randrange(len(lines))
        edit = rng.choice(["drop line", "duplicate line", "swap lines", "drop column", "duplicate column",
                           "swap columns", "flip byte", "insert byte", "delete byte", "blank cell"])
        if edit == "drop line":
            del lines[k]
        elif edit == "duplicate line":
            lines.insert(k, lines[k])
        elif edit == "swap lines":
            j = rng.randrange(len(lines))
            lines[k], lines[j] = lines[j], lines[k]
        elif edit in ("drop column", "duplicate column", "swap columns", "blank cell"):
            cells, separator = split_cells(lines[k])
            i, j = rng.randrange(len(cells)), rng.randrange(len(cells))
            if edit == "drop column":
                del cells[i]
            elif edit == "duplicate column":
                cells.insert(i, cells[i])
            elif edit == "swap columns":
                cells[i], cells[j] = cells[j], cells[i]
            else:
                cells[i] = rng.choice([b"", b"_", b" ", b"-1", b"99999", b"0", b"\xff", b"B-", b"I-X"])
            lines[k] = separator.join(cells)
        if edit.endswith("byte"):
            data = b"\n".join(lines)
            at = rng.randrange(max(len(data), 1))
            byte = bytes([rng.choice([0, 9, 10, 13, 32, 35, 45, 95, 0xC3, 0xEF, 0xFF, rng.randrange(256)])])
            data = data[:at] + byte + data[at + 1 :] if edit == "flip byte" else \
                data[:at] + byte + data[at:] if edit == "insert byte" else data[:at] + data[at + 1 :]
        else:
            data = b"\n".join(lines)
    return data


@pytest.mark.parametrize("name", READERS)
def test_a_mutated_corpus_reads_or_fails_with_a_clean_error(name, tmp_path):
    read, sample = READERS[name]
    original = sample.read_bytes()
    path = tmp_path / sample.name
    outcomes = {"read": 0, "error": 0}
    for seed in range(CASES):
        data = mutate(original, random.Random(f"{name}-{seed}"))
        path.write_bytes(data)
        n_lines = data.count(b"\n") + 1
        try:
            read(path)
            outcomes["read"] += 1
        except CorpusError as e:
            outcomes["error"] += 1
            message = str(e)
            assert message.startswith(str(path)), (seed, message)
            assert e.line is None or 1 <= e.line <= n_lines, (seed, message)
            assert "\n" not in message, (seed, message)
        except Exception as e:  # noqa: BLE001 - the point: nothing but CorpusError may escape
            pytest.fail(f"{name}, seed {seed}: {type(e).__name__}: {e}")
    assert outcomes["error"] > CASES // 4  # the mutations really break files...
    assert outcomes["read"] > 0 or name == "pairs"  # ...and some leave a readable one


# --- the files of a model directory and of a checkpoint ---------------------------------------------------------

ODD_VALUES = [None, 0, -1, 1e308, "", "x", "NaN", [], {}, [1, "a"], {"a": 1}, True]


def mutate_json(value, rng: random.Random):
    """``value`` (parsed JSON) with one to three of its parts replaced by a value of another kind, or removed."""
    value = json.loads(json.dumps(value))
    for _ in range(rng.randint(1, 3)):
        parent, key = None, None
        node = value
        while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
            parent, key = node, rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
            node = node[key]
        if parent is None:
            return rng.choice(ODD_VALUES)
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[key]
        else:
            parent[key] = rng.choice(ODD_VALUES)
    return value


def old_model(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(FIXTURES / "jmt", model)
    return model


@pytest.mark.parametrize("name", ["vocab.json", "manifest.json"])
def test_a_mutated_model_file_loads_or_fails_with_a_clean_error(name, tmp_path):
    """Mutated as bytes or as JSON, with the manifest rewritten to match (so the file is parsed) or not: the model
    loads, or one HierarchyError names a file of the model directory."""
    model = old_model(tmp_path)
    original = (model / name).read_bytes()
    outcomes = {"read": 0, "error": 0}
    for seed in range(CASES):
        rng = random.Random(f"{name}-{seed}")
        data = mutate(original, rng) if rng.random() < 0.5 else \
            json.dumps(mutate_json(json.loads(original), rng)).encode()
        (model / name).write_bytes(data)
        if name == "vocab.json" and rng.random() < 0.7:
            write_manifest(model)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load_model(model)
            outcomes["read"] += 1
        except HierarchyError as e:
            outcomes["error"] += 1
            assert str(e).startswith(str(model)) and "\n" not in str(e), (seed, str(e))
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"{name}, seed {seed}: {type(e).__name__}: {e}")
        shutil.rmtree(model)
        model = old_model(tmp_path)
    assert outcomes["error"] > CASES // 4


def test_a_mutated_checkpoint_state_resumes_or_fails_with_a_clean_error(trained_model, tmp_path):
    """The loop's state and the optimizer's parameter groups, JSON in the checkpoint's metadata, mutated: resuming
    restores them or raises one ConfigError naming the checkpoint."""
    from conftest import tiny_config

    from hierarchy.training import Trainer
    from hierarchy.training.checkpoint import NAME, load_checkpoint

    with safe_open(str(trained_model / NAME), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    trainer = Trainer(tiny_config(epochs=3), trained_model, progress=False)
    trainer.build(resume=True)
    outcomes = {"read": 0, "error": 0}
    for seed in range(CASES):
        rng = random.Random(f"checkpoint-{seed}")
        key = rng.choice(["state", "param_groups"])
        text = meta[key].encode()
        changed = mutate(text, rng) if rng.random() < 0.5 else json.dumps(mutate_json(json.loads(text), rng)).encode()
        save_file(tensors, tmp_path / NAME, metadata=meta | {key: changed.decode("utf-8", "replace")})
        try:
            load_checkpoint(tmp_path, trainer.model, trainer.optimizer)
            outcomes["read"] += 1
        except HierarchyError as e:
            outcomes["error"] += 1
            assert str(e).startswith(str(tmp_path / NAME)) and "\n" not in str(e), (seed, str(e))
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"seed {seed}: {type(e).__name__}: {e}")
    assert outcomes["error"] > CASES // 4
