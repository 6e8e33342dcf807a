"""Benchmark: dependency-tree decoding, the O(n^2) Chu-Liu-Edmonds of hierarchy/tasks/mst.py beside networkx's Edmonds
(``maximum_spanning_arborescence``; networkx comes with torch); prints two Markdown tables.

    python -m benchmarks.trees                                  # timings, then EWT dev with the model below
    python -m benchmarks.trees --model benchmarks/out-fast/hierarchy --lengths 100,1000,5000

1. Time to decode one sentence of 100 / 1,000 / 5,000 words (one CPU thread) from two kinds of scores: random
   (``N(0, 1)`` for every arc: hundreds of nested cycles, the worst case) and parser-like (each word's gold-like
   head 8 points above the rest, so the greedy heads are nearly a tree, as a trained parser's are). ``decode_tree``
   is the library's path (greedy heads, the MST with one root child where they are not a tree); networkx's
   Edmonds on the same matrix, up to ``--peer-max`` words (it builds a graph of n^2 arcs).
2. EWT dev with a trained model (``--model``): the arc scores of every sentence decoded with both MST codes,
   forced on every sentence (not only those whose greedy heads are not a tree): identical trees and total time.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "corpora" / "ud-english-ewt" / "en_ewt-ud-dev.conllu"


def scores(n: int, kind: str, rng) -> np.ndarray:
    """``[n + 1, n + 1]`` arc scores, ``energy[head, dep]``."""
    energy = rng.normal(size=(n + 1, n + 1))
    if kind == "parser-like":  # a tree of short arcs 8 points above the rest (a trained parser's margin)
        heads = [0] + [max(0, d - 1 - int(rng.integers(0, 3))) for d in range(1, n + 1)]
        energy[heads[1:], np.arange(1, n + 1)] += 8.0
    return energy


def timed(fn, *args):
    start = time.perf_counter()
    try:
        out = fn(*args)
    except RecursionError:
        return None, "RecursionError"
    return out, f"{time.perf_counter() - start:.3f}"


def peer_mst(energy: np.ndarray) -> list[int]:
    """networkx's maximum spanning arborescence rooted at 0 of ``energy[head, dep]``: the heads of words 1..n."""
    import networkx as nx

    n = energy.shape[0] - 1
    graph = nx.DiGraph()
    graph.add_weighted_edges_from((h, d, energy[h, d]) for h in range(n + 1) for d in range(1, n + 1) if h != d)
    heads = [0] * n
    for h, d in nx.maximum_spanning_arborescence(graph).edges:
        heads[d - 1] = h
    return heads


def timing_table(lengths: list[int], peer_max: int) -> str:
    from hierarchy.tasks.decoding import decode_tree

    rng = np.random.default_rng(0)
    lines = ["| words | scores | decode_tree s | networkx Edmonds s |", "|---|---|---|---|"]
    for n in lengths:
        for kind in ("random", "parser-like"):
            energy = scores(n, kind, rng)
            s_arc = torch.from_numpy(energy.T.copy())[None]  # s_arc[b, dep, head]
            mask = torch.ones(1, n + 1, dtype=torch.bool)
            mask[0, 0] = False
            _, ours = timed(decode_tree, s_arc, mask)
            theirs = "-"
            if n <= peer_max:
                _, theirs = timed(peer_mst, energy)
            lines.append(f"| {n} | {kind} | {ours} | {theirs} |")
    return "\n".join(lines)


def ewt_table(model_dir: Path) -> str:
    from hierarchy.core.batching import batches
    from hierarchy.core.persistence import load_model
    from hierarchy.io import read_conllu
    from hierarchy.tasks.mst import max_spanning_tree

    if not (model_dir / "config.toml").is_file() or not DEV.is_file():
        return f"(no EWT comparison: needs a trained model in {model_dir} and {DEV})"
    model, _, vocabs = load_model(model_dir)
    sentences = [s for s in read_conllu(DEV) if len(s)]
    same, ours_s, theirs_s = 0, 0.0, 0.0
    with torch.no_grad():
        for batch in batches(sentences, vocabs, 4000):
            s_arc = model(batch, ["deps"])["deps"]["s_arc"].double()
            for row, n in enumerate(batch.lens.tolist()):
                energy = s_arc[row, : n + 1, : n + 1].T.contiguous().numpy()  # energy[head, dep]
                start = time.perf_counter()
                ours = max_spanning_tree(energy)
                ours_s += time.perf_counter() - start
                start = time.perf_counter()
                theirs = peer_mst(energy)
                theirs_s += time.perf_counter() - start
                same += ours == theirs
    return ("| sentences | identical trees | hierarchy.tasks.mst s | networkx Edmonds s |\n|---|---|---|---|\n"
            f"| {len(sentences)} | {same} | {ours_s:.2f} | {theirs_s:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="100,1000,5000")
    parser.add_argument("--peer-max", type=int, default=1000, help="longest sentence given to networkx")
    parser.add_argument("--model", type=Path, default=ROOT / "benchmarks" / "out-fast" / "hierarchy")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(timing_table([int(n) for n in args.lengths.split(",")], args.peer_max))
    print()
    print(ewt_table(args.model))


if __name__ == "__main__":
    main()
