"""Benchmark: relatedness and entailment on SICK at the top of the full JMT hierarchy, beside the same pair layers
trained alone; prints a Markdown table.

    python -m benchmarks.pairs                         # both runs, one after another, then the table
    python -m benchmarks.pairs --jobs 2 --threads 1    # both at once
    python -m benchmarks.pairs --set data.max_sentences=60 --epochs 1 --out /tmp/pairs-smoke   # a smoke run
    python -m benchmarks.pairs --table                 # print the table of finished runs again

Recipe models/jmt-sick.toml without its SRL layer (benchmarks/srl.py measures that one; leaving it out saves a
third of the CPU time), so five layers. ``hierarchy``: all five in one run, POS and dependencies on UD English
EWT, chunks on CoNLL-2000, relatedness and entailment on SICK train (SICK trial as dev; batches of about 500 words,
the recipe's train.task_batch_tokens), JMT's schedule with successive regularization. ``pairs-only``: the same five
layers, but only relatedness and entailment are supervised (no lower supervision, no POS / chunk label
embeddings), its vocabulary from SICK alone. Dev scores are those of the best epoch
(model selection on the average main score of the run's tasks). Results go to benchmarks/out-pairs/.
"""
from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import ROOT, dev_cell, make_parser, result_rows, run_all, run_result, supervise_only, train_run

RECIPE = ROOT / "models" / "jmt-sick.toml"
RUNS = ["hierarchy", "pairs-only"]


def one_run(name: str, args) -> dict:
    import torch

    from hierarchy.core.config import load_config
    from hierarchy.core.predict import predict_pairs, score
    from hierarchy.tasks import TASKS
    from hierarchy.training import load_corpora

    torch.set_num_threads(args.threads)
    config = load_config(args.recipe, [f"train.epochs={args.epochs}", f"train.device={args.device}"] + args.set)
    config.model.layers = [layer for layer in config.model.layers if "srl" not in layer.tasks]
    if name == "pairs-only":  # the same layers, only the pair tasks supervised
        supervise_only(config, [t for t in config.tasks() if TASKS[t].unit == "pair"])
    trainer, state, out, wall, model, vocabs = train_run(name, config, args)
    _, dev = load_corpora(config)
    pairs = dev["entailment"]
    predict_pairs(model, vocabs, pairs[:50], device=trainer.device)  # warm up
    t0 = time.perf_counter()
    predicted = predict_pairs(model, vocabs, pairs, device=trainer.device)
    seconds = time.perf_counter() - t0
    entailment = score("entailment", predicted, pairs)["entailment"]
    relatedness = score("relatedness", predicted, pairs)["relatedness"]
    return run_result(name, args, trainer, state, out, wall) | {
        "pairs_dev": len(pairs),
        "entailment": {**entailment.values, "per_class": entailment.per_class, "confusion": entailment.matrix},
        "relatedness": relatedness.values,
        "predict_pairs_per_second": len(pairs) / seconds,
        "predict_words_per_second": sum(len(p.premise) + len(p.hypothesis) for p in pairs) / seconds,
    }


def table(out: Path) -> str:
    lines = [
        "| run | device | entailment acc | relatedness Pearson | Spearman | MSE | UPOS | chunk F1 | LAS "
        "| epochs (best) | train words/s | s/epoch | predict pairs/s | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result_rows(out, RUNS):
        rel = r["relatedness"]
        get = lambda task, name, key: dev_cell(r, task, name, key)  # noqa: E731
        lines.append(
            f"| {r['run']} | {r['device']} ({r['threads']} thr) | {r['entailment']['acc']:.2f} "
            f"| {rel['pearson'] / 100:.4f} | {rel['spearman'] / 100:.4f} | {rel['mse']:.4f} "
            f"| {get('pos', 'upos', 'acc')} | {get('chunks', 'chunks', 'f1')} | {get('deps', 'deps', 'las')} "
            f"| {r['epochs']} ({r['best_epoch']}) | {r['train_words_per_second']:.0f} | {r['epoch_seconds']:.0f} "
            f"| {r['predict_pairs_per_second']:.0f} | {r['peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def main():
    run_all(__spec__.name, one_run, table, make_parser(__doc__, RUNS, "out-pairs", RECIPE).parse_args())


if __name__ == "__main__":
    main()
