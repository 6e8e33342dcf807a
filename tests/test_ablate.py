"""``hierarchy ablate``: the recipe as is and without each auxiliary task, same budget and seeds, resumable
(issue 15, part 2)."""
import json

import pytest
from conftest import tiny_config
from typer.testing import CliRunner

import hierarchy.training
from hierarchy.ablate import RESULTS, run_ablation, variants, without
from hierarchy.cli import app
from hierarchy.core.config import read_config, save_config
from hierarchy.io.errors import ConfigError


def two_tasks():
    """POS below chunks: the smallest recipe with one auxiliary task."""
    config = tiny_config(epochs=1)
    config.model.layers = config.model.layers[:2]
    config.data.deps = config.data.deps_dev = ""
    return config


def test_variants_remove_each_auxiliary_task_and_shared_corpora():
    config = tiny_config()
    assert variants(config, "deps") == {"all": (), "-pos": ("pos",), "-chunks": ("chunks",)}  # pos shares deps' file
    assert variants(config, "chunks")["-pos corpus"] == ("pos", "deps")
    variant = without(config, {"pos"}, "deps")
    assert variant.tasks() == ["chunks", "deps"] and len(variant.model.layers) == 3  # the layer stays
    assert variant.train.score_weights == {"chunks": 0.0, "deps": 1.0}  # selection on the target alone
    with pytest.raises(ConfigError, match="--target srl: not a task of this recipe"):
        variants(config, "srl")


def test_an_ablation_of_two_tasks_trains_both_variants(tmp_path):
    results = run_ablation(two_tasks(), "chunks", tmp_path, seeds=2, say=lambda text: None)
    assert list(results["variants"]) == ["all", "-pos"] and results["seeds"] == [1, 2]
    for name, tasks in (("all", ["pos", "chunks"]), ("-pos", ["chunks"])):
        for seed in (1, 2):
            saved = read_config(tmp_path / name / f"seed-{seed}" / "config.toml")
            assert saved.tasks() == tasks and saved.train.seed == seed
        entry = results["variants"][name]
        assert len(entry["scores"]) == 2 and entry["spread"] >= 0
    assert results["variants"]["-pos"]["delta"] == pytest.approx(
        results["variants"]["-pos"]["mean"] - results["variants"]["all"]["mean"])
    assert json.loads((tmp_path / RESULTS).read_text()) == results


def test_an_interrupted_ablation_resumes(tmp_path, monkeypatch):
    calls = []
    fit = hierarchy.training.Trainer.fit

    def interrupted(self, resume=False):
        calls.append((self.output.parent.name, resume))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fit(self, resume)

    monkeypatch.setattr(hierarchy.training.Trainer, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_ablation(two_tasks(), "chunks", tmp_path, say=lambda text: None)
    assert list(json.loads((tmp_path / RESULTS).read_text())["variants"]["all"]["scores"]) == ["1"]
    results = run_ablation(two_tasks(), "chunks", tmp_path, say=lambda text: None)
    assert calls == [("all", False), ("-pos", False), ("-pos", False)]  # "all" was not trained again
    assert all(len(e["scores"]) == 1 for e in results["variants"].values())


def test_the_command_prints_a_table_and_draws_a_chart(tmp_path):
    recipe = tmp_path / "two.toml"
    save_config(two_tasks(), recipe)
    result = CliRunner().invoke(app, ["ablate", str(recipe), "--target", "chunks", "--output", str(tmp_path / "a"),
                                      "--quiet", "--train.epochs=1"])
    assert result.exit_code == 0, result.output
    assert "-pos" in result.stdout and "delta" in result.stdout
    assert (tmp_path / "a" / "ablation.png").stat().st_size > 10_000
    result = CliRunner().invoke(app, ["ablate", str(recipe), "--target", "chunks", "--output", str(tmp_path / "a"),
                                      "--train.epochs=2"])
    assert result.exit_code == 2 and "holds an ablation of 'chunks' at 1 epochs" in result.stderr
