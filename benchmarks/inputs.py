"""Benchmark: the EWT hierarchy on no pretrained input, on GloVe and on a transformer, at matched epochs; prints a
Markdown table.

    python -m benchmarks.inputs --epochs 20                       # all runs, one after another, then the table
    python -m benchmarks.inputs --runs minilm --epochs 20 --resume  # continue one
    python -m benchmarks.inputs --table --matched 12               # the table, every run cut at epoch 12
    python -m benchmarks.inputs --set data.max_sentences=60 --epochs 1 --out /tmp/inputs-smoke   # a smoke run

Runs (each in its own process, so its peak RSS is its own), all the 128-unit hierarchy of models/jmt-ewt-fast.toml
(POS and dependencies on UD English EWT, chunks on CoNLL-2000 with its last 1,000 training sentences as dev):

- ``none``: models/jmt-ewt-fast.toml, no pretrained input;
- ``glove``: models/jmt-ewt-glove.toml, GloVe 6B 50d (static, frozen);
- ``minilm``: models/jmt-ewt-minilm.toml, all-MiniLM-L6-v2 frozen (features cached per corpus);
- ``minilm-tuned``: the same, fine-tuned (``model.transformer.freeze=false``; a GPU's job: on a CPU it trains about
  30 times slower than frozen): ``python -m benchmarks.inputs --runs minilm-tuned --device cuda --epochs 20``.

Dev scores are those of the best epoch among the first ``--matched`` epochs (default: the fewest any run finished;
every epoch's scores are in the run's log.jsonl), so the runs compare at matched training. Annotation: the EWT dev
text through ``hierarchy.core.predict.annotate`` on one thread, fp32 and bf16 autocast (bf16 pays only on CPUs that
compute in it natively), the transformer's features computed on the fly as a user's would be. Peak RSS is the run's
process: training, then annotation. Results go to benchmarks/out-inputs/.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.common import ROOT, make_parser, result_rows, run_all, run_result, train_run

MODELS = ROOT / "models"
RUNS = {"none": (MODELS / "jmt-ewt-fast.toml", []), "glove": (MODELS / "jmt-ewt-glove.toml", []),
        "minilm": (MODELS / "jmt-ewt-minilm.toml", []),
        "minilm-tuned": (MODELS / "jmt-ewt-minilm.toml", ["model.transformer.freeze=false"])}
COLUMNS = [("pos", "upos", "acc", "UPOS"), ("pos", "xpos", "acc", "XPOS"), ("chunks", "chunks", "f1", "chunk F1"),
           ("deps", "deps", "uas", "UAS"), ("deps", "deps", "las", "LAS")]


def one_run(name: str, args) -> dict:
    import torch

    from hierarchy.core.config import load_config
    from hierarchy.core.predict import annotate
    from hierarchy.training import load_corpora

    torch.set_num_threads(args.threads)
    recipe, overrides = RUNS[name]
    config = load_config(recipe, [*overrides, f"train.epochs={args.epochs}", f"train.device={args.device}", *args.set])
    trainer, state, out, wall, model, vocabs = train_run(name, config, args)
    _, dev = load_corpora(config)
    sentences = dev.get("deps") or dev["pos"]
    speed = {}
    for precision in ("fp32", "bf16"):
        annotate(model, vocabs, sentences[:50], device=trainer.device, precision=precision)  # warm up
        t0 = time.perf_counter()
        annotate(model, vocabs, sentences, device=trainer.device, precision=precision)
        speed[precision] = sum(len(s) for s in sentences) / (time.perf_counter() - t0)
    return run_result(name, args, trainer, state, out, wall) | {"annotate_words_per_second": speed}


def matched(out: Path, name: str, epochs: int) -> tuple[dict, int, int] | None:
    """``(dev scores, best epoch, epochs run)`` of run ``name`` with model selection over its first ``epochs``
    epochs, from its log.jsonl."""
    log = out / name / "log.jsonl"
    if not log.is_file():
        return None
    history = [json.loads(line) for line in log.read_text().splitlines()]
    best = max(history[:epochs], key=lambda h: h["score"])
    return best["dev"], best["epoch"], len(history)


def table(out: Path, epochs: int | None = None) -> str:
    rows = {r["run"]: r for r in result_rows(out, RUNS)}
    runs = [name for name in RUNS if (out / name / "log.jsonl").is_file()]
    if not runs:
        return "no finished epochs in " + str(out)
    epochs = epochs or min(matched(out, name, 10**6)[2] for name in runs)
    lines = [f"Dev scores of the best of the first {epochs} epochs:", "",
             "| run | " + " | ".join(c[3] for c in COLUMNS) + " | epochs run (best of the first "
             f"{epochs}) | train words/s | s/epoch | annotate words/s fp32 | bf16 | peak RSS MiB |",
             "|---|" + "---|" * (len(COLUMNS) + 6)]
    number = lambda value: "-" if value is None else f"{value:.0f}"  # noqa: E731
    for name in runs:
        dev, best, run = matched(out, name, epochs)
        cells = [f"{dev[t][m][k]:.2f}" if t in dev else "-" for t, m, k, _ in COLUMNS]
        r = rows.get(name, {})
        speed = r.get("annotate_words_per_second") or {}
        numbers = [r.get("train_words_per_second"), r.get("epoch_seconds"), speed.get("fp32"), speed.get("bf16"),
                   r.get("peak_rss_mib")]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {run} ({best}) | "
                     + " | ".join(number(n) for n in numbers) + " |")
    return "\n".join(lines)


def main():
    parser = make_parser(__doc__, list(RUNS), "out-inputs", RUNS["none"][0])
    parser.add_argument("--matched", type=int, help="compare at this many epochs (default: the fewest any run ran)")
    args = parser.parse_args()
    run_all(__spec__.name, one_run, lambda out: table(out, args.matched), args)


if __name__ == "__main__":
    main()
