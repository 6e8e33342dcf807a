"""Samplers and weightings, the training strategies that plug into the loop: what each step trains and how its
losses combine; the optimizer and learning-rate schedule built in one place."""
import random

import torch

from hierarchy.config import TrainConfig
from hierarchy.training import SAMPLERS, WEIGHTINGS, make_optimizer
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
