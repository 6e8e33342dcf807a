"""Samplers and weightings, the training strategies that plug into the loop: what each step trains and how its
losses combine; the optimizer and learning-rate schedule built in one place."""
import math
import random

import pytest
import torch
from conftest import tiny_config
from safetensors.torch import load_file

from hierarchy.core.config import TrainConfig
from hierarchy.strategies import SAMPLERS, WEIGHTINGS
from hierarchy.training import Trainer, make_optimizer
from hierarchy.training.optim import learning_rate, set_learning_rate

BATCHES = {"pos": ["p1", "p2", "p3"], "chunks": ["c1"], "deps": ["d1", "d2"]}


def test_schedule_trains_the_tasks_bottom_up_one_phase_each():
    steps = list(SAMPLERS["schedule"](list(BATCHES), TrainConfig()).steps(BATCHES, random.Random(0)))
    assert [(s.tasks, s.batches, s.phase) for s in steps] == [
        (["pos"], ["p1"], 0), (["pos"], ["p2"], 0), (["pos"], ["p3"], 0), (["chunks"], ["c1"], 1),
        (["deps"], ["d1"], 2), (["deps"], ["d2"], 2)]


def test_joint_trains_every_task_each_step_and_cycles_the_smaller_ones():
    steps = list(SAMPLERS["joint"](list(BATCHES), TrainConfig()).steps(BATCHES, random.Random(0)))
    assert [s.batches for s in steps] == [["p1", "c1", "d1"], ["p2", "c1", "d2"], ["p3", "c1", "d1"]]
    assert all(s.tasks == list(BATCHES) for s in steps)


def test_static_weighting_sums_the_weighted_losses():
    weighting = WEIGHTINGS["static"](["pos", "deps"], TrainConfig(weights={"deps": 0.5}))
    total = weighting.combine({"pos": torch.tensor(2.0), "deps": torch.tensor(4.0)})
    assert total.item() == 2.0 + 0.5 * 4.0
    assert weighting.parameters() == [] and weighting.state_dict() == {}


def test_one_optimizer_and_a_learning_rate_that_is_a_function_of_the_epoch():
    p = torch.nn.Parameter(torch.zeros(2))
    config = TrainConfig(lr=0.1, lr_decay=0.5)
    optimizer = make_optimizer([p], config)
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.param_groups[0]["betas"] == (0.9, 0.9)
    set_learning_rate(optimizer, config, 3)
    assert optimizer.param_groups[0]["lr"] == learning_rate(config, 3) == 0.1 * 0.5 ** 2


def draws(name: str, sizes: dict, epoch: int = 1, **config) -> dict:
    """How often each task trains in one epoch of sampler ``name`` over tasks with ``sizes`` batches."""
    batches = {t: [f"{t}{i}" for i in range(n)] for t, n in sizes.items()}
    sampler = SAMPLERS[name](list(sizes), TrainConfig(**config))
    sampler.begin(epoch)
    counts = dict.fromkeys(sizes, 0)
    for step in sampler.steps(batches, random.Random(0)):
        counts[step.tasks[0]] += 1
    return counts


def test_sampled_tasks_follow_their_formula():
    sizes = {"pos": 4000, "chunks": 1000, "deps": 250}
    n = sum(sizes.values())  # an epoch has the schedule's number of steps
    for name, exponent, extra in [("proportional", 1.0, {}), ("temperature", 0.5, {"temperature": 2.0}),
                                  ("uniform", 0.0, {})]:
        counts = draws(name, sizes, **extra)
        assert sum(counts.values()) == n
        expected = {t: n * s**exponent / sum(v**exponent for v in sizes.values()) for t, s in sizes.items()}
        chi2 = sum((counts[t] - expected[t]) ** 2 / expected[t] for t in sizes)
        assert chi2 < 13.8, (name, counts, expected)  # chi-square, 2 degrees of freedom, p = 0.001
    annealed = SAMPLERS["annealed"](list(sizes), TrainConfig(temperature=4.0, epochs=5))
    exponents = []
    for epoch in (1, 3, 5):
        annealed.begin(epoch)
        exponents.append(annealed.exponent())
    assert exponents == [1.0, 0.625, 0.25]  # from 1 to 1/T, linearly over the epochs
    assert draws("annealed", sizes, 1, temperature=4.0, epochs=5) == draws("proportional", sizes)


def test_a_sampled_task_takes_its_batches_in_order_and_phases_change_with_the_task():
    sampler = SAMPLERS["uniform"](list(BATCHES), TrainConfig())
    steps = list(sampler.steps(BATCHES, random.Random(3)))
    for task in BATCHES:
        mine = [s.batches[0] for s in steps if s.tasks == [task]]
        assert mine == [BATCHES[task][i % len(BATCHES[task])] for i in range(len(mine))]
    for a, b in zip(steps, steps[1:]):
        assert (b.phase == a.phase) == (b.tasks == a.tasks)


def test_autosem_updates_its_arms_as_the_paper_says():
    sampler = SAMPLERS["autosem"](["pos", "deps"], TrainConfig(autosem_decay=0.5))
    sampler.reward(0, 1)  # every arm halfway back to Beta(1, 1), then the chosen one's count
    assert (sampler.alpha, sampler.beta) == ([2.0, 1.0], [1.0, 1.0])
    sampler.reward(1, 0)
    assert (sampler.alpha, sampler.beta) == ([1.5, 1.0], [1.0, 2.0])
    sampler.reward(0, 1)
    assert (sampler.alpha, sampler.beta) == ([2.25, 1.0], [1.0, 1.5])
    assert sampler.mixing_ratio() == {"pos": (2.25 / 3.25) / (2.25 / 3.25 + 0.4), "deps": 0.4 / (2.25 / 3.25 + 0.4)}


def test_autosem_rewards_a_round_that_raised_the_primary_score():
    scores = iter([50.0, 51.0, 51.0, 49.0, 60.0])  # before the first round, then after each round
    sampler = SAMPLERS["autosem"](["pos", "deps"], TrainConfig(autosem_steps=2, autosem_decay=0.0))
    sampler.evaluate = lambda: next(scores)
    batches = {"pos": ["p1", "p2", "p3"], "deps": ["d1", "d2", "d3", "d4", "d5"]}
    steps = list(sampler.steps(batches, random.Random(0)))
    assert len(steps) == 8 and all(len(set(s.tasks[0] for s in steps[i : i + 2])) == 1 for i in (0, 2, 4, 6))
    rounds = sampler.log()["rounds"]
    assert [r["reward"] for r in rounds] == [1, 0, 0, 1]
    assert sum(sampler.alpha) + sum(sampler.beta) == 4 + 4  # priors plus one count per round (no decay)
    assert sampler.state_dict()["last"] == 60.0


def test_uncertainty_weighting_matches_the_hand_computed_loss():
    weighting = WEIGHTINGS["uncertainty"](["pos", "relatedness"], TrainConfig())
    with torch.no_grad():
        weighting.log_variance.copy_(torch.tensor([0.5, -1.0]))
    total = weighting.combine({"pos": torch.tensor(2.0), "relatedness": torch.tensor(3.0)})
    # pos: L / sigma^2 + log sigma; relatedness, a regression: L / (2 sigma^2) + log sigma; s = log sigma^2
    by_hand = (math.exp(-0.5) * 2.0 + 0.25) + (0.5 * math.exp(1.0) * 3.0 - 0.5)
    assert total.item() == pytest.approx(by_hand)
    assert weighting.weights() == pytest.approx({"pos": math.exp(-0.5), "relatedness": 0.5 * math.exp(1.0)})
    total.backward()  # d/ds (c exp(-s) L + s / 2) = 1/2 - c exp(-s) L
    assert weighting.log_variance.grad.tolist() == pytest.approx([0.5 - math.exp(-0.5) * 2.0,
                                                                 0.5 - 0.5 * math.exp(1.0) * 3.0])
    for loss in (0.5, 4.0):  # at the optimum both kinds weigh 1 / (2 L)
        for k in (0, 1):
            with torch.no_grad():
                weighting.log_variance[k] = math.log(2 * weighting.scale[k] * loss)
        assert weighting.weights() == pytest.approx({"pos": 1 / (2 * loss), "relatedness": 1 / (2 * loss)})


def test_dtp_weights_the_harder_task_more():
    weighting = WEIGHTINGS["dtp"](["pos", "relatedness"], TrainConfig(dtp_gamma=2.0, dtp_smoothing=0.5))
    assert weighting.weights() == {"pos": 1.0, "relatedness": 1.0}  # no dev score yet
    weighting.update({"pos": 90.0, "relatedness": 60.0})  # Pearson 0.6 -> KPI (0.6 + 1) / 2 = 0.8
    weighting.update({"pos": 80.0, "relatedness": 20.0})  # KPIs 0.8 and 0.6, averaged with the previous
    kpi = {"pos": 0.5 * 0.8 + 0.5 * 0.9, "relatedness": 0.5 * 0.6 + 0.5 * 0.8}
    assert weighting.kpi == pytest.approx(kpi)
    expected = {t: -((1 - k) ** 2) * math.log(k) for t, k in kpi.items()}
    assert weighting.weights() == pytest.approx(expected)
    assert expected["relatedness"] > expected["pos"]


def test_pcgrad_projects_conflicting_gradients_and_sums_them():
    x = torch.nn.Parameter(torch.zeros(2))  # shared by both losses
    head = torch.nn.Parameter(torch.zeros(1))  # one task's own
    weighting = WEIGHTINGS["pcgrad"](["a", "b"], TrainConfig())
    losses = {"a": -x[0] + head.sum() * 0 + head.sum(), "b": x[0] - x[1]}  # gradients (-1, 0) and (1, -1) on x
    weighting.backward(losses, None, [x, head])
    # a, projected off b: (-1, 0) + 1/2 (1, -1) = (-0.5, -0.5); b off a: (1, -1) - (1, 0) = (0, -1)
    assert x.grad.tolist() == [-0.5, -1.5] and head.grad.tolist() == [1.0]
    x.grad = head.grad = None
    weighting.backward({"a": -x[0], "b": -x[1]}, None, [x, head])  # orthogonal: no conflict, a plain sum
    assert x.grad.tolist() == [-1.0, -1.0] and head.grad is None


class Killed(Exception):
    pass


@pytest.mark.parametrize("sampling, weighting", [(s, "static") for s in SAMPLERS if s != "schedule"]
                         + [("schedule", w) for w in WEIGHTINGS if w != "pcgrad"] + [("joint", "pcgrad")])
def test_a_run_resumed_mid_way_continues_exactly(tmp_path, monkeypatch, sampling, weighting):
    config = tiny_config(epochs=3, sampling=sampling, weighting=weighting, autosem_steps=2, diagnose_every=3)
    config.data.max_sentences = 6
    straight = Trainer(config, tmp_path / "straight", progress=False).fit()
    write = Trainer.write_reports

    def killed_after_the_first_checkpoint(self, state):
        write(self, state)
        raise Killed

    monkeypatch.setattr(Trainer, "write_reports", killed_after_the_first_checkpoint)
    with pytest.raises(Killed):
        Trainer(config, tmp_path / "resumed", progress=False).fit()
    monkeypatch.undo()
    resumed = Trainer(config, tmp_path / "resumed", progress=False).fit(resume=True)
    keys = ("loss", "dev", "sampler", "weighting", "interference")
    picked = lambda state: [{k: h[k] for k in keys} for h in state["history"]]  # noqa: E731
    assert picked(resumed) == picked(straight)
    assert resumed["weighting"] == straight["weighting"] and resumed["sampler"] == straight["sampler"]
    a, b = (load_file(tmp_path / run / "checkpoint.safetensors") for run in ("straight", "resumed"))
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("model."))
    assert straight["history"][-1]["interference"]["n"] >= 1


def test_inspect_prints_the_interference_and_weights_and_plots_them(tmp_path):
    from typer.testing import CliRunner

    from hierarchy.cli import app

    config = tiny_config(epochs=2, sampling="joint", weighting="uncertainty", diagnose_every=2)
    config.data.max_sentences = 6
    Trainer(config, tmp_path / "model", progress=False).fit()
    result = CliRunner().invoke(app, ["inspect", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("loss weights at the last epoch: pos ")
    header = next(k for k, line in enumerate(lines) if line.startswith("gradient cosines"))
    assert lines[header + 1].split() == ["pos", "chunks", "deps"]  # the stack's order
    rows = [line.split() for line in lines[header + 2 : header + 5]]
    assert [r[0] for r in rows] == ["pos", "chunks", "deps"] and all(r[1 + k] == "1.000" for k, r in enumerate(rows))
    assert all(-1 <= float(c) <= 1 for r in rows for c in r[1:])
    for plot in ("interference.png", "weights.png"):
        assert (tmp_path / "model" / plot).read_bytes().startswith(b"\x89PNG")
    missing = CliRunner().invoke(app, ["inspect", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "log.jsonl: file not found" in missing.output


def test_pcgrad_needs_steps_with_several_tasks():
    from hierarchy.io.errors import ConfigError

    with pytest.raises(ConfigError, match="'pcgrad' needs train.sampling = 'joint'"):
        tiny_config(weighting="pcgrad").validate("recipe.toml")
    tiny_config(weighting="pcgrad", sampling="joint").validate("recipe.toml")
