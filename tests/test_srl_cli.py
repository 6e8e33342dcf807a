"""``hierarchy evaluate --srl``: the SRL rows, JSON, predictions written in the input's format, bad input."""
import json

import pytest
from conftest import SAMPLE
from test_srl_model import srl_config
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core.config import LayerConfig
from hierarchy.io import read_srl
from hierarchy.training import Trainer


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def srl_model(tmp_path_factory):
    """A head-based SRL model trained for two epochs (its scores are not the point here)."""
    out = tmp_path_factory.mktemp("srl") / "model"
    config = srl_config("conllu", epochs=2)
    config.model.layers = [LayerConfig(size=8, tasks=["pos"]), LayerConfig(size=8, tasks=["deps"]),
                           LayerConfig(size=8, tasks=["srl"])]
    Trainer(config, out, progress=False).fit()
    return out


def test_evaluate_srl_rows_json_and_predictions(srl_model, tmp_path):
    gold = SAMPLE / "srl-dev.conllu"
    result = invoke("evaluate", srl_model, "--srl", gold, "--conllu", gold, "--json",
                    "--write-predictions", tmp_path / "preds")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert {"predicate_f1", "sense_acc", "precision", "recall", "f1", "per_role"} <= scores["srl"]["srl"].keys()
    assert "deps" in scores and "pos" in scores
    predicted = read_srl(tmp_path / "preds" / "srl-dev.srl.conllu")
    assert [s.words for s in predicted] == [s.words for s in read_srl(gold)]
    assert all(s.senses is not None for s in predicted)
    assert (tmp_path / "preds" / "srl-dev.conllu").is_file()  # the --conllu predictions beside, not overwritten
    table = invoke("evaluate", srl_model, "--srl", gold)
    assert table.exit_code == 0 and "semantic roles" in table.stdout and "labeled arguments" in table.stdout


def test_evaluate_srl_bad_input(srl_model, tmp_path):
    result = invoke("evaluate", srl_model, "--srl", SAMPLE / "srl-dev.conllu", "--srl-format", "xml")
    assert result.exit_code == 2 and "--srl-format must be 'conllu' or 'conll05'" in result.stderr
    result = invoke("evaluate", srl_model, "--srl", SAMPLE / "srl-dev.conllu", "--srl-format", "conll05")
    assert result.exit_code == 2 and "srl-dev.conllu:1: expected" in result.stderr
    no_srl = tmp_path / "pos"
    config = srl_config("conllu", epochs=1)
    config.model.layers = [LayerConfig(size=8, tasks=["pos"])]
    Trainer(config, no_srl, progress=False).fit()
    result = invoke("evaluate", no_srl, "--srl", SAMPLE / "srl-dev.conllu")
    assert result.exit_code == 2 and "the model has no srl layer" in result.stderr
