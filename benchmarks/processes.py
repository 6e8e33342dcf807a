"""Benchmark: `hierarchy annotate` with worker processes (--nproc) against one process, on raw text; prints a
Markdown table.

    python -m benchmarks.processes --model MODEL                 # EWT dev's text where the corpora are, else sample
    python -m benchmarks.processes --model MODEL --runs 1x1,1x2,2x1 --repeats 3

A run ``PxT`` is P processes of T threads each (OMP_NUM_THREADS); each is timed end to end as a user runs it
(start-up and model loading included), best of ``--repeats``; words/s counts the input's words. Each is also timed
on the input's first paragraph alone, its start-up (imports, the model, the workers), so that the table gives the
words/s after start-up too, ``words / (seconds - start-up)``: the speed a long input approaches.
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
    files = {}
    for name, content in (("all", text), ("start-up", text.split("\n\n")[0] + "\n")):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(content)
        files[name] = f.name
    runs = [tuple(int(x) for x in r.split("x")) for r in args.runs.split(",")]
    timings = {(r, name): [] for r in runs for name in files}
    for _ in range(args.repeats):  # round-robin, so that a busy moment does not favour one run
        for processes, threads in runs:
            for name, path in files.items():
                timings[((processes, threads), name)].append(run(args.model, path, processes, threads))
    for path in files.values():
        os.unlink(path)
    best = {key: min(t for t, _ in values) for key, values in timings.items()}
    steady = {r: words / max(best[(r, "all")] - best[(r, "start-up")], 1e-9) for r in runs}
    print(f"{source.name} x {args.copies}: {words} words; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores\n")
    print("| processes x threads | seconds (best) | start-up s | words/s | vs first | words/s after start-up | "
          "vs first | peak RSS MiB (children, so far) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        seconds, startup = best[(r, "all")], best[(r, "start-up")]
        rss = max(m for _, m in timings[(r, "all")])
        print(f"| {r[0]} x {r[1]} | {seconds:.1f} | {startup:.1f} | {words / seconds:.0f} | "
              f"{best[(runs[0], 'all')] / seconds:.2f}x | {steady[r]:.0f} | {steady[r] / steady[runs[0]]:.2f}x | "
              f"{rss:.0f} |")


if __name__ == "__main__":
    main()
