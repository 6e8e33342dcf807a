"""The command line: ``hierarchy train``, ``evaluate``, ``annotate``, ``package``, ``ablate`` and ``inspect`` (also
``python -m hierarchy``). It parses arguments and calls the library; the modules that import spaCy or matplotlib
are imported by the commands that need them."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from hierarchy import DISTRIBUTION
from hierarchy.core.ranges import MAX_SENTENCE_WORDS
from hierarchy.io import signals
from hierarchy.io.errors import HierarchyError
from hierarchy.io.fileio import check_writable, refuse_inside_model
from hierarchy.io.signals import Terminated

app = typer.Typer(
    help="Train, evaluate and apply a linguistic hierarchy (POS -> chunks -> dependencies) from CoNLL files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def show_version(value: bool):
    if value:
        try:
            typer.echo(f"hierarchy {version(DISTRIBUTION)}")
        except PackageNotFoundError:
            typer.echo("hierarchy (not installed)")
        raise typer.Exit()


@app.callback()
def common(version: bool = typer.Option(False, "--version", metavar="", callback=show_version, is_eager=True,
                                        help="Print the version and exit.")):
    """Train, evaluate and apply a linguistic hierarchy (POS -> chunks -> dependencies) from CoNLL files."""


def fail(error: Exception):
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(2)


def without_option(args: list[str], name: str) -> list[str]:
    """``args`` without the option ``name`` and its value (``--nproc 2`` or ``--nproc=2``).

    >>> without_option(["r.toml", "--nproc", "2", "--quiet", "--nproc=3"], "--nproc")
    ['r.toml', '--quiet']
    """
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + "="):
            out.append(arg)
    return out


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
    recipe: Path = typer.Argument(..., readable=False, help="A TOML recipe such as models/jmt.toml."),
    output: Optional[Path] = typer.Option(None, readable=False, help="Model directory.",
                                          show_default="the recipe's path without .toml"),
    resume: bool = typer.Option(False, metavar="", help="Continue an interrupted run from its last checkpoint."),
    force: bool = typer.Option(False, metavar="", help="Overwrite an existing model directory."),
    device: Optional[str] = typer.Option(None, help="auto, cpu or cuda.", show_default="the recipe's train.device"),
    quiet: bool = typer.Option(False, metavar="", help="No progress bars."),
    nproc: int = typer.Option(1, help="Data-parallel processes (torchrun; one per GPU on CUDA, gloo on the CPU)."),
):
    """Train a model from a recipe. Any recipe key can be overridden: --data.pos=FILE --train.epochs=3."""
    if nproc < 1:
        fail(HierarchyError(f"--nproc must be at least 1, not {nproc}"))
    if nproc > 1 and "WORLD_SIZE" not in os.environ:  # start torchrun, which runs this command once per process
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                   "-m", "hierarchy", "train", *without_option(sys.argv[2:], "--nproc")]
        raise typer.Exit(subprocess.call(command))
    from hierarchy.core.config import load_config  # lazy: torch (the task specs)
    from hierarchy.training import Trainer, check_output  # lazy: matplotlib
    from hierarchy.training.distributed import world  # lazy: the training package imports matplotlib
    from hierarchy.training.lock import locked  # lazy: the training package imports matplotlib

    rank = world()[0]  # under torchrun, rank 0 alone owns the output
    out = output or recipe.with_suffix("")
    try:
        overrides = parse_overrides(ctx.args)
        if device:
            overrides.append(f"train.device={device}")
        config = load_config(recipe, overrides)
        out = output or Path(config.train.output or recipe.with_suffix(""))
        if rank == 0:
            check_writable(out, directory=True)
            refuse_inside_model(out, "--output", own=True)
        # rank 0 takes the lock first, then decides whether the directory may be written, and holds it through
        # the corpora's loading, the training and the last write
        with locked(out) if rank == 0 else contextlib.nullcontext():
            if rank == 0:
                check_output(out, resume, force)
            state = Trainer(config, out, progress=not quiet).fit(resume=resume)
    except HierarchyError as e:
        fail(e)
    except (KeyboardInterrupt, Terminated) as e:
        typer.echo(f"{'terminated' if isinstance(e, Terminated) else 'interrupted'}; the last finished epoch is "
                   f"saved: continue with hierarchy train {recipe} --output {out} --resume", err=True)
        raise typer.Exit(143 if isinstance(e, Terminated) else 130) from None
    if rank == 0:
        typer.echo(f"best dev score {state['best']:.2f} at epoch {state['best_epoch']}; model in {out}")


def parse_gold_args(args: list[str]) -> tuple[dict, dict]:
    """``--conllu A --srl-format conll05`` -> ``({"conllu": Path("A")}, {"srl_format": "conllu05"})``."""
    from hierarchy.evaluation import data_options, gold_flags  # lazy: torch (the task specs)

    flags, options, files, chosen, i = gold_flags(), data_options(), {}, {}, 0
    expected = ", ".join([f"--{f} FILE" for f in flags] + [f"--{o.replace('_', '-')} VALUE" for o in options])
    while i < len(args):
        name, sep, value = args[i][2:].partition("=")
        option = name.replace("-", "_")
        if not args[i].startswith("--") or (name not in flags and option not in options):
            raise HierarchyError(f"command line: unexpected argument '{args[i]}' (expected {expected})")
        if not sep:
            if i + 1 >= len(args):
                raise HierarchyError(f"command line: '{args[i]}' needs a value")
            value, i = args[i + 1], i + 1
        if name in flags:
            files[name] = Path(value)
        elif value not in options[option]:
            raise HierarchyError(f"command line: --{name} must be "
                                 f"{' or '.join(repr(v) for v in options[option])}, not '{value}'")
        else:
            chosen[option] = value
        i += 1
    return files, chosen


def evaluate_help() -> str:
    from hierarchy.evaluation import data_options, gold_flags  # lazy: torch (the task specs)

    flags = "; ".join(f"--{flag} FILE: {', '.join(tasks)}" for flag, tasks in gold_flags().items())
    options = "; ".join(f"--{name.replace('_', '-')} {'|'.join(allowed)}" for name, allowed in data_options().items())
    return ("Score a model layer by layer on gold files (punctuation included, gold tokenization). "
            f"Gold files, each scoring the model's layers among: {flags}. Options of a file's format: {options}.")


class EvaluateCommand(typer.core.TyperCommand):
    """``evaluate``, whose help lists the tasks' gold files: made when it is read (the task specs import torch)."""

    @property
    def help(self) -> str:
        return evaluate_help()

    @help.setter
    def help(self, value) -> None:
        """Click sets it when it builds the command: the property above is the help."""


@app.command(cls=EvaluateCommand, context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             short_help="Score a model layer by layer on gold files (evaluate --help lists them).")
def evaluate(
    ctx: typer.Context,
    model_dir: Path = typer.Argument(..., readable=False, help="A trained model directory."),
    inject_parse: Optional[str] = typer.Option(None, help="LISA: the syntax head attends to this parse instead of its "
                                                          "own: 'gold' (the HEAD column of each gold file) or a "
                                                          "CoNLL-U file with the same sentences."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print the scores as JSON."),
    write_predictions: Optional[Path] = typer.Option(None, readable=False, help="Directory for the predicted files."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    batch_tokens: int = typer.Option(4000, help="Words per batch."),
    precision: str = typer.Option("auto", help="auto (bf16 on CUDA, fp32 on CPU), bf16 (faster on CPUs with AMX or "
                                               "AVX512-BF16) or fp32."),
):
    from hierarchy.evaluation import run, score_table  # lazy: torch

    try:
        files, options = parse_gold_args(ctx.args)
        evaluation = run(model_dir, files | options, inject_parse, write_predictions, device, batch_tokens, precision)
    except HierarchyError as e:
        fail(e)
    if as_json:
        typer.echo(json.dumps(evaluation.results, indent=2))
    else:
        console = Console()
        console.print(score_table(evaluation.rows))
        for report in evaluation.reports:
            console.print(report)


@app.command("annotate")
def annotate_command(
    model_dir: Path = typer.Argument(..., readable=False, help="A trained model directory."),
    files: Optional[list[Path]] = typer.Argument(None, readable=False, help="Input files (default: stdin)."),
    input: str = typer.Option("text", "--input",
                              help="text (spaCy splits tokens and sentences) or conllu (kept as is)."),
    format: Optional[str] = typer.Option(None, "--format", show_default="conllu; tsv with --pairs",
                                         help="conllu (chunks in a CoNLL-U Plus column), jsonl or html; with --pairs, "
                                              "tsv or jsonl."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", readable=False,
                                          help="Output file (default: stdout)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    batch_size: int = typer.Option(256, help="Docs (paragraphs or CoNLL-U sentences) per batch."),
    max_sentence_words: int = typer.Option(MAX_SENTENCE_WORDS,
                                           help="Longer sentences are predicted in pieces of at most this many "
                                                "words, joined back into one sentence."),
    quiet: bool = typer.Option(False, metavar="", help="No progress bar."),
    precision: str = typer.Option("auto", help="auto (bf16 on CUDA, fp32 on CPU), bf16 (faster on CPUs with AMX or "
                                               "AVX512-BF16) or fp32."),
    nproc: int = typer.Option(1, help="Worker processes on the CPU, one thread each (the output keeps the input's "
                                      "order)."),
    pairs: Optional[Path] = typer.Option(None, readable=False,
                                         help="Sentence pairs (SICK, or TSV / JSON lines with premise and hypothesis) "
                                              "instead: relatedness, entailment label and class probabilities per "
                                              "pair, as TSV (or JSON lines with --format jsonl)."),
):
    """Annotate raw text (paragraphs split at blank lines) or CoNLL-U with POS, chunks and dependencies, or
    sentence pairs with relatedness and entailment."""
    from hierarchy.annotate import annotate_files, annotate_pairs  # lazy: spaCy
    from hierarchy.core.predict import check_precision  # lazy: torch

    try:
        check_precision(precision)
        if batch_size < 1:
            raise HierarchyError(f"--batch-size must be at least 1, not {batch_size}")
        if output:
            check_writable(output)
            refuse_inside_model(output, "--output", inputs=[*(files or []), *([pairs] if pairs else [])])
        if pairs:
            annotate_pairs(model_dir, pairs, files, format or "tsv", output, device, precision)
        else:
            annotate_files(model_dir, files or [], input, format or "conllu", output, device, batch_size,
                           progress=not quiet, precision=precision, max_words=max_sentence_words, nproc=nproc)
    except HierarchyError as e:
        fail(e)


@app.command()
def package(
    model_dir: Path = typer.Argument(..., readable=False, help="A trained model directory."),
    out_dir: Path = typer.Argument(..., readable=False, help="The spaCy pipeline directory to write (--build none), "
                                                             "or where dist/ gets the distribution."),
    build: str = typer.Option("none", help="none (a directory spacy.load opens), wheel or sdist (installable)."),
    name: Optional[str] = typer.Option(None, help="The package's name.", show_default="hierarchy_LANG_MODELDIR"),
    package_version: str = typer.Option("0.1.0", "--version", help="The package's version."),
    license: Optional[str] = typer.Option(None, help="The license of training corpora whose README names none."),
    scores: Optional[Path] = typer.Option(None, readable=False, help="Test scores for the model card: the JSON "
                                                                      "of hierarchy evaluate --json."),
    force: bool = typer.Option(False, metavar="", help="Overwrite an existing directory or distribution."),
):
    """A model as a spaCy pipeline: a directory spacy.load() opens (its language's tokenizer, a sentencizer, the
    model as a component) or an installable wheel or sdist of one, each with a model card (README.md, meta.json)."""
    from hierarchy.package import package_model  # lazy: spaCy

    try:
        written = package_model(model_dir, out_dir, name, force, build, package_version, license, scores)
    except HierarchyError as e:
        fail(e)
    if build == "none":
        typer.echo(f"spaCy pipeline in {written}: spacy.load({str(written)!r})")
    else:
        package = written.name.split("-")[0]
        typer.echo(f"{written}: pip install {written}, then spacy.load({package!r}) or hierarchy.load({package!r})")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ablate(
    ctx: typer.Context,
    recipe: Path = typer.Argument(..., readable=False, help="A TOML recipe such as models/jmt-ewt.toml."),
    target: str = typer.Option(..., help="The task whose dev score the ablation reads."),
    output: Optional[Path] = typer.Option(None, readable=False, help="The ablation's directory.",
                                          show_default="the recipe's path without .toml, then -ablate-TARGET"),
    seeds: int = typer.Option(1, help="Seeds per variant (the recipe's train.seed and the next ones)."),
    quiet: bool = typer.Option(False, metavar="", help="No progress bars."),
):
    """Which auxiliary tasks help TARGET: train the recipe as is, then without each other task (and each corpus
    feeding several), at the same budget and seeds; print the target's dev score per variant, write ablation.json
    and ablation.png. Rerun to resume. Recipe keys can be overridden: --train.epochs=2."""
    from hierarchy.ablate import plot_ablation, run_ablation  # lazy: matplotlib
    from hierarchy.core.config import load_config  # lazy: torch (the task specs)

    out = output or Path(str(recipe.with_suffix("")) + f"-ablate-{target}")
    try:
        if seeds < 1:
            raise HierarchyError(f"--seeds must be at least 1, not {seeds}")
        config = load_config(recipe, parse_overrides(ctx.args))
        check_writable(out, directory=True)
        refuse_inside_model(out, "--output")
        results = run_ablation(config, target, out, seeds, progress=not quiet,
                               say=lambda text: typer.echo(text, err=True))
        plot_ablation(results, out / "ablation.png")
    except HierarchyError as e:
        fail(e)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; the finished runs are in {out / 'ablation.json'}: run the same command again to "
                   "continue", err=True)
        raise typer.Exit(130) from None
    table = Table(title=f"{target}: dev score without each auxiliary task ({config.train.epochs} epochs, "
                        f"seeds {', '.join(map(str, results['seeds']))})")
    for column in ("variant", "tasks trained", "score", "delta", "spread"):
        table.add_column(column, justify="left" if column in ("variant", "tasks trained") else "right")
    for name, entry in results["variants"].items():
        table.add_row(name, ", ".join(entry["tasks"]), f"{entry['mean']:.2f}",
                      "" if name == "all" else f"{entry['delta']:+.2f}", f"{entry['spread']:.2f}")
    Console().print(table)
    typer.echo(f"results in {out / 'ablation.json'}, chart in {out / 'ablation.png'}")


@app.command()
def inspect(
    model_dir: Path = typer.Argument(..., readable=False, help="A model directory written by hierarchy train."),
):
    """What training saw: each weighting's loss weights, AutoSeM's mixing ratio and the interference between tasks
    (gradient cosines, with train.diagnose_every); writes interference.png into the model directory."""
    from hierarchy.inspect import plot_interference, read_history, report  # lazy: matplotlib

    try:
        typer.echo(report(model_dir))
        if plot_interference(read_history(model_dir), model_dir / "interference.png"):
            typer.echo(f"plot: {model_dir / 'interference.png'}")
    except HierarchyError as e:
        fail(e)


def os_error(e: OSError) -> str:
    """``FILE: Permission denied`` (both paths for a rename or link)."""
    names = " -> ".join(str(n) for n in (e.filename, e.filename2) if n is not None)
    return f"{names}: {e.strerror or e}" if names else str(e.strerror or e)


def main():
    """Run the command; an operating-system error (permissions, a full disk, a path through a file) is one
    ``error:`` line and exit status 2, like every other error a user can act on; SIGTERM ends it as Ctrl-C does,
    with exit status 143."""
    signals.install()
    try:
        try:
            app(prog_name="hierarchy")
        finally:
            sys.stdout.flush()  # a full or closed stdout fails here, not silently at exit
    except OSError as e:
        sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
        print(f"error: {os_error(e)}", file=sys.stderr)
        sys.exit(2)
    except Terminated:
        print("terminated (SIGTERM); no output was left half-written", file=sys.stderr)
        sys.exit(143)


if __name__ == "__main__":
    sys.exit(main())
