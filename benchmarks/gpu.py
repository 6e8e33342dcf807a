"""Benchmark: one command for a GPU machine, from a fresh clone with the corpora in ../shared; prints one table.

    python -m benchmarks.gpu                     # everything below, in well under 8 minutes on one H100/H200
    python -m benchmarks.gpu --epochs 1 --out /tmp/gpu
    python -m benchmarks.gpu --device cpu --recipes jmt --epochs 1 --out /tmp/gpu-smoke   # its code, on the CPU

Where CUDA is absent it says so and exits 0. Otherwise, on GPU 0 (bf16 autocast, cuDNN LSTMs over packed
sequences, as ``hierarchy train --device cuda`` runs):

- training: ``models/jmt-ewt.toml`` (POS, chunks, dependencies: EWT + CoNLL-2000) and ``models/lisa.toml`` for
  ``--epochs`` epochs each: words/s and seconds per epoch (the dev scoring after each epoch excluded), peak GPU
  memory, and the dev scores reached;
- annotation of the EWT dev text (gold tokenization) with the trained ``jmt-ewt`` model: through the library
  (``Predictor``) at several ``batch_tokens``, and through the spaCy component (``nlp.pipe``) at several
  ``batch_size``: words/s of the best of three passes after a warm-up;
- with several GPUs, ``jmt-ewt`` trained again with ``--nproc`` = their number (torchrun, NCCL): words/s.

Results go to ``--out`` (``gpu.json``) with the models.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "corpora" / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
RECIPES = ("jmt-ewt", "lisa")


def peak(device: str) -> dict:
    import torch

    return {"peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20} if device == "cuda" else {}


def train(name: str, epochs: int, out: Path, device: str) -> dict:
    import torch

    from hierarchy.core.config import load_config
    from hierarchy.training import Trainer

    config = load_config(ROOT / "models" / f"{name}.toml", [f"train.epochs={epochs}", f"train.device={device}",
                                                             "train.patience=100"])
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    state = Trainer(config, out / name, progress=False).fit()
    history = state["history"]
    return {"run": f"train {name}", "words_per_second": state["words"] / state["seconds"],
            "seconds_per_epoch": state["seconds"] / len(history), **peak(device), "score": state["best"]}


def best_of(passes: int, run) -> float:
    run(warmup=True)
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        run(warmup=False)
        times.append(time.perf_counter() - start)
    return min(times)


def annotate(model_dir: Path, device: str) -> list[dict]:
    import spacy
    import torch
    from spacy.tokens import Doc

    from hierarchy.core.persistence import load_model
    from hierarchy.core.predict import Predictor
    from hierarchy.io import read_conllu

    sentences = read_conllu(DEV)
    n_words = sum(len(s) for s in sentences)
    model, _, vocabs = load_model(model_dir, torch.device(device))
    rows = []
    for batch_tokens in (2_000, 8_000, 32_000):
        predictor = Predictor(model, vocabs, precision="auto", batch_tokens=batch_tokens)
        seconds = best_of(3, lambda warmup: predictor(sentences[:50] if warmup else sentences))
        rows.append({"run": f"annotate library, batch_tokens {batch_tokens}", "words_per_second": n_words / seconds})
    for batch_size in (64, 256):
        nlp = spacy.blank("en")
        nlp.add_pipe("hierarchy", config={"model": str(model_dir), "device": device, "batch_size": batch_size})

        def run(warmup, nlp=nlp, batch_size=batch_size):
            chosen = sentences[:50] if warmup else sentences
            docs = [Doc(nlp.vocab, words=s.words, sent_starts=[True] + [False] * (len(s) - 1)) for s in chosen]
            list(nlp.pipe(docs, batch_size=batch_size))

        seconds = best_of(3, run)
        rows.append({"run": f"annotate spaCy component, batch_size {batch_size}",
                     "words_per_second": n_words / seconds})
    rows[-1].update(peak(device))
    return rows


def multi_gpu(n: int, epochs: int, out: Path) -> dict:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hierarchy", "train", str(ROOT / "models" / "jmt-ewt.toml"), "--output",
                    str(out / f"jmt-ewt-{n}gpu"), "--nproc", str(n), "--device", "cuda", "--quiet", "--force",
                    f"--train.epochs={epochs}", "--train.patience=100"], cwd=ROOT, check=True)
    wall = time.perf_counter() - start
    metrics = json.loads((out / f"jmt-ewt-{n}gpu" / "metrics.json").read_text())
    return {"run": f"train jmt-ewt, {n} GPUs", "words_per_second": metrics["train_words_per_second"],
            "seconds_per_epoch": wall / epochs}


def table(rows: list[dict]) -> str:
    cells = [("run", "words/s", "s/epoch", "peak GPU MiB", "dev score")]
    for r in rows:
        cells.append((r["run"], f"{r['words_per_second']:,.0f}", f"{r['seconds_per_epoch']:.1f}" if "seconds_per_epoch"
                      in r else "", f"{r['peak_gpu_mib']:,.0f}" if "peak_gpu_mib" in r else "",
                      f"{r['score']:.2f}" if "score" in r else ""))
    lines = ["| " + " | ".join(c) + " |" for c in cells]
    lines.insert(1, "|" + "---|" * len(cells[0]))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out-gpu")
    parser.add_argument("--device", default="cuda", help="cpu: run this script's code on the CPU (a smoke test)")
    parser.add_argument("--recipes", default=",".join(RECIPES), help="recipes in models/, comma-separated; the "
                                                                      "first is the one annotation reads")
    args = parser.parse_args()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: nothing to measure (run this on a GPU machine)")
        return 0
    if not DEV.is_file():
        print(f"the corpora are not in {DEV.parent.parent}: nothing to measure")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    if args.device == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(0)} x {torch.cuda.device_count()}, torch {torch.__version__}")
    recipes = args.recipes.split(",")
    rows = [train(name, args.epochs, args.out, args.device) for name in recipes]
    rows += annotate(args.out / recipes[0], args.device)
    if args.device == "cuda" and torch.cuda.device_count() > 1:
        rows.append(multi_gpu(torch.cuda.device_count(), args.epochs, args.out))
    (args.out / "gpu.json").write_text(json.dumps(rows, indent=2))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
