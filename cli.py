"""The command line: ``hierarchy train``, ``evaluate``, ``annotate`` and ``package``."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from hierarchy.errors import HierarchyError

app = typer.Typer(
    help="Train, evaluate and apply a linguistic hierarchy (POS -> chunks -> dependencies) from CoNLL files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
LAYER_NAMES = {"pos": "POS", "chunks": "chunks", "deps": "dependencies"}


def fail(error: Exception):
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(2)


def parse_overrides(args: list[str]) -> list[str]:
    """``--data.pos=x --train.epochs 3`` -> ``["data.pos=x", "train.epochs=3"]``."""
    overrides, i = [], 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or "." not in arg.split("=")[0]:
            raise HierarchyError(f"command line: unexpected argument '{arg}' (overrides look like --train.epochs=3)")
        if "=" in arg:
            overrides.append(arg[2:])
        elif i + 1 < len(args):
            overrides.append(f"{arg[2:]}={args[i + 1]}")
            i += 1
        else:
            raise HierarchyError(f"command line: override '{arg}' has no value")
        i += 1
    return overrides


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    recipe: Path = typer.Argument(..., help="A TOML recipe such as models/jmt.toml."),
    output: Optional[Path] = typer.Option(None, help="Model directory.", show_default="the recipe's path without .toml"),
    resume: bool = typer.Option(False, help="Continue an interrupted run from its last checkpoint."),
    force: bool = typer.Option(False, help="Overwrite an existing model directory."),
    device: Optional[str] = typer.Option(None, help="auto, cpu or cuda.", show_default="the recipe's train.device"),
    quiet: bool = typer.Option(False, help="No progress bars."),
):
    """Train a model from a recipe. Any recipe key can be overridden: --data.pos=FILE --train.epochs=3."""
    from hierarchy.config import load_config
    from hierarchy.training import Trainer, check_output

    try:
        overrides = parse_overrides(ctx.args)
        if device:
            overrides.append(f"train.device={device}")
        config = load_config(recipe, overrides)
        out = output or Path(config.train.output or recipe.with_suffix(""))
        check_output(out, resume, force)
        trainer = Trainer(config, out, progress=not quiet)
        state = trainer.fit(resume=resume)
    except HierarchyError as e:
        fail(e)
    typer.echo(f"best dev score {state['best']:.2f} at epoch {state['best_epoch']}; model in {out}")


@app.command()
def evaluate(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    conllu: Optional[Path] = typer.Option(None, help="CoNLL-U file: scores UPOS, XPOS, UAS and LAS."),
    chunks: Optional[Path] = typer.Option(None, help="CoNLL-2000 file (WORD POS CHUNK): scores chunk P/R/F1."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
    write_predictions: Optional[Path] = typer.Option(None, help="Directory for the predicted files."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    batch_tokens: int = typer.Option(4000, help="Words per batch."),
):
    """Score a model layer by layer on gold files (punctuation included, gold tokenization)."""
    from hierarchy.corpus import read_conll2000, read_conllu, write_conll2000, write_conllu
    from hierarchy.persistence import load_model
    from hierarchy.predict import annotate, score
    from hierarchy.training import resolve_device

    if not (conllu or chunks):
        fail(HierarchyError("give at least one gold file: --conllu FILE and/or --chunks FILE"))
    try:
        files = [(conllu, read_conllu, ["pos", "deps"]), (chunks, read_conll2000, ["chunks"])]
        gold = {path: reader(path) for path, reader, _ in files if path}  # read all before any work
        torch_device = resolve_device(device)
        model, _, vocabs = load_model(model_dir, torch_device)
        results, rows = {}, []
        for path, _, tasks in files:
            if not path:
                continue
            tasks = [t for t in tasks if t in model.depth]
            predicted = annotate(model, vocabs, gold[path], tasks, batch_tokens, torch_device)
            for task in tasks:
                for name, metric in score(task, predicted, gold[path]).items():
                    results.setdefault(task, {})[name] = metric.values | ({"per_type": metric.per_type} if task == "chunks" else {})
                    rows.append((model.depth[task] + 1, task, name, metric))
            if write_predictions:
                target = write_predictions / (path.stem + (".conllu" if path == conllu else ".chunks.txt"))
                if path == conllu:
                    write_conllu(target, predicted)
                else:
                    write_conll2000(target, gold[path], [p.chunks for p in predicted])
    except HierarchyError as e:
        fail(e)
    rows.sort(key=lambda row: row[0])
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        Console().print(score_table(rows))


@app.command("annotate")
def annotate_command(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    files: Optional[list[Path]] = typer.Argument(None, help="Input files [default: stdin]."),
    input: str = typer.Option("text", "--input", help="text (tokenized and sentence-split by spaCy) or conllu."),
    format: str = typer.Option("conllu", "--format", help="conllu (chunks in a CoNLL-U Plus column), jsonl or html."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file [default: stdout]."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    batch_size: int = typer.Option(256, help="Docs (paragraphs or CoNLL-U sentences) per batch."),
    quiet: bool = typer.Option(False, help="No progress bar."),
):
    """Annotate raw text or CoNLL-U with POS, chunks and dependencies."""
    from hierarchy.annotate import annotate_files

    try:
        annotate_files(model_dir, files or [], input, format, output, device, batch_size, progress=not quiet)
    except HierarchyError as e:
        fail(e)


@app.command()
def package(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    out_dir: Path = typer.Argument(..., help="The spaCy pipeline directory to write."),
    name: str = typer.Option("hierarchy", help="The pipeline's name in meta.json."),
    force: bool = typer.Option(False, help="Overwrite an existing directory."),
):
    """Write a directory spacy.load() opens: English tokenizer, sentencizer and the model as a component."""
    from hierarchy.annotate import package_model

    try:
        package_model(model_dir, out_dir, name, force)
    except HierarchyError as e:
        fail(e)
    typer.echo(f"spaCy pipeline in {out_dir}: spacy.load({str(out_dir)!r})")


def score_table(rows) -> Table:
    table = Table(title="Per-layer scores")
    for column in ("layer", "task", "metric", "precision", "recall", "F1 / acc"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    fmt = "{:.2f}".format
    for depth, task, name, metric in rows:
        v = metric.values
        if task == "pos":
            table.add_row(str(depth), LAYER_NAMES[task], f"{name.upper()} accuracy", "", "", fmt(v["acc"]))
        elif task == "deps":
            table.add_row(str(depth), LAYER_NAMES[task], "UAS", "", "", fmt(v["uas"]))
            table.add_row(str(depth), LAYER_NAMES[task], "LAS", "", "", fmt(v["las"]))
        else:
            table.add_row(str(depth), LAYER_NAMES[task], "all chunks", fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]))
            for label, t in sorted(metric.per_type.items()):
                table.add_row("", "", f"  {label}", fmt(t["precision"]), fmt(t["recall"]), fmt(t["f1"]))
    return table


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())
