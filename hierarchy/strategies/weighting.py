"""Weightings: how a step's task losses combine into the gradient. Each keeps what must survive a resume in
``state_dict``; its ``parameters()`` are trained with the model. Chosen by ``train.weighting``:

- ``static``: ``sum_t w_t L_t`` with ``train.weights``;
- ``uncertainty``: learned task uncertainties (Kendall, Gal & Cipolla 2018);
- ``dtp``: dynamic task prioritization from the dev scores (Guo et al. 2018);
- ``pcgrad``: static weights, and conflicting task gradients projected off each other (Yu et al. 2020).
"""
from __future__ import annotations

import math
import random

import torch

from hierarchy.strategies.diagnostics import gradients
from hierarchy.strategies.strategy import Strategy
from hierarchy.tasks import TASKS


class Weighting(Strategy):
    """``combine({task: loss}) -> loss``; ``backward(losses, extra, parameters)`` puts the step's gradient in the
    parameters' ``.grad``; ``parameters()``: what it learns along with the model; ``weights()``: the weight each
    task's loss has now (logged each epoch)."""

    def combine(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(self.weights()[task] * loss for task, loss in losses.items())

    def backward(self, losses: dict[str, torch.Tensor], extra, parameters: list) -> None:
        """Back-propagate the combined losses plus ``extra`` (a regularization term, or None)."""
        loss = self.combine(losses)
        (loss if extra is None else loss + extra).backward()

    def weights(self) -> dict[str, float]:
        return {task: self.config.weights.get(task, 1.0) for task in self.tasks}

    def parameters(self) -> list[torch.nn.Parameter]:
        return []

    def to(self, device) -> "Weighting":
        return self

    def log(self):
        return {"weights": {t: float(w) for t, w in self.weights().items()}}


class StaticWeighting(Weighting):
    """``sum_t w_t * L_t`` with ``train.weights`` (1 for a task it does not name)."""


class UncertaintyWeighting(Weighting):
    """``sum_t c_t exp(-s_t) L_t + s_t / 2``: ``s_t = log sigma_t^2`` a learned log-variance per task (starting at
    0), ``c_t = 1/2`` for a regression task (its spec's ``regression``) and 1 otherwise: Kendall, Gal & Cipolla's
    (2018) ``L / (2 sigma^2) + log sigma`` for a Gaussian likelihood and ``L / sigma^2 + log sigma`` for a softmax
    one, which weigh both kinds alike at the optimum (``1 / (2 L)``)."""

    def __init__(self, tasks, config):
        super().__init__(tasks, config)
        self.log_variance = torch.nn.Parameter(torch.zeros(len(tasks)))
        self.scale = [0.5 if TASKS[t].regression else 1.0 for t in tasks]

    def combine(self, losses):
        total = 0.0
        for task, loss in losses.items():
            k = self.tasks.index(task)
            s = self.log_variance[k]
            total = total + self.scale[k] * torch.exp(-s) * loss + 0.5 * s
        return total

    def weights(self):
        return {t: self.scale[k] * math.exp(-self.log_variance[k].item()) for k, t in enumerate(self.tasks)}

    def parameters(self):
        return [self.log_variance]

    def to(self, device):
        self.log_variance.data = self.log_variance.data.to(device)
        return self

    def state_dict(self):
        return {"log_variance": self.log_variance.tolist()}

    def load_state_dict(self, state):
        if "log_variance" in state:
            with torch.no_grad():
                self.log_variance.copy_(torch.tensor(state["log_variance"]))


class DTPWeighting(Weighting):
    """Dynamic task prioritization (Guo et al. 2018): task ``t``'s weight is ``-(1 - k_t) ** gamma * log(k_t)``,
    ``k_t`` its KPI: the dev score mapped to [0, 1] by its spec's ``score_range``, smoothed over epochs by an
    exponential moving average ``k <- a * kpi + (1 - a) * k`` (``a = train.dtp_smoothing``, ``gamma =
    train.dtp_gamma``). Harder tasks (lower KPI) weigh more; before the first dev scores every weight is 1."""

    EPS = 1e-3

    def __init__(self, tasks, config):
        super().__init__(tasks, config)
        self.kpi: dict[str, float] = {}

    def update(self, dev_scores):
        a = self.config.dtp_smoothing
        for task, score in dev_scores.items():
            low, high = TASKS[task].score_range
            kpi = min(max((score / 100 - low) / (high - low), self.EPS), 1 - self.EPS)
            self.kpi[task] = kpi if task not in self.kpi else a * kpi + (1 - a) * self.kpi[task]

    def weights(self):
        gamma = self.config.dtp_gamma
        return {t: -((1 - self.kpi[t]) ** gamma) * math.log(self.kpi[t]) if t in self.kpi else 1.0
                for t in self.tasks}

    def state_dict(self):
        return {"kpi": self.kpi}

    def load_state_dict(self, state):
        self.kpi = dict(state.get("kpi", {}))


class PCGradWeighting(Weighting):
    """Static weights, with gradient surgery (PCGrad, Yu et al. 2020) when a step trains several tasks: on the
    parameters two or more of them reach, each task's gradient is projected off every other task's (in a random
    order) where their dot product is negative, ``g_i <- g_i - (g_i . g_j) / |g_j|^2 g_j``; the projected
    gradients are summed. A one-task step is plain back-propagation."""

    def __init__(self, tasks, config):
        super().__init__(tasks, config)
        self.rng = random.Random(config.seed)

    def backward(self, losses, extra, parameters):
        if len(losses) < 2 or extra is not None:  # extra: a one-task step's regularization term
            return super().backward(losses, extra, parameters)
        weights = self.weights()
        grads = gradients({t: weights[t] * loss for t, loss in losses.items()}, parameters)
        shared = []  # the parameters two or more tasks reach; the others take their one task's gradient as it is
        for i, p in enumerate(parameters):
            parts = [g[i] for g in grads.values() if g[i] is not None]
            if len(parts) >= 2:
                shared.append(i)
            elif parts:
                p.grad = parts[0]
        if not shared:
            return
        flat = {t: torch.cat([(g[i] if g[i] is not None else torch.zeros_like(parameters[i])).flatten()
                              for i in shared]) for t, g in grads.items()}
        total = sum(project(flat[t], [flat[u] for u in self.order(t, list(flat))]) for t in flat)
        sizes = [parameters[i].numel() for i in shared]
        for i, g in zip(shared, torch.split(total, sizes)):
            parameters[i].grad = g.view_as(parameters[i])

    def order(self, task: str, tasks: list[str]) -> list[str]:
        others = [u for u in tasks if u != task]
        self.rng.shuffle(others)
        return others

    def state_dict(self):
        version, internal, gauss = self.rng.getstate()
        return {"rng": [version, list(internal), gauss]}

    def load_state_dict(self, state):
        if "rng" in state:
            version, internal, gauss = state["rng"]
            self.rng.setstate((version, tuple(internal), gauss))


def project(g: torch.Tensor, others: list[torch.Tensor]) -> torch.Tensor:
    """PCGrad's projection of ``g`` off each of ``others`` in turn where it conflicts with it.

    >>> project(torch.tensor([1.0, 0.0]), [torch.tensor([-1.0, 1.0])]).tolist()
    [0.5, 0.5]
    >>> project(torch.tensor([1.0, 0.0]), [torch.tensor([1.0, 1.0])]).tolist()
    [1.0, 0.0]
    """
    g = g.clone()
    for other in others:
        dot = torch.dot(g, other)
        if dot < 0:
            g = g - dot / other.pow(2).sum().clamp(min=1e-20) * other
    return g


WEIGHTINGS = {"static": StaticWeighting, "uncertainty": UncertaintyWeighting, "dtp": DTPWeighting,
              "pcgrad": PCGradWeighting}
