"""A task declared inside this test, on a field no library code knows (each word's shape: ``Xx``, ``x``, ``d``,
``.``), trains, saves, reloads, evaluates and annotates through the registry alone: adding a task is one spec."""
import json
import re

import pytest
from conftest import SAMPLE, tiny_config
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core.config import LayerConfig
from hierarchy.core.persistence import load_model
from hierarchy.core.predict import Predictor
from hierarchy.io import read_conllu
from hierarchy.io.errors import ConfigError
from hierarchy.tasks import TASKS, TaskSpec, Writers
from hierarchy.tasks.spec import label_strings, token_gold, token_labels
from hierarchy.tasks.tagging import TaggingHead, accuracy_metric
from hierarchy.training import Trainer

FIELDS = ("shape",)


def shape(word: str) -> str:
    """``Leeds`` -> ``Xx``, ``8:15`` -> ``d.d``: runs of the same character class, collapsed."""
    classes = "".join("X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else "." for c in word)
    return re.sub(r"(.)\1+", r"\1", classes)


def read_shapes(path, data):
    return [s.with_layers(shape=[shape(w) for w in s.words]) for s in read_conllu(path, data.skip_bad)]


def head(n_in, config, vocabs, layer, tasks, n_embed):
    return TaggingHead(n_in, {"shape": len(vocabs.labels["shape"])}, config.mlp_dim, config.label_dim, config.dropout)


SHAPES = TaskSpec(
    name="shape", title="word shapes", data_key="shape", flag="shapes", read=read_shapes, fields=FIELDS,
    labels=token_labels(FIELDS), head=head, gold=token_gold(FIELDS), predictions=label_strings(FIELDS),
    metric=accuracy_metric(FIELDS), rows=lambda name, m: [("shape accuracy", None, None, m.values["acc"])],
    writers=Writers(json=lambda s: {"shape": s.get("shape")}, conllu={"TOY:SHAPE": lambda s: s.get("shape")}),
)


@pytest.fixture
def shapes(monkeypatch):
    monkeypatch.setitem(TASKS, "shape", SHAPES)


def test_a_task_declared_in_a_test_trains_saves_reloads_and_evaluates(shapes, tmp_path):
    config = tiny_config(epochs=25, patience=25, lr=0.03)
    config.data.shape, config.data.shape_dev = str(SAMPLE / "train.conllu"), str(SAMPLE / "dev.conllu")
    config.model.layers = [LayerConfig(size=8, tasks=["pos"]), LayerConfig(size=8, tasks=["shape"])]
    config.validate("test")
    out = tmp_path / "model"
    state = Trainer(config, out, progress=False).fit()
    assert state["best_dev"]["shape"]["shape"]["acc"] > 90
    model, _, vocabs = load_model(out)
    gold = read_shapes(SAMPLE / "dev.conllu", config.data)
    predicted = Predictor(model, vocabs)(gold)
    assert all(p.get("shape") is not None and len(p.get("shape")) == len(p) for p in predicted)
    assert (out / "config.toml").read_text().count('shape = "') == 1  # the recipe key round-trips

    result = CliRunner().invoke(app, ["evaluate", str(out), "--shapes", str(SAMPLE / "dev.conllu"), "--json"])
    assert result.exit_code == 0, result.output
    accuracy = json.loads(result.stdout)["shape"]["shape"]["acc"]
    expected = Predictor(model, vocabs).evaluate({"shape": gold})[0]["shape"]["shape"].values["acc"]
    assert accuracy == pytest.approx(expected) and accuracy > 90
    result = CliRunner().invoke(app, ["annotate", str(out), str(SAMPLE / "dev.conllu"), "--input", "conllu",
                                      "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["shape"] for line in result.stdout.splitlines()] == [p.get("shape") for p in predicted]
    result = CliRunner().invoke(app, ["annotate", str(out), str(SAMPLE / "dev.conllu"), "--input", "conllu"])
    assert "TOY:SHAPE" in result.stdout.splitlines()[0]


def test_without_the_spec_the_task_is_unknown(tmp_path):
    config = tiny_config()
    config.model.layers = [LayerConfig(size=8, tasks=["shape"])]
    with pytest.raises(ConfigError, match="unknown task 'shape'"):
        config.validate("recipe.toml")
