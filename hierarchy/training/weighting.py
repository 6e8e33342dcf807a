"""Weightings: how a step's task losses combine into the loss that is back-propagated. Each keeps what must
survive a resume in ``state_dict``; its ``parameters()`` (none for static weights) are trained with the model.
Chosen by ``train.weighting``."""
from __future__ import annotations

import torch

from .strategy import Strategy


class Weighting(Strategy):
    """``combine({task: loss}) -> loss``; ``parameters()``: what it learns along with the model."""

    def combine(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def parameters(self) -> list[torch.nn.Parameter]:
        return []


class StaticWeighting(Weighting):
    """``sum_t w_t * L_t`` with ``train.weights`` (1 for a task it does not name)."""

    def combine(self, losses):
        total = 0.0
        for task, loss in losses.items():
            total = total + self.config.weights.get(task, 1.0) * loss
        return total


WEIGHTINGS = {"static": StaticWeighting}
