"""Weight averaging: an exponential moving average of a model's trained parameters (Polyak averaging), which the
loop scores on dev beside the weights themselves and saves as the model when it scores higher (``train.ema``)."""
from __future__ import annotations

import contextlib

import torch
from torch import nn


class WeightAverage:
    """After optimizer step ``t`` (counted over the whole run, from 1), every trained parameter's average moves as
    ``avg = decay * avg + (1 - decay) * theta``; until step ``start`` it is the weights themselves, so the first
    steps' (random) weights do not linger in it. Frozen parameters and buffers are not averaged.

    >>> layer = nn.Linear(1, 1, bias=False)
    >>> _ = nn.init.zeros_(layer.weight)
    >>> average = WeightAverage(layer, decay=0.5)
    >>> _ = nn.init.constant_(layer.weight, 2.0); average.update(1)
    >>> _ = nn.init.constant_(layer.weight, 4.0); average.update(2)
    >>> average.shadow["weight"].item()  # 0.5 * (0.5 * 0 + 0.5 * 2) + 0.5 * 4
    2.5
    """

    def __init__(self, model: nn.Module, decay: float, start: int = 0):
        self.decay, self.start = decay, start
        self.parameters = {name: p for name, p in model.named_parameters() if p.requires_grad}
        self.shadow = {name: p.detach().clone() for name, p in self.parameters.items()}

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Fold in the weights after optimizer step ``step``."""
        shadow, weights = list(self.shadow.values()), [p.detach() for p in self.parameters.values()]
        if step <= self.start:
            torch._foreach_copy_(shadow, weights)
        else:
            torch._foreach_lerp_(shadow, weights, 1 - self.decay)  # avg + (1 - decay) * (theta - avg)

    @torch.no_grad()
    def reset(self) -> None:
        """Make the average the weights as they are (a run resumed from a checkpoint without an average)."""
        torch._foreach_copy_(list(self.shadow.values()), [p.detach() for p in self.parameters.values()])

    @contextlib.contextmanager
    def applied(self):
        """Inside, the model holds the averaged weights; after, its own again, bit for bit."""
        own = [p.detach().clone() for p in self.parameters.values()]
        with torch.no_grad():
            torch._foreach_copy_([p.detach() for p in self.parameters.values()], list(self.shadow.values()))
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([p.detach() for p in self.parameters.values()], own)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{parameter name: its average}``, the tensors a checkpoint stores."""
        return dict(self.shadow)

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, tensor in state.items():
            self.shadow[name].copy_(tensor)
