"""``hierarchy inspect MODEL``: what training saw, from a model directory's log.jsonl and metrics.json: the
weights each weighting chose, AutoSeM's mixing ratio, and the interference between tasks (the cosine between their
gradients on the parameters they share, from ``train.diagnose_every``), with ``interference.png``."""
from __future__ import annotations

import json
from pathlib import Path

from hierarchy.io.errors import ConfigError
from hierarchy.training.plot import line_plot


def read_history(directory) -> list[dict]:
    """The epochs of log.jsonl in the model directory; a clear error when it has none."""
    path = Path(directory) / "log.jsonl"
    if not path.is_file():
        raise ConfigError(f"{path}: file not found (expected a model directory written by hierarchy train)")
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}: not a JSON line ({e.msg})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason})") from None


def cosine_matrix(record: dict) -> tuple[list[str], list[list[float | None]]]:
    """``(tasks, rows)``: a symmetric matrix of the ``"a|b"`` cosines of an interference record (1 on the
    diagonal, None where two tasks share no parameter).

    >>> cosine_matrix({"cosine": {"pos|deps": -0.25}, "norm": {"pos": 1.0, "deps": 2.0}})
    (['pos', 'deps'], [[1.0, -0.25], [-0.25, 1.0]])
    """
    tasks = list(record["norm"])
    rows = [[1.0 if a == b else record["cosine"].get(f"{a}|{b}", record["cosine"].get(f"{b}|{a}")) for b in tasks]
            for a in tasks]
    return tasks, rows


def report(directory) -> str:
    """The text ``hierarchy inspect`` prints."""
    history = read_history(directory)
    metrics_path = Path(directory) / "metrics.json"
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{metrics_path}: not valid JSON ({e})") from None
    if not history:
        return f"{directory}: no finished epoch"
    last = history[-1]
    lines = [f"{directory}: {len(history)} epochs, best {metrics.get('best_epoch', '?')}"]
    weights = (last.get("weighting") or {}).get("weights")
    if weights:
        lines.append("loss weights at the last epoch: " + ", ".join(f"{t} {w:.3f}" for t, w in weights.items()))
    for task, shares in (last.get("mix") or {}).items():
        lines.append(f"{task} reads layers " + ", ".join(f"{k} {s:.3f}" for k, s in enumerate(shares))
                     + " (its learned mix, bottom first)")
    ratio = metrics.get("mixing_ratio")
    if ratio:
        lines.append("AutoSeM mixing ratio: " + ", ".join(f"{t} {r:.3f}" for t, r in ratio.items()))
    record = last.get("interference") or {}
    if not record.get("norm"):
        lines.append("no gradient diagnostics (train with train.diagnose_every = N to record them)")
        return "\n".join(lines)
    tasks, rows = cosine_matrix(record)
    width = max(len(t) for t in tasks) + 2
    lines.append(f"gradient cosines on shared parameters, mean of {record['n']} steps of epoch {last['epoch']} "
                 "(negative: the tasks pull apart):")
    lines.append(" " * width + "".join(f"{t:>{width}}" for t in tasks))
    for task, row in zip(tasks, rows):
        lines.append(f"{task:<{width}}" + "".join(f"{'-' if c is None else f'{c:.3f}':>{width}}" for c in row))
    lines.append("gradient norms: " + ", ".join(f"{t} {n:.3g}" for t, n in record["norm"].items()))
    return "\n".join(lines)


def plot_interference(history: list[dict], path) -> bool:
    """One line per task pair: its mean gradient cosine by epoch (False, nothing written, without diagnostics)."""
    series: dict[str, list[tuple[int, float]]] = {}
    for line in history:
        for pair, cosine in (line.get("interference") or {}).get("cosine", {}).items():
            series.setdefault(pair.replace("|", " / "), []).append((line["epoch"], cosine))
    if series:
        line_plot(series, path, "gradient cosine (shared parameters)", "Interference between tasks", zero=True)
    return bool(series)
