"""The optimizer and its learning-rate schedule, built in one place (the trainer and the tests use these)."""
from __future__ import annotations

import torch


def make_optimizer(parameters, config) -> torch.optim.Optimizer:
    """Adam with ``betas=(0.9, 0.9)`` (Dozat & Manning) at ``train.lr``."""
    return torch.optim.Adam(parameters, config.lr, betas=(0.9, 0.9))


def learning_rate(config, epoch: int) -> float:
    """The learning rate of ``epoch`` (1-based): ``lr * lr_decay ** (epoch - 1)``, a pure function of the epoch.

    >>> from types import SimpleNamespace
    >>> learning_rate(SimpleNamespace(lr=0.1, lr_decay=0.5), 3)
    0.025
    """
    return config.lr * config.lr_decay ** (epoch - 1)


def set_learning_rate(optimizer, config, epoch: int) -> None:
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, epoch)
