"""What the benchmarks that train recipes share: a run in its own process, its result row (dev scores, training
speed, peak memory), the command line, and the table of finished runs. Run a benchmark from the repository root as a
module: ``python -m benchmarks.jmt``."""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from hierarchy.core.persistence import load_model
from hierarchy.training import Trainer

ROOT = Path(__file__).resolve().parent.parent


def supervise_only(config, tasks) -> None:
    """A baseline on the same layers: keep the stack up to the highest layer of ``tasks`` and supervise only them."""
    top = max(k for k, layer in enumerate(config.model.layers) if set(tasks) & set(layer.tasks))
    config.model.layers = config.model.layers[: top + 1]
    for layer in config.model.layers:
        layer.tasks = [t for t in layer.tasks if t in tasks]


def train_run(name: str, config, args):
    """Train run ``name`` into ``args.out`` (resuming it with ``--resume`` when it has a checkpoint):
    ``(trainer, state, out, wall seconds, model, vocabs)``, the model being the best epoch's, loaded back."""
    out = Path(args.out) / name
    start = time.perf_counter()
    trainer = Trainer(config, out, progress=False)
    state = trainer.fit(resume=args.resume and (out / "checkpoint.safetensors").exists())
    wall = time.perf_counter() - start
    model, _, vocabs = load_model(out, trainer.device)
    return trainer, state, out, wall, model, vocabs


def run_result(name: str, args, trainer, state: dict, out: Path, wall: float) -> dict:
    """The fields every benchmark run reports: dev scores (of the best epoch), training speed, peak memory."""
    metrics = json.loads((out / "metrics.json").read_text())
    gpu_peak = torch.cuda.max_memory_allocated() / 2**20 if trainer.device.type == "cuda" else None
    return {
        "run": name, "device": str(trainer.device), "threads": args.threads, "epochs": state["epoch"],
        "best_epoch": state["best_epoch"], "dev": metrics["dev"], "train_words_per_second": metrics["train_words_per_second"],
        "epoch_seconds": metrics["train_seconds"] / max(state["epoch"], 1), "wall_seconds": wall,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "peak_gpu_mib": gpu_peak,
    }


def partial_run(directory: Path) -> dict | None:
    """The row of a run stopped before it finished (no result JSON): its best dev scores so far, no speed figures."""
    if not (directory / "metrics.json").is_file():
        return None
    metrics = json.loads((directory / "metrics.json").read_text())
    return {
        "run": directory.name, "device": metrics["device"], "threads": "?", "epochs": f"{metrics['epochs']}, stopped",
        "best_epoch": metrics["best_epoch"], "dev": metrics["dev"], "train_words_per_second": metrics["train_words_per_second"],
        "epoch_seconds": metrics["train_seconds"] / max(metrics["epochs"], 1), "annotate_words_per_second": None,
        "peak_rss_mib": None,
    }


def result_rows(out: Path, runs, partial: bool = False) -> list[dict]:
    """The result JSONs in ``out`` in the order of ``runs`` (others last); with ``partial``, also a row from
    :func:`partial_run` for each run of ``runs`` stopped before it wrote one. Every benchmark's table reads these."""
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    done = {r["run"] for r in rows}
    rows += [r for name in runs if partial and name not in done and (r := partial_run(out / name))]
    order = list(runs)
    return sorted(rows, key=lambda r: order.index(r["run"]) if r["run"] in order else len(order))


def dev_cell(row: dict, task: str, name: str, key: str) -> str:
    """One dev score of a result row, ``-`` when the run has no such task."""
    return f"{row['dev'][task][name][key]:.2f}" if task in row["dev"] else "-"


def make_parser(doc: str, runs: list[str], out: str, recipe: Path) -> argparse.ArgumentParser:
    """The command line every benchmark that trains recipes shares."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(runs), help="comma-separated: " + ",".join(runs))
    parser.add_argument("--recipe", type=Path, default=recipe, help=f"default {recipe.relative_to(ROOT)}")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / out))
    parser.add_argument("--resume", action="store_true", help="continue runs that have a checkpoint")
    parser.add_argument("--set", action="append", default=[], help="recipe override, e.g. --set train.lr=1e-3")
    parser.add_argument("--table", action="store_true", help="only print the table of finished runs")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    return parser


def run_all(module: str, one_run, table, args) -> None:
    """``--one NAME``: do one run here and write ``NAME.json``; otherwise start ``python -m module --one NAME`` for
    each run (``args.jobs`` at a time, each with its own log), then print ``table(out)``."""
    out = Path(args.out)
    if args.one:
        result = one_run(args.one, args)
        (out / f"{args.one}.json").write_text(json.dumps(result, indent=2))
        return
    if not args.table:
        if not args.recipe.exists() or not (ROOT.parent / "shared" / "corpora").is_dir():
            sys.exit("needs the real corpora in ../shared/corpora (see data/README.md)")
        out.mkdir(parents=True, exist_ok=True)
        child = ["--recipe", str(args.recipe), "--epochs", str(args.epochs), "--threads", str(args.threads),
                 "--device", args.device, "--out", args.out]
        child += [x for s in args.set for x in ("--set", s)] + (["--resume"] if args.resume else [])
        pending = [name for name in args.runs.split(",") if name]
        running = []
        while pending or running:
            while pending and len(running) < args.jobs:
                name = pending.pop(0)
                cmd = [sys.executable, "-m", module, "--one", name, *child]
                log = open(out / f"{name}.log", "w")
                running.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)))
            time.sleep(2)
            for name, proc in list(running):
                if proc.poll() is not None:
                    running.remove((name, proc))
                    print(f"{name}: exit {proc.returncode}", flush=True)
    print(table(out))
