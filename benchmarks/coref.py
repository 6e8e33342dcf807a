"""Benchmark: a trained coreference model on UD English GUM dev; prints Markdown tables.

    python -m benchmarks.coref models/jmt-gum-coref                        # scores, cluster typing, speed
    python -m benchmarks.coref models/jmt-gum-coref --scorer /path/reference-coreference-scorers/scorer.pl

- Scores: MUC, B³, CEAF-e, their mean (the CoNLL F1) and LEA, on predicted and on gold mentions, singletons
  excluded (OntoNotes-style) and included (GUM annotates them), with mention detection.
- ``--scorer``: the same predictions converted to the CoNLL-2012 format (:func:`hierarchy.io.documents
  .write_conll2012`) and scored by the official reference scorer (``perl scorer.pl METRIC KEY RESPONSE none``, from
  github.com/conll/reference-coreference-scorers, not part of this project), beside the project's values: MUC, B³
  and CEAF-e (its version 8.01 has no LEA; it cuts percentages to two decimals, so differences up to 0.01 are
  its rounding).
- Cluster typing: the typed outermost-mention F1 as the mention layer gives it and with ``model.cluster_typing`` at
  each ``--typing`` threshold (applied to the same predictions). ``GUM_DEV=FILE`` scores another file.
- ``--thresholds``: the CoNLL F1 on predicted mentions at each ``model.link_threshold`` (the dummy antecedent's
  score in decoding), decoding the same scores again; ``--threshold`` sets it for every table (default: the model's).
- Speed: one document of ``--words`` words (GUM dev's documents joined into one) annotated on one thread (every
  layer, coreference included) in a fresh process: seconds and peak memory (the target: 5,000 words in under 10 s
  and 2 GB).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUM_DEV = Path(os.environ.get("GUM_DEV", ROOT.parent / "shared" / "corpora" / "ud-english-gum" / "en_gum-ud-dev.conllu"))
METRICS = ("muc", "bcub", "ceafe", "lea")


THRESHOLD = None  # --threshold: the link threshold of every table (None: the model's own)


@functools.cache
def predict(model_dir, gold: bool):
    """``(gold documents, predicted documents, the coref metrics, (the coref head, each document's scores))`` over
    GUM dev, predicted once per mention mode."""
    from hierarchy.core.persistence import load_model
    from hierarchy.core.predict import Predictor
    from hierarchy.io.documents import read_coref
    from hierarchy.tasks import TASKS

    model, _, vocabs = load_model(model_dir)
    head, scores = model.tasks["coref"], []
    head.typing = 0.0  # cluster typing is measured on the predictions below
    head.threshold = head.threshold if THRESHOLD is None else THRESHOLD
    decode = head.decode
    head.decode = lambda values, batch: scores.append(values) or decode(values, batch)
    documents = read_coref(GUM_DEV, given=gold)
    predicted = Predictor(model, vocabs)(documents)
    head.decode = decode
    return documents, predicted, TASKS["coref"].metric(predicted, documents, vocabs), (head, scores)


def thresholds_table(model_dir, thresholds) -> list[str]:
    """The CoNLL F1 (predicted mentions, singletons excluded) with the scores of the same prediction decoded at each
    link threshold."""
    from hierarchy.tasks.coref import add_document, metric

    documents, _, _, (head, scores) = predict(model_dir, False)
    if len(scores) != len(documents):  # a document over DOCUMENT_WORDS is decoded in parts
        raise SystemExit(f"--thresholds: {len(scores)} decoded parts for {len(documents)} documents; shorter ones only")
    lines = ["| link threshold | MUC R / P | B³ R / P | CEAF-e R / P | CoNLL F1 |", "|---|---|---|---|---|"]
    before = head.threshold
    for threshold in thresholds:
        head.threshold, metrics = threshold, metric([], [], None)
        for values, document in zip(scores, documents):
            (clusters,) = head.decode(values, None)["clusters"]
            add_document(metrics, [c["mentions"] for c in document.get("clusters")], [c[2] for c in clusters])
        v = metrics["coref"].values
        lines.append(f"| {threshold:g} | " + " | ".join(f"{v[m]['recall']:.1f} / {v[m]['precision']:.1f}"
                                                      for m in METRICS[:3]) + f" | {v['conll_f1']:.2f} |")
    head.threshold = before
    return lines


def scores_table(model_dir) -> list[str]:
    lines = ["| mentions | singletons | MUC F1 | B³ F1 | CEAF-e F1 | CoNLL F1 | LEA F1 | mention P / R / F1 |",
             "|---|---|---|---|---|---|---|---|"]
    for gold in (False, True):
        metrics = predict(model_dir, gold)[2]
        detection = metrics["coref_mentions"].values
        for name, singletons in (("coref", "excluded"), ("coref_singletons", "included")):
            v = metrics[name].values
            lines.append(f"| {'gold' if gold else 'predicted'} | {singletons} | "
                         + " | ".join(f"{v[m]['f1']:.2f}" for m in METRICS[:3]) + f" | **{v['conll_f1']:.2f}** | "
                         f"{v['lea']['f1']:.2f} | {detection['precision']:.1f} / {detection['recall']:.1f} / "
                         f"{detection['f1']:.1f} |")
    return lines


def official(scorer: Path, key: Path, response: Path) -> dict:
    """``{metric: (recall, precision, f1)}`` as the reference scorer prints them (percent, cut, not rounded, to
    two decimals). Its version 8.01 has no LEA."""
    out = {}
    for metric in METRICS[:3]:
        done = subprocess.run(["perl", str(scorer), metric, str(key), str(response), "none"], capture_output=True,
                              text=True, check=True)
        found = re.findall(r"Coreference: Recall: \(.*?\) ([\d.]+)%\s+Precision: \(.*?\) ([\d.]+)%\s+F1: ([\d.]+)%",
                           done.stdout)
        out[metric] = tuple(map(float, found[-1]))
    return out


def scorer_table(model_dir, scorer: Path) -> list[str]:
    from hierarchy.io.documents import write_conll2012

    lines = ["| mentions | singletons | metric | official R / P / F1 | project R / P / F1 | largest difference |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for gold in (False, True):
            documents, predicted, metrics, _ = predict(model_dir, gold)
            for name, singletons in (("coref", False), ("coref_singletons", True)):
                key, response = Path(tmp) / "key.conll", Path(tmp) / "response.conll"
                write_conll2012(key, documents, singletons)
                write_conll2012(response, predicted, singletons)
                theirs, ours = official(scorer, key, response), metrics[name].values
                for metric in METRICS[:3]:
                    mine = (ours[metric]["recall"], ours[metric]["precision"], ours[metric]["f1"])
                    difference = max(abs(a - b) for a, b in zip(theirs[metric], mine))
                    lines.append(f"| {'gold' if gold else 'predicted'} | {'in' if singletons else 'ex'}cluded | "
                                 f"{metric} | {' / '.join(f'{x:.2f}' for x in theirs[metric])} | "
                                 f"{' / '.join(f'{x:.2f}' for x in mine)} | {difference:.3f} |")
    return lines


def typing_table(model_dir, thresholds) -> list[str]:
    """The typed outermost-mention F1 as the mention layer gave it, then with each cluster-typing threshold applied
    to the same predictions (:func:`hierarchy.io.documents.spread_clusters`)."""
    from hierarchy.io.documents import outermost_tags, spread_clusters
    from hierarchy.tasks.metrics import ChunkMetric

    documents, predicted, metrics, _ = predict(model_dir, False)
    v = metrics["mentions_layer"].values
    lines = ["| mention types | P | R | F1 |", "|---|---|---|---|",
             f"| the mention layer's | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} |"]
    for threshold in thresholds:
        metric = ChunkMetric()
        for p, g in zip(predicted, documents):
            for ps, gs in zip(spread_clusters(p, p.get("clusters"), threshold), g.sentences):
                metric.update(ps.get("mentions"), outermost_tags(gs))
        v = metric.values
        lines.append(f"| the clusters' where confidence ≥ {threshold} | {v['precision']:.2f} | {v['recall']:.2f} | "
                     f"{v['f1']:.2f} |")
    return lines


def speed(model_dir, words: int) -> dict:
    """Annotate one document of ``words`` words on one thread, in this process: seconds and peak memory."""
    import torch

    from hierarchy.core.persistence import load_model
    from hierarchy.core.predict import Predictor
    from hierarchy.io.documents import Document, read_coref

    torch.set_num_threads(1)
    sentences = [s for d in read_coref(GUM_DEV) for s in d.sentences]
    cut, n = [], 0
    while n < words:
        cut.append(sentences[len(cut) % len(sentences)])
        n += len(cut[-1])
    document = Document(cut, "joined")
    model, _, vocabs = load_model(model_dir)
    start = time.perf_counter()
    (predicted,) = Predictor(model, vocabs)([document])
    seconds = time.perf_counter() - start
    return {"words": n, "seconds": seconds, "clusters": len(predicted.get("clusters")),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--scorer", type=Path, help="the reference scorer's scorer.pl")
    parser.add_argument("--typing", type=float, nargs="*", default=[0.5, 0.7, 0.9])
    parser.add_argument("--thresholds", type=float, nargs="*", default=[0, -0.5, -1, -1.5, -2, -2.5, -3])
    parser.add_argument("--threshold", type=float, help="model.link_threshold for every table (default: the model's)")
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--speed-only", action="store_true", help=argparse.SUPPRESS)  # the fresh process's part
    args = parser.parse_args()
    if args.speed_only:
        print(json.dumps(speed(args.model, args.words)))
        return
    if not GUM_DEV.is_file():
        sys.exit(f"GUM dev not found at {GUM_DEV}")
    global THRESHOLD
    THRESHOLD = args.threshold
    print("\n".join(scores_table(args.model)), "\n")
    if args.thresholds:
        print("\n".join(thresholds_table(args.model, args.thresholds)), "\n")
    if args.scorer:
        print("\n".join(scorer_table(args.model, args.scorer)), "\n")
    print("\n".join(typing_table(args.model, args.typing)), "\n")
    done = subprocess.run([sys.executable, "-m", "benchmarks.coref", args.model, "--speed-only", "--words",
                           str(args.words)], capture_output=True, text=True, check=True, cwd=ROOT)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    print("| words | seconds (one thread) | words/s | peak memory (MiB) | clusters |\n|---|---|---|---|---|")
    print(f"| {row['words']:,} | {row['seconds']:.2f} | {row['words'] / row['seconds']:,.0f} | "
          f"{row['peak_rss_mib']:,.0f} | {row['clusters']} |")


if __name__ == "__main__":
    main()
