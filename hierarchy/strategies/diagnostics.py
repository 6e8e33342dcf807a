"""Seeing interference instead of guessing: the cosine between two tasks' gradients on the parameters both reach
(the embeddings and the layers below both), and each task's gradient norm."""
from __future__ import annotations

import itertools

import torch


def gradients(losses: dict[str, torch.Tensor], parameters: list) -> dict[str, tuple]:
    """``{task: (gradient or None per parameter)}``, without touching ``.grad``."""
    return {task: torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True)
            for task, loss in losses.items()}


def interference(grads: dict[str, tuple]) -> dict:
    """``{"cosine": {"a|b": cos}, "norm": {task: |g|}}``: the cosine of each pair of tasks' gradients over the
    parameters both reach (pairs that share none are left out), and each task's norm over all it reaches.

    >>> g = {"a": (torch.tensor([1.0, 0.0]), None), "b": (torch.tensor([1.0, 1.0]), torch.tensor([2.0]))}
    >>> out = interference(g)
    >>> round(out["cosine"]["a|b"], 4), out["norm"]["a"]
    (0.7071, 1.0)
    """
    out = {"cosine": {}, "norm": {}}
    for task, g in grads.items():
        out["norm"][task] = float(torch.sqrt(sum((x.float() ** 2).sum() for x in g if x is not None)))
    for a, b in itertools.combinations(grads, 2):
        both = [(x, y) for x, y in zip(grads[a], grads[b]) if x is not None and y is not None]
        if not both:
            continue
        x = torch.cat([p.flatten().float() for p, _ in both])
        y = torch.cat([q.flatten().float() for _, q in both])
        out["cosine"][f"{a}|{b}"] = float(torch.nn.functional.cosine_similarity(x, y, dim=0))
    return out


def mean(records: list[dict]) -> dict:
    """The mean of several :func:`interference` records, key by key (with their count, ``n``)."""
    if not records:
        return {}
    out = {"n": len(records)}
    for kind in ("cosine", "norm"):
        keys = dict.fromkeys(k for r in records for k in r[kind])  # in the order of the stack
        out[kind] = {k: sum(r[kind][k] for r in records if k in r[kind]) / sum(k in r[kind] for r in records)
                     for k in keys}
    return out
