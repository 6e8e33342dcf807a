"""Crash-safe training checkpoints: model and optimiser tensors plus the loop's state in ONE safetensors file
(the state as JSON in its metadata), written to a temporary file and renamed, so a crash never leaves a
checkpoint whose parts disagree. Nothing is pickled."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from hierarchy.core.persistence import check_finite, check_shapes, header_dtype, save_tensors
from hierarchy.io.errors import ConfigError

NAME = "checkpoint.safetensors"


def save_checkpoint(directory, model, optimizer, state: dict, average=None) -> None:
    """``state`` is any JSON-able dict (epoch, best score, history...); ``average``: a
    :class:`~hierarchy.training.ema.WeightAverage`, whose tensors are stored as ``ema.<parameter>``."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    if average is not None:
        tensors.update({f"ema.{k}": v for k, v in average.state_dict().items()})
    optim = optimizer.state_dict()
    for index, slots in optim["state"].items():
        for key, value in slots.items():
            tensors[f"optim.{index}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():  # dropout on a GPU draws from its own generators
        for k, rng in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{k}"] = rng
    meta = {"state": json.dumps(state), "param_groups": json.dumps(optim["param_groups"])}
    save_tensors(tensors, Path(directory) / NAME, meta)


def load_checkpoint(directory, model, optimizer, average=None) -> dict:
    """Restore model, optimiser, RNG and ``average`` (restarted from the weights if the checkpoint has none) from
    ``directory``; return the loop state saved with them."""
    path = Path(directory) / NAME
    if not path.is_file():
        raise ConfigError(f"{path}: no checkpoint to resume from")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as e:
        raise ConfigError(f"{path}: not a valid checkpoint ({e})") from None
    if "state" not in meta:
        raise ConfigError(f"{path}: not a training checkpoint (no state in its metadata)")
    try:
        loop_state, param_groups = json.loads(meta["state"]), json.loads(meta.get("param_groups", ""))
        assert isinstance(loop_state, dict) and isinstance(param_groups, list)
    except (json.JSONDecodeError, AssertionError):
        raise ConfigError(f"{path}: not a training checkpoint (its metadata is not the JSON state it should be)"
                          ) from None
    state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    expected = {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}
    check_shapes(expected, {k: (tuple(v.shape), header_dtype(v.dtype)) for k, v in state.items()}, path)
    check_finite(state, path)
    model.load_state_dict(state)
    if average is not None:
        load_average(average, {k: v for k, v in tensors.items() if k.startswith("ema.")}, path)
    slots: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            slots.setdefault(int(index), {})[name] = value
    try:
        optimizer.load_state_dict({"state": slots, "param_groups": param_groups})
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: the optimizer state does not fit this model ({e})") from None
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[f"rng.cuda.{k}"] for k in range(torch.cuda.device_count()) if f"rng.cuda.{k}" in tensors]
    if cuda and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    return loop_state


def load_average(average, tensors: dict, path) -> None:
    """Set ``average`` from a checkpoint's ``ema.<parameter>`` tensors, checked like the model's; none: it restarts
    from the weights (a run that turned ``train.ema`` on when resumed)."""
    if not tensors:
        average.reset()
        return
    expected = {f"ema.{k}": (tuple(v.shape), v.dtype) for k, v in average.state_dict().items()}
    check_shapes(expected, {k: (tuple(v.shape), header_dtype(v.dtype)) for k, v in tensors.items()}, path)
    check_finite(tensors, path)
    average.load_state_dict({k[4:]: v for k, v in tensors.items()})
