"""Benchmark: training speed on the CPU, this checkout beside an earlier revision, in one run; prints a Markdown table.

    python -m benchmarks.cpu_training --before 1525b93                  # the five runs below, one epoch each
    python -m benchmarks.cpu_training --runs now:1,now:2x1 --epochs 2    # only these
    python -m benchmarks.cpu_training --table

A run is ``CODE:THREADS`` (one process with that many torch threads) or ``CODE:NxTHREADS`` (``N`` data-parallel
processes under torchrun, gloo, ``THREADS`` each, at ``train.batch_tokens / N`` per process so that a step sees as
many words as one process's); a trailing ``:bf16`` trains under bf16 autocast (``train.precision``). ``CODE`` is
``now`` (this checkout) or ``before`` (``--before REV``, exported with ``git archive`` into ``--out`` and run from
there with the same recipe, corpora and Python environment). Default runs: ``before:1,before:2,now:1,now:2,now:2x1``.

Each run trains ``--recipe`` (default models/jmt-ewt-fast.toml) for ``--epochs`` epochs from scratch, one run at a
time, so they share nothing but the machine; run it with nothing else running. ``--repeats N`` trains every run N
times, round-robin (run 1 of each, then run 2 of each...), so that a slow spell of the machine falls on all of
them. Training words/s is words trained / seconds of training over the epochs (dev scoring excluded), the mean
and the spread (max - min) over the repeats; peak RSS is the largest resident set of any one process of the run.
The dev score is the recipe's selection score after the last epoch (mean over the repeats), to show that the runs
learn alike. Results go to ``--out`` (RUN.json with every repeat, and the last repeat's model directory).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = "before:1,before:2,now:1,now:2,now:2x1"
WRAPPER = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")


def parse(run: str) -> tuple[str, int, int, str]:
    """``before:2`` -> ``("before", 1, 2, "fp32")``; ``now:2x1:bf16`` -> ``("now", 2, 1, "bf16")``."""
    code, procs, *rest = run.split(":")
    nproc, threads = procs.split("x") if "x" in procs else ("1", procs)
    if code not in ("now", "before") or rest not in ([], ["bf16"]):
        sys.exit(f"{run}: expected CODE:THREADS or CODE:NxTHREADS (CODE now or before), optionally :bf16")
    return code, int(nproc), int(threads), rest[0] if rest else "fp32"


def export(revision: str, out: Path) -> Path:
    """The tree of ``revision`` under ``out/code-REVISION`` (once)."""
    target = out / f"code-{revision}"
    if not (target / "hierarchy").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def train(run: str, code_dir: Path, args) -> dict:
    """Train one run; its speed, peak RSS and last dev score."""
    from hierarchy.core.config import load_config

    _, nproc, threads, precision = parse(run)

    batch_tokens = load_config(args.recipe).train.batch_tokens // nproc
    out = Path(args.out) / run.replace(":", "-")
    # revisions before the CLI moved into the package had it at the top as cli.py
    entry = [str(code_dir / "cli.py")] if (code_dir / "cli.py").is_file() else ["-m", "hierarchy"]
    command = [sys.executable, *entry, "train", str(args.recipe), "--output", str(out), "--force",
               "--quiet", "--device", "cpu", f"--train.epochs={args.epochs}", f"--train.threads={threads}",
               f"--train.batch_tokens={batch_tokens}"]
    command += ["--nproc", str(nproc)] if nproc > 1 else []
    command += [f"--train.precision={precision}"] if precision != "fp32" else []
    env = {**os.environ, **{k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}, "PYTHONPATH": str(code_dir)}
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        sys.exit(f"{run} failed:\n{done.stderr[-3000:]}")
    history = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    seconds = sum(h["seconds"] for h in history)
    return {"run": run, "processes": nproc, "threads": threads, "precision": precision,
            "batch_tokens": batch_tokens, "epochs": len(history),
            "words_per_second": sum(h["words"] for h in history) / seconds, "epoch_seconds": seconds / len(history),
            "peak_rss_mib": int(done.stdout.split()[-1]) / 1024, "score": history[-1]["score"]}


def table(results: dict[str, list[dict]], base: str) -> str:
    """One row per run: mean and spread over its repeats; speed also relative to run ``base``."""
    lines = [f"| run | processes x threads | batch words / process | precision | train words/s (spread) | vs {base} "
             "| s/epoch | peak RSS MiB | dev score | repeats |", "|---|---|---|---|---|---|---|---|---|---|"]
    mean = {run: statistics.fmean(r["words_per_second"] for r in found) for run, found in results.items()}
    for run, found in results.items():
        r, speeds = found[0], [f["words_per_second"] for f in found]
        ratio = f"{mean[run] / mean[base]:.2f}x" if base in mean else "-"
        lines.append(f"| {run} | {r['processes']} x {r['threads']} | {r['batch_tokens']} | {r['precision']} "
                     f"| {mean[run]:,.0f} ({max(speeds) - min(speeds):,.0f}) | {ratio} "
                     f"| {statistics.fmean(f['epoch_seconds'] for f in found):.0f} "
                     f"| {max(f['peak_rss_mib'] for f in found):.0f} "
                     f"| {statistics.fmean(f['score'] for f in found):.2f} | {len(found)} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=RUNS, help=f"comma-separated (default {RUNS})")
    parser.add_argument("--before", help="the earlier revision the `before` runs use (a commit or tag)")
    parser.add_argument("--recipe", type=Path, default=ROOT / "models" / "jmt-ewt-fast.toml")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="trainings of each run, round-robin")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out-cpu-training")
    parser.add_argument("--table", action="store_true", help="only print the table of finished runs")
    args = parser.parse_args()
    runs = args.runs.split(",")
    for run in runs:
        parse(run)
    if any(r.startswith("before") for r in runs) and not args.before and not args.table:
        sys.exit("the `before` runs need --before REV")
    args.out.mkdir(parents=True, exist_ok=True)
    path = {run: args.out / f"{run.replace(':', '-')}.json" for run in runs}
    if not args.table:
        found = {run: [] for run in runs}
        for repeat in range(args.repeats):
            for run in runs:
                code_dir = export(args.before, args.out) if run.startswith("before") else ROOT
                result = train(run, code_dir, args) | {"revision": args.before if run.startswith("before") else "now"}
                found[run].append(result)
                path[run].write_text(json.dumps(found[run], indent=2))
                print(f"{run} ({repeat + 1}/{args.repeats}): {result['words_per_second']:,.0f} words/s", file=sys.stderr)
    results = {run: json.loads(path[run].read_text()) for run in runs if path[run].is_file()}
    print(f"{args.recipe.name}, {args.epochs} epoch(s) a training, one training at a time")
    print(table(results, runs[0]))


if __name__ == "__main__":
    main()
