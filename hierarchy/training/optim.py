"""The optimizer and its learning-rate schedule, built in one place (the trainer and the tests use these)."""
from __future__ import annotations

import torch

ENCODER = "encoder"  # the parameter group of a fine-tuned transformer input (or of its tuned layers)


def parameter_groups(model, extra=()) -> list[dict]:
    """The trainable parameters of ``model`` (and ``extra`` ones, e.g. a weighting's) as optimizer groups: a
    fine-tuned transformer input's in a group named :data:`ENCODER`, the rest in one named ``main``."""
    transformer = model.embed.transformer
    encoder = transformer.tuned_parameters() if transformer is not None else []
    own = {id(p) for p in encoder}
    main = [p for p in [*model.parameters(), *extra] if id(p) not in own]  # frozen ones too: checkpoints list them
    return [{"params": main, "name": "main"}] + ([{"params": encoder, "name": ENCODER}] if encoder else [])


def make_optimizer(parameters, config) -> torch.optim.Optimizer:
    """Adam with ``betas=(0.9, 0.9)`` (Dozat & Manning) at ``train.lr`` over ``parameters`` (tensors or the
    groups of :func:`parameter_groups`); torch's fused kernel (one call for every tensor: 3.5 ms a step for the
    3.5M parameters of jmt-ewt-fast on one CPU thread, against 11 ms one tensor at a time)."""
    return torch.optim.Adam(parameters, config.lr, betas=(0.9, 0.9), fused=True)


def learning_rate(config, epoch: int) -> float:
    """The learning rate of ``epoch`` (1-based): ``lr * lr_decay ** (epoch - 1)``, a pure function of the epoch.

    >>> from types import SimpleNamespace
    >>> learning_rate(SimpleNamespace(lr=0.1, lr_decay=0.5), 3)
    0.025
    """
    return config.lr * config.lr_decay ** (epoch - 1)


def encoder_learning_rate(transformer, config, epoch: int, step: int) -> float:
    """A fine-tuned encoder's rate at optimizer ``step`` (0-based, counted over the whole run) of ``epoch``:
    ``transformer.lr``, decayed like :func:`learning_rate`, times a linear warm-up over ``transformer.warmup`` steps.

    >>> from types import SimpleNamespace
    >>> encoder_learning_rate(SimpleNamespace(lr=1e-4, warmup=4), SimpleNamespace(lr_decay=1.0), 1, 1)
    5e-05
    """
    warm = min(1.0, (step + 1) / transformer.warmup) if transformer.warmup else 1.0
    return transformer.lr * config.lr_decay ** (epoch - 1) * warm


def set_learning_rate(optimizer, config, epoch: int, transformer=None, step: int = 0) -> None:
    """Set every group's rate for ``epoch`` (``config``: a TrainConfig); the :data:`ENCODER` group's for ``step``
    of it as :func:`encoder_learning_rate` says (``transformer``: the model's TransformerConfig)."""
    for group in optimizer.param_groups:
        if group.get("name") == ENCODER:
            group["lr"] = encoder_learning_rate(transformer, config, epoch, step)
        else:
            group["lr"] = learning_rate(config, epoch)
