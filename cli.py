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
LAYER_NAMES = {"pos": "POS", "chunks": "chunks", "deps": "dependencies", "predicates": "predicates",
               "srl": "semantic roles", "relatedness": "relatedness", "entailment": "entailment"}


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
    srl: Optional[Path] = typer.Option(None, help="SRL file (CoNLL-U with roleset and role columns 11+, or span "
                                                  "columns, see --srl-format): scores predicates, senses, arguments."),
    srl_format: Optional[str] = typer.Option(None, help="conllu (head-based) or conll05 (span-based).",
                                             show_default="the model's data.srl_format"),
    pairs: Optional[Path] = typer.Option(None, help="Sentence pairs (SICK, or TSV / JSON lines with premise, hypothesis, "
                                                    "label, score): scores relatedness and entailment."),
    inject_parse: Optional[str] = typer.Option(None, help="LISA: the syntax head attends to this parse instead of its "
                                                          "own: 'gold' (the HEAD column of the --conllu / --srl "
                                                          "file) or a CoNLL-U file with the same sentences."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
    write_predictions: Optional[Path] = typer.Option(None, help="Directory for the predicted files."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    batch_tokens: int = typer.Option(4000, help="Words per batch."),
    precision: str = typer.Option("auto", help="auto (bf16 on CUDA, fp32 on CPU), bf16 (faster on CPUs with AMX or "
                                               "AVX512-BF16) or fp32."),
):
    """Score a model layer by layer on gold files (punctuation included, gold tokenization)."""
    from hierarchy.config import SRL_FORMATS
    from hierarchy.corpus import (read_conll2000, read_conllu, read_pairs, read_srl, write_conll2000, write_conllu,
                                  write_pairs, write_srl)
    from hierarchy.persistence import load_config_file, load_model
    from hierarchy.predict import annotate, check_precision, predict_pairs, score
    from hierarchy.persistence import resolve_device

    if not (conllu or chunks or srl or pairs):
        fail(HierarchyError("give at least one gold file: --conllu FILE, --chunks FILE, --srl FILE and/or --pairs FILE"))
    try:
        check_precision(precision)
        if srl:
            srl_format = srl_format or load_config_file(model_dir / "config.toml").data.srl_format
            if srl_format not in SRL_FORMATS:
                raise HierarchyError(f"command line: --srl-format must be 'conllu' or 'conll05', not '{srl_format}'")
        files = [  # path, reader, tasks, writer, suffix of the predictions file
            (conllu, read_conllu, ["pos", "deps"], write_conllu, ".conllu"),
            (chunks, read_conll2000, ["chunks"], None, ".chunks.txt"),
            (srl, lambda path: read_srl(path, srl_format), ["srl"], lambda path, sentences: write_srl(path, sentences, srl_format),
             ".srl.conllu" if srl_format == "conllu" else ".srl.txt"),
        ]
        files = [(path, reader(path), tasks, writer, suffix) for path, reader, tasks, writer, suffix in files if path]
        gold_pairs = read_pairs(pairs) if pairs else None  # all read before any work
        parse = read_conllu(inject_parse) if inject_parse and inject_parse != "gold" else None
        injected = {path: injected_heads(inject_parse, parse, path, gold)
                    for path, gold, _, _, _ in files if inject_parse and path in (conllu, srl)}
        torch_device = resolve_device(device)
        model, _, vocabs = load_model(model_dir, torch_device)
        if srl and "srl" not in model.depth:
            raise HierarchyError(f"{model_dir}: the model has no srl layer; it has {', '.join(model.depth)}")
        if inject_parse and not any(getattr(layer, "syntax_head", False) for layer in model.layers):
            raise HierarchyError(f"{model_dir}: --inject-parse needs a model with a syntax head (models/lisa.toml)")
        # pairs first: a model without pair layers fails here, before any prediction file is written
        predicted_pairs = predict_pairs(model, vocabs, gold_pairs, batch_tokens, torch_device, precision) if pairs else None
        results, rows = {}, []
        for path, gold, tasks, writer, suffix in files:
            tasks = [t for t in tasks if t in model.depth]
            predicted = annotate(model, vocabs, gold, tasks, batch_tokens, torch_device, injected.get(path), precision)
            for task in tasks:
                for name, metric in score(task, predicted, gold).items():
                    extra = {"per_type": metric.per_type} if task == "chunks" else {}
                    extra = {"per_role": metric.per_role} if task == "srl" else extra
                    results.setdefault(task, {})[name] = metric.values | extra
                    rows.append((model.depth[task] + 1, task, name, metric))
            if write_predictions:
                target = write_predictions / (path.stem + suffix)
                if writer:
                    writer(target, predicted)
                else:
                    write_conll2000(target, gold, [p.chunks for p in predicted])
        if pairs:
            predicted = predicted_pairs
            for task in (t for t in ("relatedness", "entailment") if t in model.depth):
                for name, metric in score(task, predicted, gold_pairs).items():
                    extra = {"per_class": metric.per_class, "confusion": metric.matrix} if task == "entailment" else {}
                    results.setdefault(task, {})[name] = metric.values | extra
                    rows.append((model.depth[task] + 1, task, name, metric))
            if write_predictions:
                write_pairs(write_predictions / (pairs.stem + ".pairs.tsv"), gold_pairs, predicted)
    except HierarchyError as e:
        fail(e)
    rows.sort(key=lambda row: row[0])
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        console = Console()
        console.print(score_table(rows))
        for _, task, _, metric in rows:
            if task == "entailment" and metric.n_pairs:
                console.print(confusion_table(metric))


@app.command("annotate")
def annotate_command(
    model_dir: Path = typer.Argument(..., help="A trained model directory."),
    files: Optional[list[Path]] = typer.Argument(None, help="Input files (default: stdin)."),
    input: str = typer.Option("text", "--input", help="text (spaCy splits tokens and sentences) or conllu (kept as is)."),
    format: str = typer.Option("conllu", "--format", help="conllu (chunks in a CoNLL-U Plus column), jsonl or html."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file (default: stdout)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    batch_size: int = typer.Option(256, help="Docs (paragraphs or CoNLL-U sentences) per batch."),
    quiet: bool = typer.Option(False, help="No progress bar."),
    precision: str = typer.Option("auto", help="auto (bf16 on CUDA, fp32 on CPU), bf16 (faster on CPUs with AMX or "
                                               "AVX512-BF16) or fp32."),
    pairs: Optional[Path] = typer.Option(None, help="Sentence pairs (SICK, or TSV / JSON lines with premise and "
                                                    "hypothesis) instead: relatedness, entailment label and class "
                                                    "probabilities per pair, as TSV (or JSON lines with --format jsonl)."),
):
    """Annotate raw text (paragraphs split at blank lines) or CoNLL-U with POS, chunks and dependencies, or
    sentence pairs with relatedness and entailment."""
    from hierarchy.annotate import annotate_files, annotate_pairs
    from hierarchy.predict import check_precision

    try:
        check_precision(precision)
        if pairs:
            annotate_pairs(model_dir, pairs, files, format, output, device, precision)
        else:
            annotate_files(model_dir, files or [], input, format, output, device, batch_size, progress=not quiet,
                           precision=precision)
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


def injected_heads(name: str, parse, path: Path, gold) -> list:
    """The heads to inject for the sentences of ``path``: their own (``name == "gold"``) or those of ``parse``, the
    CoNLL-U file ``name``, which must have the same sentences and words."""
    source = gold if parse is None else parse
    if parse is not None and len(parse) != len(gold):
        raise HierarchyError(f"{name}: {len(parse)} sentences, but {path} has {len(gold)} (expected the same)")
    for s, g in zip(source, gold):
        if len(s) != len(g):
            raise HierarchyError(f"{s.source}: {len(s)} words, but {g.source} has {len(g)} (expected the same)")
        if s.heads is None:
            raise HierarchyError(f"{s.source}: expected a HEAD column to inject as the parse, found only '_'")
    return [s.heads for s in source]


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
        elif task == "relatedness":
            table.add_row(str(depth), LAYER_NAMES[task], "Pearson r x 100", "", "", fmt(v["pearson"]))
            table.add_row(str(depth), LAYER_NAMES[task], "Spearman rho x 100", "", "", fmt(v["spearman"]))
            table.add_row(str(depth), LAYER_NAMES[task], "MSE", "", "", f"{v['mse']:.4f}")
        elif task == "srl":
            table.add_row(str(depth), LAYER_NAMES[task], "predicates", fmt(v["predicate_precision"]),
                          fmt(v["predicate_recall"]), fmt(v["predicate_f1"]))
            table.add_row(str(depth), LAYER_NAMES[task], "sense accuracy", "", "", fmt(v["sense_acc"]))
            table.add_row(str(depth), LAYER_NAMES[task], "labeled arguments", fmt(v["precision"]), fmt(v["recall"]),
                          fmt(v["f1"]))
            for label, t in metric.per_role.items():
                table.add_row("", "", f"  {label}", fmt(t["precision"]), fmt(t["recall"]), fmt(t["f1"]))
        elif task == "entailment":
            table.add_row(str(depth), LAYER_NAMES[task], "accuracy", "", "", fmt(v["acc"]))
            for label, c in metric.per_class.items():
                table.add_row("", "", f"  {label}", fmt(c["precision"]), fmt(c["recall"]), fmt(c["f1"]))
        else:
            table.add_row(str(depth), LAYER_NAMES[task], "all chunks", fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]))
            for label, t in sorted(metric.per_type.items()):
                table.add_row("", "", f"  {label}", fmt(t["precision"]), fmt(t["recall"]), fmt(t["f1"]))
    return table


def confusion_table(metric) -> Table:
    """The entailment confusion matrix: a row per gold label, a column per predicted label."""
    table = Table(title="Entailment confusion (rows: gold, columns: predicted)")
    table.add_column("gold")
    for label in metric.labels:
        table.add_column(label, justify="right")
    for gold, row in metric.matrix.items():
        table.add_row(gold, *(str(n) for n in row.values()))
    return table


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())
