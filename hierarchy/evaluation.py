"""Scoring a model layer by layer on gold files: ``hierarchy.evaluate("models/jmt", conllu="dev.conllu")`` and
``hierarchy evaluate``. Each gold file scores the model's tasks that read it (``--conllu``: pos, deps; ``--chunks``:
chunks...: the task specs' ``flag``); every file is read and checked before anything is predicted or written."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from hierarchy.core.persistence import load_config_file, load_model, resolve_device
from hierarchy.core.predict import Predictor, check_precision
from hierarchy.io import read_conllu
from hierarchy.io.errors import HierarchyError
from hierarchy.io.fileio import check_writable, refuse_inside_model
from hierarchy.tasks import TASKS


def gold_flags() -> dict[str, list[str]]:
    """``{flag: tasks}``: a gold file given as ``flag`` scores these tasks (from the task specs)."""
    flags = {}
    for name, spec in TASKS.items():
        flags.setdefault(spec.flag, []).append(name)
    return flags


def data_options() -> dict[str, tuple]:
    """``{option: allowed values}``: the ``[data]`` options the tasks declare (``srl_format``)."""
    return {name: allowed for spec in TASKS.values() for name, allowed in spec.options.items()}


@dataclass
class Evaluation:
    """``results``: ``{task: {metric: values}}`` (what ``--json`` prints); ``rows``: ``(layer, task, metric name,
    metric)`` for :func:`score_table`; ``reports``: what the tasks add below the table (a confusion matrix)."""

    results: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    reports: list = field(default_factory=list)


def evaluate(model, *, inject_parse: str | None = None, write_predictions=None, device: str = "auto",
             batch_tokens: int = 4000, precision: str = "auto", **gold) -> dict:
    """Score the model directory ``model`` on gold files given by flag (``conllu=``, ``chunks=``, ``mentions=``,
    ``srl=``, ``pairs=``) with their format options (``srl_format="conll05"``); ``{task: {metric: values}}``.

    ``inject_parse``: LISA's syntax head attends to this parse instead of its own: ``"gold"`` (the HEAD column of
    each gold file) or a CoNLL-U file with the same sentences. ``write_predictions``: a directory for the predicted
    files. A :class:`~hierarchy.io.errors.HierarchyError` names what is wrong with an input."""
    return run(Path(model), gold, inject_parse, write_predictions, device, batch_tokens, precision).results


def run(model_dir: Path, gold: dict, inject_parse=None, write_predictions=None, device: str = "auto",
        batch_tokens: int = 4000, precision: str = "auto") -> Evaluation:
    """:func:`evaluate`, with the rows of the table and the reports (``gold``: flags and options, as there)."""
    flags, options = gold_flags(), data_options()
    files = {name: Path(value) for name, value in gold.items() if name in flags and value is not None}
    for name in gold:
        if name not in flags and name not in options:
            raise HierarchyError(f"unknown gold file or option '{name}' (expected one of "
                                 f"{', '.join([*flags, *options])})")
    if not files:
        raise HierarchyError("give at least one gold file: " + ", ".join(f"--{f} FILE" for f in flags))
    if batch_tokens < 1:
        raise HierarchyError(f"--batch-tokens must be at least 1, not {batch_tokens}")
    check_precision(precision)
    if write_predictions:
        write_predictions = Path(write_predictions)
        check_writable(write_predictions, directory=True)
        refuse_inside_model(write_predictions, "--write-predictions")
    data = load_config_file(model_dir / "config.toml").data
    for name, value in gold.items():
        if name in options:
            if value not in options[name]:
                raise HierarchyError(f"--{name.replace('_', '-')} must be "
                                     f"{' or '.join(repr(v) for v in options[name])}, not '{value}'")
            setattr(data, name, value)
    model, _, vocabs = load_model(model_dir, resolve_device(device))
    for flag in files:
        if not any(t in model.depth for t in flags[flag]):
            raise HierarchyError(f"{model_dir}: the model has no {flag} layer ({', '.join(flags[flag])}); "
                                 f"it has {', '.join(model.depth)}")
    golds = {flag: TASKS[flags[flag][0]].read(path, data) for flag, path in files.items()}
    injection = next((TASKS[t].inject for t in model.depth if TASKS[t].inject), None)
    if inject_parse and (injection is None or not any(getattr(layer, "syntax_head", False) for layer in model.layers)):
        raise HierarchyError(f"{model_dir}: --inject-parse needs a model with a syntax head (models/lisa.toml)")
    parse = read_conllu(inject_parse) if inject_parse and inject_parse != "gold" else None
    predictor = Predictor(model, vocabs, None, precision, batch_tokens)
    out = Evaluation()
    for flag, sentences in golds.items():
        tasks = [t for t in model.depth if t in flags[flag]]
        with_heads = inject_parse and hasattr(sentences[0], "heads") and any(s.heads is not None for s in sentences)
        injected = injection.heads(inject_parse, parse, files[flag], sentences) if with_heads else None
        predicted = predictor(sentences, tasks, injected)
        for task in tasks:
            spec = TASKS[task]
            for name, metric in spec.metric(predicted, sentences, vocabs).items():
                out.results.setdefault(task, {})[name] = metric.values | spec.details(metric)
                out.rows.append((model.depth[task] + 1, task, name, metric))
                out.reports += spec.report(metric)
        writer = next((TASKS[t].writers.file for t in tasks if TASKS[t].writers.file), None)
        if write_predictions and writer:
            suffix = writer[0](data) if callable(writer[0]) else writer[0]
            write_predictions.mkdir(parents=True, exist_ok=True)
            writer[1](write_predictions / (files[flag].stem + suffix), sentences, predicted, data)
    out.rows.sort(key=lambda row: row[0])
    return out


def score_table(rows) -> Table:
    """One row per metric of each layer, as its task's spec lays it out (``TaskSpec.rows``)."""
    table = Table(title="Per-layer scores")
    for column in ("layer", "task", "metric", "precision", "recall", "F1 / acc"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")

    def cell(value) -> str:
        return "" if value is None else value if isinstance(value, str) else f"{value:.2f}"

    for depth, task, name, metric in rows:
        for k, (label, *values) in enumerate(TASKS[task].rows(name, metric)):
            first = k == 0 or not label.startswith("  ")
            table.add_row(str(depth) if first else "", TASKS[task].title if first else "", label, *map(cell, values))
    return table
