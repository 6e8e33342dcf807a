"""Benchmark: `hierarchy annotate` with worker processes (--nproc) against one process, on raw text; prints a
Markdown table.

    python -m benchmarks.processes --model MODEL                 # EWT dev's text where the corpora are, else sample
    python -m benchmarks.processes --model MODEL --runs 1x1,1x2,2x1 --repeats 3

A run ``PxT`` is P processes of T threads each (OMP_NUM_THREADS); each is timed end to end as a user runs it
(start-up and model loading included), best of ``--repeats``; words/s counts the input's words.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "corpora" / "ud-english-ewt" / "en_ewt-ud-dev.conllu"


def input_text(path: Path) -> tuple[str, int]:
    """The ``# text`` lines of a CoNLL-U file as paragraphs of ten sentences, and its word count."""
    texts = [line[len("# text = "):] for line in path.read_text(encoding="utf-8").splitlines()
             if line.startswith("# text = ")]
    paragraphs = [" ".join(texts[i : i + 10]) for i in range(0, len(texts), 10)]
    return "\n\n".join(paragraphs) + "\n", sum(len(t.split()) for t in texts)


def run(model: str, text_file: str, processes: int, threads: int) -> tuple[float, float]:
    """Seconds and the children's peak RSS (MiB) of one `hierarchy annotate` run."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hierarchy", "annotate", model, text_file, "--quiet", "--device", "cpu",
                    "--nproc", str(processes), "-o", os.devnull], check=True, env=env, cwd=ROOT)
    return time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model directory")
    parser.add_argument("--text", type=Path, help="a CoNLL-U file whose # text lines are annotated "
                                                  "(default: EWT dev, else data/sample/dev.conllu)")
    parser.add_argument("--runs", default="1x1,1x2,2x1")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--copies", type=int, default=4, help="the text this many times (start-up weighs less)")
    args = parser.parse_args()
    source = args.text or (DEV if DEV.is_file() else ROOT / "data" / "sample" / "dev.conllu")
    text, words = input_text(source)
    text, words = text * args.copies, words * args.copies
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
    runs = [tuple(int(x) for x in r.split("x")) for r in args.runs.split(",")]
    timings = {r: [] for r in runs}
    for _ in range(args.repeats):  # round-robin, so that a busy moment does not favour one run
        for processes, threads in runs:
            timings[(processes, threads)].append(run(args.model, f.name, processes, threads))
    os.unlink(f.name)
    base = min(t for t, _ in timings[runs[0]])
    print(f"{source.name} x {args.copies}: {words} words; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores\n")
    print("| processes x threads | seconds (best) | words/s | vs first | peak RSS MiB (children, so far) |")
    print("|---|---|---|---|---|")
    for processes, threads in runs:
        seconds = min(t for t, _ in timings[(processes, threads)])
        rss = max(r for _, r in timings[(processes, threads)])
        print(f"| {processes} x {threads} | {seconds:.1f} | {words / seconds:.0f} | {base / seconds:.2f}x | {rss:.0f} |")


if __name__ == "__main__":
    main()
