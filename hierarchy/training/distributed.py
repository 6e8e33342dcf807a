"""Data-parallel training over processes started by ``torchrun`` (``hierarchy train --nproc N``): NCCL on CUDA,
gloo on the CPU. Every rank draws the same tasks in the same order (the sampler's generator is seeded alike) and
trains on its own share of each task's batches; after each backward pass the gradients are averaged over the
ranks, so every rank takes the same optimizer step and holds the same weights. The gradients are averaged after
the weighting's backward pass rather than by DistributedDataParallel's hooks, because some weightings (PCGrad, the
gradient diagnostics) compute gradients with ``torch.autograd.grad``, which those hooks never see: the averaged
gradients are the ones DDP would give, without overlapping the communication with the backward pass. Rank 0
alone writes the model directory."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """``(rank, world size)`` from torchrun's environment; ``(0, 1)`` in a plain process."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def device(device: torch.device) -> torch.device:
    """The rank's device: its own GPU (``LOCAL_RANK``) under torchrun on CUDA, else ``device``."""
    if device.type == "cuda" and world()[1] > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def start(device: torch.device) -> None:
    """Join the process group (once), where there is more than one rank."""
    if world()[1] > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def shard(batches: list, rank: int, size: int) -> list:
    """Rank ``rank``'s share of ``batches``: every ``size``-th, from its own; all ranks get as many (the shorter
    shares repeat their first batches), so that they take the same steps.

    >>> [shard(list("abcde"), r, 2) for r in (0, 1)]
    [['a', 'c', 'e'], ['b', 'd', 'b']]
    """
    own, n = batches[rank::size], -(-len(batches) // size)
    return [own[k % len(own)] for k in range(n)] if own else batches[:n]


def average_gradients(parameters: list[torch.nn.Parameter]) -> None:
    """Average the gradients of ``parameters`` over the ranks, in one all-reduce (a missing gradient counts as 0)."""
    size = dist.get_world_size()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    flat = torch.cat([g.reshape(-1).float() for g in grads])
    dist.all_reduce(flat)
    flat /= size
    for p, g, mean in zip(parameters, grads, torch.split(flat, [g.numel() for g in grads])):
        p.grad = mean.view_as(g).to(g.dtype)


def _here() -> torch.device:
    """Where this rank's collective tensors must be: its GPU under NCCL, else the CPU."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def total(value: float) -> float:
    """The sum of ``value`` over the ranks."""
    if not dist.is_initialized():
        return value
    t = torch.tensor([float(value)], dtype=torch.float64, device=_here())
    dist.all_reduce(t)
    return t.item()


def check_same(model: torch.nn.Module) -> None:
    """Raise when the ranks' weights differ (they take the same steps from the same start, so they must not)."""
    if not dist.is_initialized():
        return
    digest = torch.stack([p.detach().double().sum() for p in model.parameters()]).to(_here())
    found = [torch.zeros_like(digest) for _ in range(dist.get_world_size())]
    dist.all_gather(found, digest)
    if any(not torch.allclose(found[0], other, rtol=1e-6, atol=1e-9) for other in found[1:]):
        raise RuntimeError("data-parallel ranks hold different weights (their steps diverged)")
