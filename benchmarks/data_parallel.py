"""Benchmark: N data-parallel processes at batch size B/N against one process at B, same recipe, epochs and seeds;
prints the dev scores (mean and spread over the seeds) and training words/s of both.

    python -m benchmarks.data_parallel --recipe models/jmt-ewt-fast.toml --epochs 4 --seeds 1,2
    python -m benchmarks.data_parallel --recipe models/jmt.toml --epochs 10 --seeds 1,2,3 --out /tmp/dp   # sample

On the CPU each process gets one thread (gloo); on CUDA one GPU each (NCCL, ``--device cuda``). Every run is a
model directory under ``--out``; finished runs are read back, not trained again.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(recipe: Path, out: Path, nproc: int, batch_tokens: int, epochs: int, seed: int, device: str) -> dict:
    if not (out / "metrics.json").is_file():
        subprocess.run([sys.executable, "-m", "hierarchy", "train", str(recipe), "--output", str(out), "--force",
                        "--quiet", "--nproc", str(nproc), "--device", device, f"--train.batch_tokens={batch_tokens}",
                        f"--train.epochs={epochs}", "--train.patience=100", f"--train.seed={seed}",
                        "--train.threads=1"], cwd=ROOT, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    history = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return {"score": history[-1]["score"], "words_per_second": statistics.fmean(h["words_per_second"] for h in history)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", type=Path, default=ROOT / "models" / "jmt-ewt-fast.toml")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--batch-tokens", type=int, default=0, help="B (default: the recipe's train.batch_tokens)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out-data-parallel")
    args = parser.parse_args()
    from hierarchy.core.config import load_config

    big = args.batch_tokens or load_config(args.recipe).train.batch_tokens
    rows = []
    for nproc, batch in ((1, big), (args.nproc, big // args.nproc)):
        found = [run(args.recipe, args.out / f"{nproc}x{batch}-seed{seed}", nproc, batch, args.epochs, int(seed),
                     args.device) for seed in args.seeds.split(",")]
        scores = [f["score"] for f in found]
        rows.append((f"{nproc} process{'es' if nproc > 1 else ''} x batch {batch}", statistics.fmean(scores),
                     max(scores) - min(scores), ", ".join(f"{s:.2f}" for s in scores),
                     statistics.fmean(f["words_per_second"] for f in found)))
    print(f"{args.recipe.name}, {args.epochs} epochs, seeds {args.seeds}, dev score of the last epoch")
    print("| run | dev score (mean) | spread | per seed | train words/s |\n|---|---|---|---|---|")
    for name, mean, spread, each, speed in rows:
        print(f"| {name} | {mean:.2f} | {spread:.2f} | {each} | {speed:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
