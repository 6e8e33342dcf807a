"""Benchmark: semantic roles (Universal PropBank English EWT) on top of the JMT hierarchy, beside a single-task SRL
baseline and the LISA recipe; prints a Markdown table.

    python -m benchmarks.srl                           # all runs, one after another, then the table
    python -m benchmarks.srl --runs hierarchy --jobs 2 --threads 1
    python -m benchmarks.srl --set data.max_sentences=40 --epochs 1 --out /tmp/srl-smoke   # a smoke run
    python -m benchmarks.srl --table                   # print the table of finished runs again

Recipe models/jmt-ewt.toml (UD English EWT for POS and dependencies, CoNLL-2000 for chunks) with an SRL layer of the
same size added above dependencies, trained on the rebuilt UP English EWT train file and scored on the official dev
(head-based, CoNLL-2009-style counts). ``hierarchy``: all four layers, JMT's schedule. ``srl-only``: the same four
layers, only SRL supervised (no lower supervision, no POS / chunk label embeddings). ``lisa``: models/lisa.toml at
full size (four attention layers of 256 units and 8 heads, the syntax head in layer 3), POS and predicates at the
bottom, dependencies and roles all from the UP files (their UD columns), trained jointly; scored with its own parse
and, in a second row, with the gold parse of the dev file injected into the syntax head. ``lisa-minilm``: the same
with all-MiniLM-L6-v2 beneath it (models/lisa-minilm.toml, frozen). ``--recipe models/jmt-ewt-minilm.toml`` puts
the transformer beneath the hierarchy and srl-only runs. Dev scores are those of the best epoch. Results go to
benchmarks/out-srl/.
"""
from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import ROOT, dev_cell, make_parser, result_rows, run_all, run_result, supervise_only, train_run
from benchmarks.jmt import RECIPE

UP = ROOT.parent / "shared" / "corpora" / "up-english-ewt"
RUNS = ["hierarchy", "srl-only", "lisa", "lisa-minilm"]
LISA = {"lisa": ROOT / "models" / "lisa.toml", "lisa-minilm": ROOT / "models" / "lisa-minilm.toml"}


def srl_recipe(recipe, overrides: list[str]):
    """``recipe`` (default models/jmt-ewt.toml) with an SRL layer on top, reading UP English EWT."""
    from hierarchy.core.config import LayerConfig, apply_override, load_config

    config = load_config(recipe)
    config.data.srl = str(UP / "en_ewt-up-train.rebuilt.conllu")
    config.data.srl_dev = str(UP / "en_ewt-up-dev.conllu")
    config.data.srl_format = "conllu"
    config.model.layers.append(LayerConfig(size=config.model.layers[-1].size, tasks=["srl"]))
    for override in overrides:
        apply_override(config, override)
    config.validate(f"{recipe} + srl")
    return config


def lisa_recipe(name: str, overrides: list[str]):
    """models/lisa.toml (or lisa-minilm.toml) at full size on UP English EWT."""
    import dataclasses

    from hierarchy.core.config import apply_override, load_config

    config = load_config(LISA[name])
    for key in ("pos", "deps", "srl"):
        setattr(config.data, key, str(UP / "en_ewt-up-train.rebuilt.conllu"))
        setattr(config.data, f"{key}_dev", str(UP / "en_ewt-up-dev.conllu"))
    config.model = dataclasses.replace(config.model, word_dim=100, char_dim=32, char_size=100, label_dim=32,
                                       mlp_dim=128, rel_dim=64, dropout=0.1, word_dropout=0.1)
    for layer in config.model.layers:
        layer.size, layer.heads = 256, 8
    config.train.batch_tokens, config.train.lr, config.train.patience = 2000, 1e-3, 5
    for override in overrides:
        apply_override(config, override)
    config.validate(f"{LISA[name]} (full size)")
    return config


def one_run(name: str, args) -> dict:
    import torch

    from hierarchy.core.predict import annotate, score
    from hierarchy.training import load_corpora

    torch.set_num_threads(args.threads)
    overrides = [f"train.epochs={args.epochs}", f"train.device={args.device}"] + args.set
    config = lisa_recipe(name, overrides) if name in LISA else srl_recipe(args.recipe, overrides)
    if name == "srl-only":  # the same layers, only SRL supervised
        supervise_only(config, ["srl"])
    trainer, state, out, wall, model, vocabs = train_run(name, config, args)
    _, dev = load_corpora(config)
    sentences = dev["srl"]
    annotate(model, vocabs, sentences[:50], ["srl"], device=trainer.device)  # warm up
    t0 = time.perf_counter()
    predicted = annotate(model, vocabs, sentences, ["srl"], device=trainer.device)
    seconds = time.perf_counter() - t0
    srl = score("srl", predicted, sentences, vocabs)["srl"]
    injected = None
    if name in LISA:  # the dev file's own (gold) parse in the syntax head
        heads = [s.heads for s in sentences]
        gold_syntax = annotate(model, vocabs, sentences, ["srl"], device=trainer.device, inject=heads)
        injected = score("srl", gold_syntax, sentences, vocabs)["srl"].values
    return run_result(name, args, trainer, state, out, wall) | {
        "srl": srl.values, "per_role": srl.per_role, "srl_gold_syntax": injected,
        "annotate_words_per_second": sum(len(s) for s in sentences) / seconds,
    }


def table(out: Path) -> str:
    lines = [
        "| run | device | UPOS | chunk F1 | LAS | predicate F1 | sense acc | arg P | arg R | arg F1 | epochs (best) "
        "| train words/s | annotate words/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result_rows(out, RUNS):
        get = lambda task, name, key: dev_cell(r, task, name, key)  # noqa: E731
        for run, s in [(r["run"], r["srl"]), (r["run"] + " (gold syntax injected)", r.get("srl_gold_syntax"))]:
            if s is None:
                continue
            lines.append(
                f"| {run} | {r['device']} ({r['threads']} thr) | {get('pos', 'upos', 'acc')} "
                f"| {get('chunks', 'chunks', 'f1')} | {get('deps', 'deps', 'las')} | {s['predicate_f1']:.2f} "
                f"| {s['sense_acc']:.2f} | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} "
                f"| {r['epochs']} ({r['best_epoch']}) | {r['train_words_per_second']:.0f} "
                f"| {r['annotate_words_per_second']:.0f} |"
            )
    return "\n".join(lines)


def main():
    run_all(__spec__.name, one_run, table, make_parser(__doc__, RUNS, "out-srl", RECIPE).parse_args())


if __name__ == "__main__":
    main()
