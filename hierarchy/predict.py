"""Annotate sentences with a trained model, and score the annotations against gold corpora."""
from __future__ import annotations

import dataclasses

import torch

from .batching import batches
from .metrics import AccuracyMetric, AttachmentMetric, ChunkMetric


def autocast(device: torch.device):
    """bf16 autocast on CUDA, a no-op on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def annotate(model, vocabs, sentences, tasks=None, batch_tokens: int = 4000, device=None) -> list:
    """Return copies of ``sentences`` whose fields hold the model's predictions for ``tasks`` (default: all).

    Sentences are batched by length; the output keeps the input order. Batched predictions equal one-by-one ones.
    """
    tasks = list(model.depth) if tasks is None else [t for t in tasks if t in model.depth]
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = list(sentences)
    try:
        nonempty = [i for i, s in enumerate(sentences) if len(s) > 0]
        for batch in batches([sentences[i] for i in nonempty], vocabs, batch_tokens):
            with autocast(device):
                scores = model(batch.to(device), tasks)
            fields = {}
            for name in tasks:
                fields.update(model.tasks[name].decode(scores[name], batch))
            for row, i in enumerate(batch.index):
                k = nonempty[i]
                out[k] = dataclasses.replace(out[k], **{f: _labels(vocabs, f, v[row]) for f, v in fields.items()})
    finally:
        model.train(was_training)
    return out


def _labels(vocabs, field: str, ids: list[int]) -> list:
    if field == "heads":
        return ids
    itos = vocabs.labels[field].itos
    return [itos[i] for i in ids]


def score(task: str, predicted, gold) -> dict:
    """Metrics of one task over aligned predicted and gold sentences: ``{name: metric}``."""
    if task == "pos":
        metrics = {"upos": AccuracyMetric(), "xpos": AccuracyMetric()}
        for p, g in zip(predicted, gold):
            for f, metric in metrics.items():
                if getattr(g, f) is not None:
                    metric.update(getattr(p, f), getattr(g, f))
        return {f: m for f, m in metrics.items() if m.n_tokens}
    if task == "chunks":
        metric = ChunkMetric()
        for p, g in zip(predicted, gold):
            if g.chunks is not None:
                metric.update(p.chunks, g.chunks)
        return {"chunks": metric}
    if task == "deps":
        metric = AttachmentMetric()
        for p, g in zip(predicted, gold):
            if g.heads is not None:
                metric.update(p.heads, p.rels, g.heads, g.rels)
        return {"deps": metric}
    raise ValueError(task)


def evaluate(model, vocabs, corpora: dict[str, list], batch_tokens: int = 4000, device=None):
    """Score each task on its own corpus: ``{task: sentences}`` -> ``({task: {name: metric}}, {task: predicted})``."""
    results, predictions = {}, {}
    for task, sentences in corpora.items():
        predictions[task] = annotate(model, vocabs, sentences, [task], batch_tokens, device)
        results[task] = score(task, predictions[task], sentences)
    return results, predictions
