"""Benchmark: the JMT hierarchy on the real corpora beside single-task baselines; prints a Markdown table.

    python -m benchmarks.jmt                       # all runs, one after another, then the table
    python -m benchmarks.jmt --runs hierarchy --epochs 2 --jobs 2 --threads 1
    python -m benchmarks.jmt --table               # print the table of finished runs again
    python -m benchmarks.jmt --recipe models/jmt-ewt-fast.toml --runs hierarchy --epochs 20 --out benchmarks/out-fast

Each run trains in its own process (so peak memory is its own) with recipe models/jmt-ewt.toml (or --recipe): UD
English EWT for POS and dependencies, CoNLL-2000 for chunks (its last 1,000 training sentences held out as dev). A
baseline keeps the same stack up to its task's layer but supervises only that task. Results go to benchmarks/out/.
"""
from __future__ import annotations

import time

from benchmarks.common import ROOT, dev_cell, make_parser, result_rows, run_all, run_result, supervise_only, train_run

RECIPE = ROOT / "models" / "jmt-ewt.toml"
RUNS = {"hierarchy": None, "pos": "pos", "chunks": "chunks", "deps": "deps"}


def one_run(name: str, args) -> dict:
    import torch

    from hierarchy.core.config import load_config
    from hierarchy.core.predict import annotate
    from hierarchy.training import load_corpora

    torch.set_num_threads(args.threads)
    config = load_config(args.recipe, [f"train.epochs={args.epochs}", f"train.device={args.device}"] + args.set)
    if RUNS[name]:  # single task: the same layers up to its depth, no other supervision
        supervise_only(config, [name])
    trainer, state, out, wall, model, vocabs = train_run(name, config, args)
    _, dev = load_corpora(config)
    sentences = dev.get("deps") or dev.get("pos") or dev["chunks"]
    annotate(model, vocabs, sentences[:50], device=trainer.device)  # warm up
    t0 = time.perf_counter()
    annotate(model, vocabs, sentences, device=trainer.device)
    seconds = time.perf_counter() - t0
    return run_result(name, args, trainer, state, out, wall) | {
        "annotate_words_per_second": sum(len(s) for s in sentences) / seconds,
    }


def table(out: Path) -> str:
    """A Markdown table of the runs in ``out``: finished ones from their JSON, stopped ones from their metrics.json."""
    lines = [
        "| run | device | UPOS | XPOS | chunk F1 | UAS | LAS | epochs (best) | train words/s | s/epoch | annotate words/s | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    number = lambda value: "-" if value is None else f"{value:.0f}"  # noqa: E731
    for r in result_rows(out, RUNS, partial=True):
        get = lambda task, name, key: dev_cell(r, task, name, key)  # noqa: E731
        lines.append(
            f"| {r['run']} | {r['device']} ({r['threads']} thr) | {get('pos', 'upos', 'acc')} | {get('pos', 'xpos', 'acc')} "
            f"| {get('chunks', 'chunks', 'f1')} | {get('deps', 'deps', 'uas')} | {get('deps', 'deps', 'las')} "
            f"| {r['epochs']} ({r['best_epoch']}) | {r['train_words_per_second']:.0f} | {r['epoch_seconds']:.0f} "
            f"| {number(r['annotate_words_per_second'])} | {number(r['peak_rss_mib'])} |"
        )
    return "\n".join(lines)


def main():
    run_all(__spec__.name, one_run, table, make_parser(__doc__, list(RUNS), "out", RECIPE).parse_args())


if __name__ == "__main__":
    main()
