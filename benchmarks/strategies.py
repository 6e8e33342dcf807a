"""Benchmark: which way of sampling and weighting the tasks trains the EWT hierarchy best, at a matched budget;
prints a Markdown table.

    python -m benchmarks.strategies --epochs 5 --jobs 2          # every run, two at a time, then the table
    python -m benchmarks.strategies --runs schedule,joint-pcgrad --epochs 5
    python -m benchmarks.strategies --table                      # the table of finished runs again
    python -m benchmarks.strategies --set data.max_sentences=60 --epochs 1 --out /tmp/strategies-smoke   # a smoke run

Every run is the 128-unit hierarchy of models/jmt-ewt-fast.toml (POS and dependencies on UD English EWT, chunks on
CoNLL-2000 with its last 1,000 training sentences as dev) with one ``train.sampling`` x ``train.weighting``. The
budget is matched: every sampler but ``joint`` takes as many steps an epoch as the schedule (one batch of about
``batch_tokens`` words each), and ``joint``, whose steps carry a batch of every task, gets its epochs cut so its
training words match (``--epochs`` x the schedule's words; the table shows the words each run trained on).
PCGrad changes nothing where a step trains one task, so it runs with ``joint`` only. Gradient diagnostics every
200 steps give the interference summary: the mean gradient cosine of each task pair over the run. Dev scores are
those of the best epoch (model selection on the mean of UPOS, chunk F1 and LAS, which the ``mean`` column shows).
Results go to benchmarks/out-strategies/.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import ROOT, make_parser, result_rows, run_all, run_result, train_run

RECIPE = ROOT / "models" / "jmt-ewt-fast.toml"
RUNS = {"schedule": ("schedule", "static"), "schedule-uncertainty": ("schedule", "uncertainty"),
        "schedule-dtp": ("schedule", "dtp"), "joint": ("joint", "static"),
        "joint-uncertainty": ("joint", "uncertainty"), "joint-dtp": ("joint", "dtp"),
        "joint-pcgrad": ("joint", "pcgrad"), "proportional": ("proportional", "static"),
        "temperature": ("temperature", "static"), "annealed": ("annealed", "static"),
        "uniform": ("uniform", "static"), "autosem": ("autosem", "static")}
COLUMNS = [("pos", "upos", "acc", "UPOS"), ("pos", "xpos", "acc", "XPOS"), ("chunks", "chunks", "f1", "chunk F1"),
           ("deps", "deps", "uas", "UAS"), ("deps", "deps", "las", "LAS")]


def budget_epochs(config, epochs: int) -> int:
    """The epochs of a ``joint`` run that train about as many words as ``epochs`` of the schedule."""
    import random

    from hierarchy.training import Trainer

    trainer = Trainer(config, ROOT / "benchmarks" / ".unused", progress=False)
    trainer.build()
    batches = {t: trainer.task_batches(t, random.Random(0)) for t in trainer.tasks}
    words = {t: [b.n_words() for b in bs] for t, bs in batches.items()}
    schedule = sum(sum(w) for w in words.values())
    steps = max(len(w) for w in words.values())
    joint = sum(w[i % len(w)] for w in words.values() for i in range(steps))
    return max(1, round(epochs * schedule / joint))


def one_run(name: str, args) -> dict:
    import torch

    from hierarchy.core.config import load_config

    torch.set_num_threads(args.threads)
    sampling, weighting = RUNS[name]
    overrides = [f"train.sampling={sampling}", f"train.weighting={weighting}", "train.diagnose_every=200",
                 f"train.epochs={args.epochs}", f"train.device={args.device}", "train.patience=100", *args.set]
    config = load_config(args.recipe, overrides)
    if sampling == "joint":
        config.train.epochs = budget_epochs(config, args.epochs)
    trainer, state, out, wall, model, vocabs = train_run(name, config, args)
    history = state["history"]
    cosines: dict[str, list[float]] = {}
    for line in history:
        for pair, cosine in (line.get("interference") or {}).get("cosine", {}).items():
            cosines.setdefault(pair, []).append(cosine)
    return run_result(name, args, trainer, state, out, wall) | {
        "train_words": sum(line["words"] for line in history), "best_score": state["best"],
        "interference": {pair: sum(c) / len(c) for pair, c in cosines.items()},
        "weights": (history[-1].get("weighting") or {}).get("weights"),
        "mixing_ratio": (history[-1].get("sampler") or {}).get("mixing_ratio"),
    }


def table(out: Path) -> str:
    lines = ["| run | sampling | weighting | " + " | ".join(c[3] for c in COLUMNS) + " | mean | epochs (best) "
             "| train words (M) | train words/s | gradient cosines (mean over the run) |",
             "|---|---|---|" + "---|" * (len(COLUMNS) + 5)]
    for r in result_rows(out, RUNS):
        cells = [f"{r['dev'][t][m][k]:.2f}" if t in r["dev"] else "-" for t, m, k, _ in COLUMNS]
        pairs = ", ".join(f"{p.replace('|', '/')} {c:+.3f}" for p, c in (r.get("interference") or {}).items())
        sampling, weighting = RUNS.get(r["run"], ("?", "?"))
        lines.append(f"| {r['run']} | {sampling} | {weighting} | " + " | ".join(cells)
                     + f" | {r['best_score']:.2f} | {r['epochs']} ({r['best_epoch']}) | {r['train_words'] / 1e6:.2f} "
                     f"| {r['train_words_per_second']:.0f} | {pairs or '-'} |")
    return "\n".join(lines) if len(lines) > 2 else f"no finished runs in {out}"


def main():
    run_all(__spec__.name, one_run, table, make_parser(__doc__, list(RUNS), "out-strategies", RECIPE).parse_args())


if __name__ == "__main__":
    main()
