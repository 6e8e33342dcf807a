"""``hierarchy annotate``: files in, annotations out, through the one prediction path (read once, predict once,
write once).

Input: raw text (paragraphs split at blank lines, then tokenized and sentence-split by spaCy's tokenizer and
sentencizer of the model's language, ``model.lang``) or CoNLL-U (the file's tokenization and sentences kept). Output:

- ``conllu``: CoNLL-U Plus. UPOS, XPOS, HEAD and DEPREL in their columns (the root's DEPREL is UD's ``root``); the
  layers CoNLL-U has no column for in columns of their own, each task's (``TaskSpec.writers.conllu``), declared on
  the first line, e.g. ``# global.columns = ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC HIERARCHY:CHUNK
  HIERARCHY:MENTION HIERARCHY:PRED HIERARCHY:ARGS``: CHUNK and MENTION hold BIO tags; PRED the roleset of a
  predicate (``give.01``) or ``_``; ARGS the word's labels in the predicates' frames as ``PRED_ID:LABEL`` joined
  by ``|`` (``3:ARG0|7:ARG1``; ``3:V`` on predicate 3 itself; BIO tags such as ``3:B-A0`` for span models) or
  ``_``. This project's readers read these columns back. CoNLL-U input keeps its comments, multiword tokens and
  other columns (LEMMA and FEATS are the input's, not predictions), but a model that predicts roles replaces the
  input's own undeclared role columns (Universal PropBank's columns 11+); when the extra columns kept vary from
  sentence to sentence, no set of columns can be declared, so the columns of this project go right after MISC and
  no global.columns is written.
- ``jsonl``: one JSON object per sentence: ``sent_id``, ``text``, ``words`` and each task's keys (its
  ``writers.json``): ``upos``, ``xpos``, ``heads``, ``deprels``, ``chunks`` as BIO tags and ``chunk_spans`` as
  ``[start, end, label]`` word offsets (end exclusive), ``mentions`` and ``mention_spans`` likewise, ``srl``: one
  frame per predicate, ``{"predicate": word offset, "roleset", "arguments": [{"role", "start", "end", "head"}]}``.
- ``html``: a page with a displaCy dependency tree and the span layers (chunks, mentions, roles) of each sentence.

A model with a document task (coreference) predicts each document in one pass (:mod:`hierarchy.annotate_work`:
a text file is one document; in CoNLL-U, ``# newdoc id`` begins one, and a file without any is one): its CoNLL-U
column (``HIERARCHY:COREF``: GUM's Entity brackets, entity IDs from 1 in each document) beside the others, a
``# newdoc id`` comment on each document's first sentence; in ``jsonl`` a ``doc_id`` on every line, the
sentence's own part (``coref``: ``[start, end, entity, type]``) and, on a document's first line, the document's
fields (``clusters``: ``{"type", "mentions": [[start, end], ...]}`` over its words, entity ``n`` being
``clusters[n - 1]``); in ``html`` a heading per document and each mention labelled ``[entity] type``, a colour per
entity.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from hierarchy import formats
from hierarchy.annotate_work import Work, chunk_ranges, document_starts, torch_threads, workers
from hierarchy.core.persistence import load_model, resolve_device
from hierarchy.core.predict import MAX_SENTENCE_WORDS, Predictor
from hierarchy.core.text import paragraphs, sentencizer
from hierarchy.io import format_pairs, read_conllu, read_pairs
from hierarchy.io.errors import ConfigError, CorpusError, HierarchyError
from hierarchy.io.fileio import atomic_write, decode
from hierarchy.io.sentence import read_lines
from hierarchy.tasks import TASKS

INPUTS = ("text", "conllu")
FORMATS = ("conllu", "jsonl", "html")
PROGRESS_MIN_WORDS = 5000  # show a progress bar from this many input words on


# -- reading input ------------------------------------------------------------------------------------------------

def read_inputs(files, input: str) -> list[tuple[str, object]]:
    """``[(name, text or list of Sentence)]`` per file (``files`` empty: stdin), all read before any work."""
    if input not in INPUTS:
        raise HierarchyError(f"--input must be one of {', '.join(INPUTS)}, not '{input}'")
    if not files:
        inputs = [("<stdin>", _read_stdin(input))]
    else:
        inputs = [(str(path), read_conllu(path) if input == "conllu" else "\n".join(read_lines(path)))
                  for path in files]
    if input == "text":
        for name, text in inputs:
            line = conllu_line(text)
            if line:
                raise HierarchyError(f"{name}:{line}: this looks like CoNLL-U (a '# sent_id' or '# text' comment, or "
                                     "ten tab-separated columns); use --input conllu")
    return inputs


CONLLU_ROW = re.compile(r"\d+(?:[-.]\d+)?(?:\t[^\t]*){9}")  # ID and nine more tab-separated columns


def conllu_line(text: str) -> int:
    r"""The number of the first line of ``text`` that only CoNLL-U has (0: none): a ``# sent_id`` or ``# text``
    comment, or a token row.

    >>> conllu_line("A dog barks.\n\nIt runs."), conllu_line("x\n# sent_id = 1\n1\tA\t_\t_\t_\t_\t0\troot\t_\t_")
    (0, 2)
    """
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(("# sent_id", "# text =", "# newdoc")) or CONLLU_ROW.fullmatch(line):
            return number
    return 0


def _read_stdin(input: str):
    text = decode(sys.stdin.buffer.read(), "<stdin>")
    if input == "text":
        return text
    fd, tmp = tempfile.mkstemp(suffix=".conllu")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return read_conllu(tmp)
    except CorpusError as e:
        raise HierarchyError(str(e).replace(tmp, "<stdin>", 1)) from None
    finally:
        os.unlink(tmp)


# -- the command --------------------------------------------------------------------------------------------------

def annotate_files(model_dir, files=(), input: str = "text", format: str = "conllu", output=None,
                   device: str = "auto", batch_size: int = 256, progress: bool = True, precision: str = "auto",
                   max_words: int = MAX_SENTENCE_WORDS, nproc: int = 1) -> int:
    """Annotate ``files`` (stdin when empty) and write ``format`` to ``output`` (stdout when None; a file is
    written atomically). Returns the number of sentences written. Sentences longer than ``max_words`` are
    predicted in pieces, joined back (:class:`~hierarchy.core.predict.Predictor`). ``nproc``: worker processes
    (CPU) that predict and format chunks of at most ``batch_size`` paragraphs or sentences, or of whole documents
    (:func:`~hierarchy.annotate_work.chunk_ranges`); this process numbers the sentences and writes them in the
    input's order."""
    from tqdm import tqdm

    if max_words < 1:
        raise HierarchyError(f"--max-sentence-words must be at least 1, not {max_words}")
    if nproc < 1:
        raise HierarchyError(f"--nproc must be at least 1, not {nproc}")
    if format not in FORMATS:
        raise HierarchyError(f"--format must be one of {', '.join(FORMATS)}, not '{format}'")
    if not Path(model_dir).is_dir():
        raise ConfigError(f"{model_dir}: model directory not found")
    inputs = read_inputs(files, input)  # all input is read (and checked) before the model loads
    torch_device = resolve_device(device)
    if nproc > 1 and torch_device.type != "cpu":
        raise HierarchyError(f"--nproc {nproc}: worker processes are for the CPU (device {torch_device.type}); on a "
                             "GPU one process keeps it busy")
    with torch_threads(1 if nproc > 1 else None):  # the workers will take the cores
        model, config, vocabs = load_model(model_dir, torch_device)
    predictor = Predictor(model, vocabs, torch_device, precision, max_words=max_words)
    documents = bool(predictor.tasks("document"))  # then each document is predicted in one pass
    tasks = predictor.tasks("sentence") + predictor.tasks("document")
    if input == "text":
        units = [(name, p) for name, text in inputs for p in paragraphs(text)]
        sizes = [len(p.split()) for _, p in units]
        varying = False
    else:
        units = [(name, s) for name, sentences in inputs for s in sentences]
        sizes = [len(s) for _, s in units]
        # Extra columns that vary from sentence to sentence (e.g. one SRL column per predicate, when the model
        # predicts no roles to replace them) cannot be declared in global.columns: this project's columns then go
        # right after MISC and no global.columns line is written.
        replace = any(TASKS[t].writers.replaces_extra for t in tasks)
        varying = len({formats.column_names(s, replace) for _, s in units}) > 1
    bar = tqdm(total=len(units), unit="sentence" if input == "conllu" else "paragraph", file=sys.stderr,
               disable=not progress or sum(sizes) < PROGRESS_MIN_WORDS)
    whole = documents or (predictor.context and input == "conllu")  # a document's sentences read each other
    chunks = chunk_ranges(sizes, batch_size, nproc, document_starts(units, input) if whole else None)
    work = Work(units, predictor, tasks, sentencizer(config.model.lang), input, format, max_words, documents, varying)
    count, previous = 0, None
    with atomic_write(output) if output else _Stdout() as f, workers(nproc, work) as annotated:
        f.write(formats.HTML_START if format == "html" else "")
        for (start, end), (header, formatted) in zip(chunks, annotated(chunks)):
            for name, k, sent_id, begins, rest in formatted:
                count += 1
                sent_id = sent_id or str(count)
                comments = []
                if input == "text":
                    comments = [f"# newdoc id = {name}"] if name != previous else []
                    comments += (["# newpar"] if k == 0 else []) + [f"# sent_id = {count}"]
                    previous = name
                if format == "html":
                    f.write(("\n" if count > 1 else "") + formats.figure_start(count, begins) + rest)
                elif format == "jsonl":
                    f.write(formats.jsonl_start(sent_id) + rest)
                else:
                    f.write((header if count == 1 else "") + "".join(c + "\n" for c in comments) + rest)
            bar.update(end - start)
        f.write(formats.HTML_END if format == "html" else "")
    bar.close()
    return count


class _Stdout:
    def __enter__(self):
        return sys.stdout

    def __exit__(self, *exc):
        sys.stdout.flush()
        return False


def annotate_pairs(model_dir, pairs, files, format: str, output, device: str, precision: str = "auto") -> None:
    """Relatedness, entailment label and class probabilities per pair of ``pairs``, as TSV or JSON lines."""
    if files:
        raise HierarchyError("command line: give input files or --pairs FILE, not both")
    if format not in ("tsv", "jsonl"):
        raise HierarchyError(f"command line: --format {format} is not available with --pairs (expected tsv or jsonl)")
    items = read_pairs(pairs)
    torch_device = resolve_device(device)
    model, _, vocabs = load_model(model_dir, torch_device)
    predicted = Predictor(model, vocabs, torch_device, precision).pairs(items)
    text = format_pairs(items, predicted, format)
    if output:
        with atomic_write(output) as f:
            f.write(text)
    else:
        sys.stdout.write(text)
