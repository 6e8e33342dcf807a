"""Benchmark: annotation speed and peak memory on the EWT dev text, accuracies beside them; prints a Markdown table.

    python -m benchmarks.spacy_speed                       # (a), (b), (c) on the CPU, then the table
    python -m benchmarks.spacy_speed --device cuda         # the same on a GPU ((c) only where cupy is installed)
    python -m benchmarks.spacy_speed --runs component --batch-size 256 --threads 2
    python -m benchmarks.spacy_speed --runs library,component --precision bf16   # CPUs with AMX or AVX512-BF16
    python -m benchmarks.spacy_speed --model bilstm=DIR,minilm=DIR --precision fp32,bf16,int8 --processes 1,2
                                                           # the whole table in one run (int8: transformer models)
    python -m benchmarks.spacy_speed --table               # print the table of finished runs again
    python -m benchmarks.spacy_speed --model /tmp/tiny --limit 200 --train-limit 500 --max-steps 20 \\
        --repeats 1 --out /tmp/speed --spacy-dir /tmp/speed/spacy-ewt     # smoke run

Runs, each in its own process (so its peak RSS is its own), over the dev text with its gold tokenization
(syntactic words, multiword tokens split) and gold sentence boundaries:

- ``library``: ``hierarchy.core.predict.annotate`` over Sentences, ``--batch-tokens`` words per network batch.
- ``component``: the ``hierarchy`` spaCy component on ``spacy.blank("en")``, ``nlp.pipe`` over Docs made from the
  gold words (``--doc-sentences`` sentences each, ``sent_starts`` set), ``--batch-size`` Docs per batch.
- ``spacy``: spaCy's own tok2vec + tagger + morphologizer + parser (``init config --optimize efficiency``, CPU) trained
  on EWT train with ``spacy convert`` / ``init config`` / ``train`` in ``--spacy-dir``, over the same Docs (its
  parser keeps the preset sentence boundaries). Training is skipped when ``model-best`` was trained with the same
  settings (``settings.json``); spaCy's converter gives ``tag_`` = XPOS (the tagger learns it) and ``pos_`` = UPOS
  (the morphologizer learns it with the features), which is checked on the converted dev text.

Speed is words per second of the best of ``--repeats`` timed passes after a warm-up on the first 50 sentences; the
inputs (Sentences or Docs) are made before the clock starts. Peak RSS is ``ru_maxrss`` right after the timed passes.
``--precision`` lists the precisions of (a) and (b) (bf16 autocast; int8 quantizes a transformer input, so a model
without one has no int8 row), ``--model`` one model or several as ``LABEL=DIR``, ``--processes`` the ``n_process`` of
``nlp.pipe`` for (b) and (c) (a pass then includes starting the worker processes); each combination is a run of its
own, and results go to ``RUN-DEVICE-MODEL-PRECISION[-pN].json``.
``--threads`` sets ``torch.set_num_threads`` and ``OMP/MKL/OPENBLAS_NUM_THREADS`` in every run. Accuracies count
punctuation: (a) with the project's metrics, (b) and (c) with spaCy's Scorer (``score_token_attr`` for pos and tag,
``score_deps`` with labels lowercased as spaCy's parser scores them, so ``ROOT`` = ``root``, but without the parser's
punct exclusion). LAS compares full labels (``acl:relcl`` is not ``acl``) in all three, so it is below the CoNLL 2018
LAS that ``hierarchy evaluate`` reports. Results go to ``--out`` as ``RUN-DEVICE.json`` with a log beside each.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EWT = ROOT.parent / "shared" / "corpora" / "ud-english-ewt"
TRAIN, DEV = EWT / "en_ewt-ud-train.conllu", EWT / "en_ewt-ud-dev.conllu"
RUNS = {"library": "(a) hierarchy library", "component": "(b) hierarchy spaCy component",
        "spacy": "(c) spaCy tagger+morphologizer+parser"}
PIPELINE = "tagger,morphologizer,parser"
WARMUP = 50  # sentences


def read_dev(limit: int | None) -> list:
    from hierarchy.io import read_conllu

    return read_conllu(DEV)[:limit or None]


def spaces_after(sentence) -> list[bool]:
    """Whether a space follows each word, from MISC ``SpaceAfter=No``; inside a multiword token no space, after its
    last word what the token line says (as ``spacy convert`` does)."""
    spaces, mwt_end, mwt_space = [], 0, True
    for token in sentence.meta or ():
        tid, space = token["id"], "SpaceAfter=No" not in token["misc"]
        if isinstance(tid, int):
            spaces.append(space if tid > mwt_end else tid == mwt_end and mwt_space)
        elif tid[1] == "-":
            mwt_end, mwt_space = tid[2], space
    return spaces if len(spaces) == len(sentence) else [True] * len(sentence)


def make_docs(vocab, sentences, per_doc: int, gold: bool = False) -> list:
    """Docs of ``per_doc`` sentences each from the gold words, spaces and sentence starts; ``gold`` sets the gold
    UPOS, XPOS, heads and relations instead of the sentence starts (the references the Scorer reads)."""
    from spacy.tokens import Doc

    docs = []
    for k in range(0, len(sentences), per_doc):
        group = sentences[k : k + per_doc]
        words = [w for s in group for w in s.words]
        spaces = [x for s in group for x in spaces_after(s)]
        if not gold:
            starts = [i == 0 for s in group for i in range(len(s))]
            docs.append(Doc(vocab, words=words, spaces=spaces, sent_starts=starts))
            continue
        heads, offset = [], 0
        for s in group:
            heads += [offset + (h - 1 if h else i) for i, h in enumerate(s.heads)]
            offset += len(s)
        flat = lambda field: [x for s in group for x in getattr(s, field)]  # noqa: E731
        docs.append(Doc(vocab, words=words, spaces=spaces, pos=flat("upos"), tags=flat("xpos"), heads=heads,
                        deps=flat("rels")))
    return docs


def spacy_scores(docs, sentences, per_doc: int) -> dict:
    """UPOS, XPOS, UAS and LAS (percent) of annotated Docs through spaCy's Scorer, punctuation included."""
    from spacy.scorer import Scorer
    from spacy.training import Example

    refs = make_docs(docs[0].vocab, sentences, per_doc, gold=True)
    examples = [Example(pred, ref) for pred, ref in zip(docs, refs)]
    lower = lambda token, attr: token.vocab.strings.as_string(getattr(token, attr)).lower()  # noqa: E731
    scores = {**Scorer.score_token_attr(examples, "pos"), **Scorer.score_token_attr(examples, "tag"),
              **Scorer.score_deps(examples, "dep", getter=lower)}
    keys = {"upos": "pos_acc", "xpos": "tag_acc", "uas": "dep_uas", "las": "dep_las"}
    return {k: None if scores[v] is None else 100 * scores[v] for k, v in keys.items()}


def library_scores(predicted, gold) -> dict:
    """The same four numbers with the project's metrics (LAS on full labels, as the Scorer compares them)."""
    from hierarchy.tasks.metrics import AccuracyMetric, AttachmentMetric

    upos, xpos, deps = AccuracyMetric(), AccuracyMetric(), AttachmentMetric(subtypes=True)
    for p, g in zip(predicted, gold):
        if p.upos is not None:
            upos.update(p.upos, g.upos)
            xpos.update(p.xpos, g.xpos)
        if p.heads is not None:
            deps.update(p.heads, p.rels, g.heads, g.rels)
    return {"upos": 100 * upos.score if upos.n_tokens else None, "xpos": 100 * xpos.score if xpos.n_tokens else None,
            "uas": 100 * deps.uas if deps.n_words else None, "las": 100 * deps.las if deps.n_words else None}


def stem(name: str, args) -> str:
    """A run's file name: ``RUN-DEVICE``, then for the hierarchy runs ``-MODEL-PRECISION`` (the model's label and
    a precision other than auto), then ``-pN`` for N > 1 processes."""
    tag = "" if name == "spacy" else f"-{args.model_label}" + (f"-{args.precision}" if args.precision != "auto" else "")
    return f"{name}-{args.device}{tag}" + (f"-p{args.processes}" if args.processes > 1 else "")


def one_run(name: str, args) -> dict:
    """Load one pipeline, time it over the dev text, score it."""
    import torch

    torch.set_num_threads(args.threads)
    sentences = read_dev(args.limit)
    result = {"run": name, "device": args.device, "threads": args.threads, "sentences": len(sentences),
              "words": sum(map(len, sentences)), "peak_gpu_mib": None, "processes": args.processes,
              "model": "-" if name == "spacy" else args.model_label}
    if name == "library":
        from hierarchy.core.persistence import load_model
        from hierarchy.core.predict import annotate
        from hierarchy.io import Sentence

        device = torch.device(args.device)
        model, _, vocabs = load_model(args.model, device)

        def run(items):
            return annotate(model, vocabs, items, None, args.batch_tokens, device, precision=args.precision)

        def inputs(part):
            return [Sentence(list(s.words)) for s in part]

        result["setup"] = f"batch_tokens={args.batch_tokens}, {args.precision}"
    else:
        import spacy

        if name == "component":
            nlp = spacy.blank("en")
            nlp.add_pipe("hierarchy", config={"model": str(args.model), "batch_size": args.batch_size,
                                              "batch_tokens": args.batch_tokens, "device": args.device,
                                              "precision": args.precision})
            result["setup"] = f"batch_size={args.batch_size}, batch_tokens={args.batch_tokens}, {args.precision}"
        else:
            if args.device == "cuda":
                if importlib.util.find_spec("cupy") is None:
                    return {**result, "skipped": "cupy is not installed"}
                spacy.require_gpu()
            settings = json.loads((Path(args.spacy_dir) / "settings.json").read_text())
            nlp = spacy.load(Path(args.spacy_dir) / "model-best")
            result["setup"] = f"batch_size={args.batch_size}, {settings['max_steps']} steps"
            result["spacy_training"] = settings
            result["labels"] = {pipe: len(nlp.get_pipe(pipe).labels) for pipe in PIPELINE.split(",")}

        def run(docs):
            return list(nlp.pipe(docs, batch_size=args.batch_size, n_process=args.processes))

        def inputs(part):
            return make_docs(nlp.vocab, part, args.doc_sentences)

    if args.device == "cuda" and torch.cuda.is_available():
        result["device"] = f"cuda {torch.cuda.get_device_name()}"
    run(inputs(sentences[:WARMUP]))
    seconds, predicted = float("inf"), None
    for _ in range(args.repeats):
        predicted = None  # free the previous pass first
        items = inputs(sentences)
        start = time.perf_counter()
        predicted = run(items)
        seconds = min(seconds, time.perf_counter() - start)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.device == "cuda" and name == "spacy":  # thinc allocates through cupy's pool, which keeps what it had
        import cupy

        result["peak_gpu_mib"] = cupy.get_default_memory_pool().total_bytes() / 2**20
    elif args.device == "cuda" and torch.cuda.is_available():
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    result.update(seconds=seconds, words_per_second=result["words"] / seconds)
    if name == "library":
        result["scores"] = library_scores(predicted, sentences)
    else:
        result["scores"] = spacy_scores(predicted, sentences, args.doc_sentences)
        result["sentences_out"] = sum(1 for doc in predicted for _ in doc.sents)  # = sentences: boundaries kept
    return result


def first_sentences(src: Path, limit: int | None, directory: Path) -> Path:
    """``src``, or a copy of its first ``limit`` sentences in ``directory``."""
    from hierarchy.io.sentence import blocks, read_lines

    if not limit:
        return src
    dst = directory / f"{src.stem}-first{limit}.conllu"
    dst.write_text("".join("\n".join(line for _, line in block) + "\n\n"
                           for block in islice(blocks(read_lines(src)), limit)), encoding="utf-8")
    return dst


def check_converted(docbin: Path, conllu: Path) -> dict:
    """Compare the Docs ``spacy convert`` wrote with the CoNLL-U it read: the counts of words whose text, space,
    ``tag_`` (XPOS), ``pos_`` (UPOS), head or lowercased ``dep_`` differ. Exits when words or tags differ."""
    import spacy
    from spacy.tokens import DocBin

    from hierarchy.io import read_conllu

    tokens = [t for doc in DocBin().from_disk(docbin).get_docs(spacy.blank("en").vocab) for t in doc]
    sentences = read_conllu(conllu)
    gold = [(w, sp, x, u, (h - 1 - i) if h else 0, r) for s in sentences for i, (w, sp, x, u, h, r)
            in enumerate(zip(s.words, spaces_after(s), s.xpos, s.upos, s.heads, s.rels))]
    if len(tokens) != len(gold):
        sys.exit(f"spacy convert: {docbin} has {len(tokens)} tokens, {conllu} {len(gold)} words")
    fields = ("text", "space", "tag_=XPOS", "pos_=UPOS", "head", "dep")
    diffs = dict.fromkeys(fields, 0)
    for t, g in zip(tokens, gold):
        mine = (t.text, bool(t.whitespace_), t.tag_, t.pos_, t.head.i - t.i, t.dep_.lower())
        for field, a, b in zip(fields, mine, g):
            diffs[field] += a != b
    if diffs["text"] or diffs["tag_=XPOS"] or diffs["pos_=UPOS"]:
        sys.exit(f"spacy convert: {docbin} differs from {conllu}: {diffs}")
    return {"words": len(gold), "differing": diffs}


def train_spacy(args, env: dict) -> None:
    """Convert EWT, write the config and train spaCy's pipeline into ``--spacy-dir``, unless its ``model-best`` was
    trained with the same settings. ``--train-limit N`` trains on the first N train sentences and selects on the
    first N dev sentences (smoke runs)."""
    import spacy

    cache = Path(args.spacy_dir)
    eval_frequency = min(args.eval_frequency, args.max_steps)
    settings = {"train": str(TRAIN), "dev": str(DEV), "train_limit": args.train_limit, "pipeline": PIPELINE,
                "optimize": "efficiency", "max_steps": args.max_steps, "eval_frequency": eval_frequency,
                "spacy": spacy.__version__}
    stamp = cache / "settings.json"
    if (cache / "model-best").is_dir() and stamp.is_file():
        cached = json.loads(stamp.read_text())
        if {k: cached.get(k) for k in settings} == settings:
            print(f"spacy: {cache / 'model-best'} is cached ({cached['train_seconds']:.0f} s of training)", flush=True)
            return
    for old in (stamp, cache / "model-best", cache / "model-last"):
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    corpus = cache / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    train, dev = (first_sentences(src, args.train_limit, cache) for src in (TRAIN, DEV))
    log_path = cache / "train.log"
    with open(log_path, "w") as log:
        def cli(*words):
            print("spacy:", " ".join(map(str, words)), flush=True)
            try:
                subprocess.run([sys.executable, "-m", "spacy", *map(str, words)], check=True, cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
            except subprocess.CalledProcessError as e:
                sys.exit(f"{e}; the end of {log_path}:\n" + "".join(open(log_path).readlines()[-30:]))

        for path in (train, dev):
            cli("convert", path, corpus, "--converter", "conllu", "--n-sents", 10)
        check = check_converted(corpus / f"{dev.stem}.spacy", dev)
        print(f"spacy convert: {check['words']} dev words, differing from the CoNLL-U: {check['differing']}")
        cli("init", "config", cache / "config.cfg", "--lang", "en", "--pipeline", PIPELINE, "--optimize", "efficiency",
            "--force")
        start = time.perf_counter()
        cli("train", cache / "config.cfg", "--output", cache, "--paths.train", corpus / f"{train.stem}.spacy",
            "--paths.dev", corpus / f"{dev.stem}.spacy", "--training.max_steps", args.max_steps,
            "--training.eval_frequency", eval_frequency, "--nlp.batch_size", args.batch_size)
    settings.update(train_seconds=time.perf_counter() - start, convert_check=check)
    stamp.write_text(json.dumps(settings, indent=2))


def cpu() -> str:
    """The CPU's model name and the flags that decide precision and speed here."""
    name, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name == "unknown":
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8") if f in flags]
    return f"{name}, {os.cpu_count()} cores, flags {' '.join(wanted) or 'none of avx2/avx512/amx'}"


def table(out: Path) -> str:
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    rows.sort(key=lambda r: (r["device"] != "cpu", r["device"], r.get("model", "-"), r["setup"].split(", ")[-1],
                             list(RUNS).index(r["run"]), r.get("processes", 1)))
    lines = ["| pipeline | model | device | setup | UPOS | XPOS | UAS | LAS | words/s | peak RSS MiB | peak GPU MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        processes = r.get("processes", 1)
        where = f"{r['device']} ({r['threads']} thr" + (f" x {processes} processes)" if processes > 1 else ")")
        if "skipped" in r:
            lines.append(f"| {RUNS[r['run']]} | {r.get('model', '-')} | {where} | n/a: {r['skipped']} | | | | | | | |")
            continue
        s = r["scores"]
        acc = " | ".join("-" if s[k] is None else f"{s[k]:.2f}" for k in ("upos", "xpos", "uas", "las"))
        gpu = "-" if r["peak_gpu_mib"] is None else f"{r['peak_gpu_mib']:.0f}"
        lines.append(f"| {RUNS[r['run']]} | {r.get('model', '-')} | {where} | {r['setup']} | {acc} | {r['words_per_second']:.0f} "
                     f"| {r['peak_rss_mib']:.0f} | {gpu} |")
    texts = sorted({(r["sentences"], r["words"]) for r in rows})
    lines.append("")
    lines.append("EWT dev (" + "; ".join(f"{n} sentences, {w} words" for n, w in texts) + "), gold tokenization and "
                 "sentence boundaries; accuracies in percent, punctuation included, LAS on full labels. "
                 f"CPU: {cpu()}.")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated: " + ",".join(RUNS))
    parser.add_argument("--model", default=str(ROOT / "benchmarks" / "out" / "hierarchy"),
                        help="a trained hierarchy model directory (python -m benchmarks.jmt writes the default), or several "
                             "as LABEL=DIR,LABEL=DIR (e.g. bilstm=models/a,minilm=models/b)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "spacy-speed"))
    parser.add_argument("--spacy-dir", default=str(ROOT / "benchmarks" / "out" / "spacy-ewt"),
                        help="where spaCy's pipeline is converted, configured, trained and cached")
    parser.add_argument("--max-steps", type=int, default=4000, help="spaCy training steps")
    parser.add_argument("--eval-frequency", type=int, default=200, help="spaCy training steps between evaluations")
    parser.add_argument("--threads", type=int, default=1, help="torch (and BLAS) threads per run")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=64, help="Docs per nlp.pipe batch, (b) and (c)")
    parser.add_argument("--batch-tokens", type=int, default=4000, help="words per network batch, (a) and (b)")
    parser.add_argument("--precision", default="auto",
                        help="(a) and (b), comma-separated: auto (fp32 on CPU), fp32, bf16 (fast on CPUs with AMX or "
                             "AVX512-BF16), int8 (models with a transformer input)")
    parser.add_argument("--processes", default="1", help="(b) and (c), comma-separated: nlp.pipe's n_process")
    parser.add_argument("--model-label", default="hierarchy", help=argparse.SUPPRESS)
    parser.add_argument("--doc-sentences", type=int, default=10, help="sentences per Doc, (b) and (c)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the fastest counts")
    parser.add_argument("--limit", type=int, help="only the first N dev sentences (smoke runs)")
    parser.add_argument("--train-limit", type=int, help="train spaCy on the first N train (and dev) sentences")
    parser.add_argument("--table", action="store_true", help="only print the table of finished runs")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from hierarchy.core.persistence import load_config_file
    out = Path(args.out)
    if args.one:
        args.processes = int(args.processes)
        result = one_run(args.one, args)
        (out / f"{stem(args.one, args)}.json").write_text(json.dumps(result, indent=2))
        return
    if not args.table:
        runs = [name for name in args.runs.split(",") if name]
        unknown = [name for name in runs if name not in RUNS]
        if unknown:
            sys.exit(f"unknown run {', '.join(unknown)} (expected some of {', '.join(RUNS)})")
        models = dict(m.split("=", 1) if "=" in m else ("hierarchy", m) for m in args.model.split(","))
        precisions = args.precision.split(",")
        processes = [int(n) for n in args.processes.split(",")]
        if set(precisions) - {"auto", "fp32", "bf16", "int8"} or min(processes) < 1:
            sys.exit(f"--precision {args.precision} / --processes {args.processes}: expected auto, fp32, bf16, int8 "
                     "and numbers of at least 1")
        if not DEV.is_file() or ("spacy" in runs and not TRAIN.is_file()):
            sys.exit(f"needs UD English EWT in {EWT} (see data/README.md)")
        for path in models.values() if {"library", "component"} & set(runs) else ():
            if not (Path(path) / "config.toml").is_file():
                sys.exit(f"{path}: no trained hierarchy model (run python -m benchmarks.jmt --runs hierarchy, or --model)")
        out.mkdir(parents=True, exist_ok=True)
        threads = str(args.threads)
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        if "spacy" in runs:
            train_spacy(args, env)
        plan = []  # (run, model label, model directory, precision, processes)
        for name in runs:
            if name == "spacy":
                plan += [(name, "-", next(iter(models.values())), "auto", n) for n in processes]
                continue
            for label, path in models.items():
                transformer = bool(load_config_file(Path(path) / "config.toml").model.transformer.path)
                plan += [(name, label, path, precision, n) for precision in precisions
                         for n in (processes if name == "component" else [1])
                         if precision != "int8" or transformer]  # int8 quantizes a transformer input
        for name, label, path, precision, n in plan:  # one after another: parallel timings would disturb each other
            args.model_label, args.precision, args.processes = label, precision, n
            (out / f"{stem(name, args)}.json").unlink(missing_ok=True)  # no stale row when the run fails
            with open(out / f"{stem(name, args)}.log", "w") as log:
                cmd = [sys.executable, "-m", __spec__.name, *child_args(args), "--model", Path(path).resolve(),
                       "--model-label", label, "--precision", precision, "--processes", n, "--out", out.resolve(),
                       "--spacy-dir", Path(args.spacy_dir).resolve(), "--one", name]  # the child runs in ROOT
                code = subprocess.run(list(map(str, cmd)), cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT).returncode
            print(f"{stem(name, args)}: exit {code}" + (f", see {out / f'{stem(name, args)}.log'}" if code else ""),
                  flush=True)
    print(table(out))


def child_args(args) -> list:
    """The options a run's own process takes from this one (the per-run ones are given apart)."""
    out = []
    for key in ("max_steps", "eval_frequency", "threads", "device", "batch_size", "batch_tokens", "doc_sentences",
                "repeats", "limit", "train_limit"):
        value = getattr(args, key)
        if value is not None:
            out += [f"--{key.replace('_', '-')}", value]
    return out


if __name__ == "__main__":
    main()
