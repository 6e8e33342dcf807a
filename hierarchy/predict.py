"""Annotate sentences (and sentence pairs) with a trained model, and score the annotations against gold corpora."""
from __future__ import annotations

import dataclasses

import torch

from .batching import batches
from .config import PAIR_TASKS
from .corpus.pairs import as_pair
from .errors import ConfigError
from .corpus.srl import word_lemmas
from .metrics import (AccuracyMetric, AttachmentMetric, ChunkMetric, EntailmentMetric, PredicateMetric,
                      RelatednessMetric, SpanSRLMetric, SRLMetric)
from .tasks.srl import NO_SENSE, NOT_PREDICATE, is_bio, roleset


PRECISIONS = ("auto", "bf16", "fp32")  # see autocast


def autocast(device: torch.device, precision: str = "auto"):
    """bf16 autocast where ``precision`` asks for it: ``auto`` on CUDA only, ``bf16`` on any device (on a CPU it
    pays only where the CPU computes in bf16 natively, AMX or AVX512-BF16), ``fp32`` nowhere."""
    enabled = check_precision(precision) == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def check_precision(precision: str) -> str:
    """``precision`` when it is one of :data:`PRECISIONS`; else a :class:`ConfigError`."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not '{precision}'")
    return precision


@torch.no_grad()
def annotate(model, vocabs, sentences, tasks=None, batch_tokens: int = 4000, device=None, inject=None,
             precision: str = "auto") -> list:
    """Return copies of ``sentences`` whose fields hold the model's predictions for ``tasks`` (default: all
    sentence tasks; the sentence-pair tasks are left out, see :func:`predict_pairs`). ``inject``: one head list
    per sentence (1-based, 0 = root), the parse a LISA syntax head attends to instead of its own distribution.
    ``precision``: see :func:`autocast`.

    Sentences are batched by length; the output keeps the input order. Batched predictions equal one-by-one ones
    (in fp32: bf16 rounds a little differently in batches of other shapes).
    """
    tasks = [t for t in (model.depth if tasks is None else tasks) if t in model.depth and t not in PAIR_TASKS]
    if inject is not None and len(inject) != len(sentences):
        raise ValueError(f"inject: {len(inject)} parses for {len(sentences)} sentences")
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = list(sentences)
    try:
        nonempty = [i for i, s in enumerate(sentences) if len(s) > 0]
        inputs = [sentences[i] if inject is None else dataclasses.replace(sentences[i], heads=inject[i])
                  for i in nonempty]
        for batch in batches(inputs, vocabs, batch_tokens, inject=inject is not None, gold=False):
            fields = {}
            with autocast(device, precision):
                scores = model(batch.to(device), tasks)
                for name in tasks:
                    fields.update(model.tasks[name].decode(scores[name], batch))
            for row, i in enumerate(batch.index):
                k = nonempty[i]
                labels = {f: _labels(vocabs, f, v[row], out[k]) for f, v in fields.items()}
                out[k] = dataclasses.replace(out[k], **labels)
    finally:
        model.train(was_training)
    return out


def _labels(vocabs, field: str, ids: list, sentence) -> list:
    if field == "heads":
        return ids
    if field == "senses":
        numbers, seen = vocabs.labels["senses"].itos, vocabs.labels["sense_lemmas"].stoi
        lemmas, renamed = word_lemmas(sentence), vocabs.renamed_lemmas
        return ["_" if i == NOT_PREDICATE else roleset(lemmas[k], None if i == NO_SENSE else numbers[i], seen, renamed)
                for k, i in enumerate(ids)]
    if field == "roles":
        itos = vocabs.labels["roles"].itos
        return [[itos[i] for i in column] for column in ids]
    itos = vocabs.labels[field].itos
    return [itos[i] for i in ids]


@torch.no_grad()
def predict_pairs(model, vocabs, pairs, batch_tokens: int = 4000, device=None, precision: str = "auto") -> list[dict]:
    """For each pair, ``{"label": str, "probabilities": {label: p}, "relatedness": float}`` (``None`` for a layer
    the model lacks). ``pairs`` are :class:`~hierarchy.corpus.Pair` objects or ``(premise, hypothesis)`` tuples of
    texts (tokenized with spaCy), word lists or Sentences. Batched by length; the output keeps the input order.
    ``precision``: see :func:`autocast`.
    """
    tasks = [t for t in PAIR_TASKS if t in model.depth]
    if not tasks:
        raise ConfigError(f"the model has no sentence-pair layer ({' or '.join(PAIR_TASKS)}); it has "
                          f"{', '.join(model.depth)}")
    pairs = [as_pair(p) for p in pairs]
    for i, pair in enumerate(pairs):
        if not (len(pair.premise) and len(pair.hypothesis)):
            raise ValueError(f"pair {i} ({pair.source or 'input'}): a sentence of the pair is empty")
    device = device or next(model.parameters()).device
    labels = vocabs.labels["entailment"].itos if "entailment" in model.depth else []
    out = [{"label": None, "probabilities": None, "relatedness": None} for _ in pairs]
    was_training = model.training
    model.eval()
    try:
        for batch in batches(pairs, vocabs, batch_tokens):
            with autocast(device, precision):
                scores = model(batch.to(device), tasks)
                decoded = {name: model.tasks[name].decode(scores[name], batch) for name in scores if name in PAIR_TASKS}
            for row, i in enumerate(batch.index):
                if "relatedness" in decoded:
                    out[i]["relatedness"] = decoded["relatedness"]["score"][row]
                if "entailment" in decoded:
                    out[i]["label"] = labels[decoded["entailment"]["label"][row]]
                    out[i]["probabilities"] = dict(zip(labels, decoded["entailment"]["probabilities"][row]))
    finally:
        model.train(was_training)
    return out


def score(task: str, predicted, gold) -> dict:
    """Metrics of one task over aligned predicted and gold sentences: ``{name: metric}``. For ``relatedness`` and
    ``entailment``, ``predicted`` are :func:`predict_pairs` dicts and ``gold`` the pairs; pairs without the gold
    annotation are left out."""
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
    if task == "predicates":
        metric = PredicateMetric()
        for p, g in zip(predicted, gold):
            if g.senses is not None:
                metric.update(p.senses, None, g.senses, None)
        return {"predicates": metric}
    if task == "srl":
        span = is_bio({label for g in gold for column in g.roles or [] for label in column} or {"_"})
        metric = SpanSRLMetric() if span else SRLMetric()
        for p, g in zip(predicted, gold):
            if g.senses is not None:
                metric.update(p.senses, p.roles, g.senses, g.roles)
        return {"srl": metric}
    if task == "relatedness":
        metric = RelatednessMetric()
        rows = [(p["relatedness"], g.score) for p, g in zip(predicted, gold) if g.score is not None]
        metric.update([p for p, _ in rows], [g for _, g in rows])
        return {"relatedness": metric}
    if task == "entailment":
        metric = EntailmentMetric()
        rows = [(p["label"], g.label) for p, g in zip(predicted, gold) if g.label is not None]
        metric.update([p for p, _ in rows], [g for _, g in rows])
        return {"entailment": metric}
    raise ValueError(task)


def evaluate(model, vocabs, corpora: dict[str, list], batch_tokens: int = 4000, device=None, precision: str = "auto"):
    """Score each task on its own corpus: ``{task: sentences or pairs}`` -> ``({task: {name: metric}},
    {task: predicted})``. The two pair tasks share one prediction run when they read the same pairs."""
    results, predictions = {}, {}
    for task, items in corpora.items():
        if task in PAIR_TASKS:
            shared = [predictions[t] for t in PAIR_TASKS if t in predictions and corpora[t] == items]
            predictions[task] = (shared[0] if shared
                                 else predict_pairs(model, vocabs, items, batch_tokens, device, precision))
        else:
            predictions[task] = annotate(model, vocabs, items, [task], batch_tokens, device, precision=precision)
        results[task] = score(task, predictions[task], items)
    return results, predictions
