"""Benchmark: training speed on one CPU thread of models/jmt-ewt-minilm.toml (all-MiniLM-L6-v2 beneath POS, chunks
and dependencies) as more of the encoder is fine-tuned (``[model.transformer] tune_layers``, issue 24); prints a
Markdown table with its provenance.

    python -m benchmarks.tune_layers                          # k0,k1,k2,k6,whole on 300 sentences a corpus, 1 epoch
    python -m benchmarks.tune_layers --runs k0,k1 --sentences 100 --epochs 2

A run: ``kN`` trains with ``tune_layers = N`` (``k0``: the frozen encoder, ``k6``: all six layers over the cached
embedding output), ``whole`` with ``freeze = false`` (every weight of the encoder, embeddings included, no cache).
Each reads the first ``--sentences`` sentences of each corpus (``data.max_sentences``; dev too) and trains
``--epochs`` epochs from scratch in this process, one run after another, with ``torch.set_num_threads(1)``. Training
words/s is words trained / seconds of training (computing the cached states and dev scoring excluded); the saved
weights column is the size of the model's ``weights.safetensors`` (the encoder's tuned layers and the hierarchy).
Model directories and the states' cache go to ``--out``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from benchmarks.spacy_speed import cpu
from hierarchy.core.config import load_config
from hierarchy.training import Trainer

ROOT = Path(__file__).resolve().parent.parent
RUNS = "k0,k1,k2,k6,whole"


def overrides(run: str) -> list[str]:
    """``k2`` -> ``["model.transformer.tune_layers=2"]``; ``whole`` -> ``["model.transformer.freeze=false"]``."""
    if run == "whole":
        return ["model.transformer.freeze=false"]
    if run.startswith("k") and run[1:].isdigit():
        return [f"model.transformer.tune_layers={int(run[1:])}"]
    sys.exit(f"{run}: expected kN (tune_layers = N) or whole (freeze = false)")


def train(run: str, args) -> dict:
    """Train one run; its speed, trained parameters, saved weights and last dev score."""
    out = args.out / run
    config = load_config(args.recipe, [*overrides(run), f"data.max_sentences={args.sentences}",
                                       f"train.epochs={args.epochs}", "train.device=cpu", "train.threads=1",
                                       f"train.feature_cache={args.out / 'cache'}"])
    trainer = Trainer(config, out, progress=False)
    state = trainer.fit()
    trainable = sum(p.numel() for p in trainer.model.embed.transformer.parameters() if p.requires_grad)
    return {"run": run, "words_per_second": state["words"] / state["seconds"], "words": state["words"],
            "epoch_seconds": state["seconds"] / len(state["history"]), "encoder_trained": trainable,
            "weights_mib": (out / "weights.safetensors").stat().st_size / 2**20, "score": state["history"][-1]["score"]}


def provenance() -> list[str]:
    """How, when and where the figures were taken."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "hierarchy"], cwd=ROOT, capture_output=True, text=True,
                           check=False)
    return [f"command: python -m benchmarks.tune_layers {' '.join(sys.argv[1:])}".rstrip(),
            f"date: {datetime.date.today()}, commit {commit.strip()}{' (modified)' if dirty.stdout else ''}",
            (f"CPU: {cpu()}; torch {torch.__version__}, {torch.get_num_threads()} thread; load average "
             f"{os.getloadavg()[0]:.2f} at the end (other processes share the machine when above 1)")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=RUNS, help=f"comma-separated (default {RUNS})")
    parser.add_argument("--recipe", type=Path, default=ROOT / "models" / "jmt-ewt-minilm.toml")
    parser.add_argument("--sentences", type=int, default=300, help="sentences read from each corpus")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out-tune-layers")
    args = parser.parse_args()
    runs = args.runs.split(",")
    for run in runs:
        overrides(run)
    if not (ROOT.parent / "shared" / "corpora").is_dir():
        sys.exit("needs the real corpora in ../shared/corpora (see data/README.md)")
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for run in runs:
        rows.append(train(run, args))
        (args.out / f"{run}.json").write_text(json.dumps(rows[-1], indent=2))
        print(f"{run}: {rows[-1]['words_per_second']:,.0f} words/s", file=sys.stderr, flush=True)
    base = rows[0]["words_per_second"]
    print("\n".join(provenance()) + "\n")
    print(f"| run | transformer input's parameters trained | train words/s | vs {rows[0]['run']} | s/epoch | saved weights MiB "
          "| dev score |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['encoder_trained']:,} | {r['words_per_second']:,.0f} | "
              f"{r['words_per_second'] / base:.2f}x | {r['epoch_seconds']:.0f} | {r['weights_mib']:.1f} "
              f"| {r['score']:.2f} |")


if __name__ == "__main__":
    main()
