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

import html
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from conllu.models import Token, TokenList
from conllu.parser import DEFAULT_FIELDS

from hierarchy.annotate_work import document_chunks, predict_chunk, workers
from hierarchy.core.persistence import load_model, resolve_device
from hierarchy.core.predict import MAX_SENTENCE_WORDS, Predictor
from hierarchy.core.text import paragraphs, sentencizer
from hierarchy.io import Sentence, format_pairs, read_conllu, read_pairs
from hierarchy.io.documents import newdoc_id, with_newdoc
from hierarchy.io.errors import ConfigError, CorpusError, HierarchyError
from hierarchy.io.fileio import atomic_write, decode
from hierarchy.io.sentence import read_lines
from hierarchy.io.ud import format_sentence
from hierarchy.spacy_component import WRITERS, DocParse, write_doc
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


# -- CoNLL-U Plus columns -----------------------------------------------------------------------------------------

def our_columns(sentence: Sentence, tasks) -> list[dict]:
    """The columns that ``tasks`` write, for each word: ``{column name (lowercase): value}``."""
    columns = {column.lower(): values(sentence) for t in tasks for column, values in TASKS[t].writers.conllu.items()}
    return [{name: cells[k] for name, cells in columns.items()} for k in range(len(sentence))]


def with_columns(sentence: Sentence, tasks, after_misc: bool = False) -> Sentence:
    """A predicted ``sentence`` ready for :func:`~hierarchy.io.ud.format_sentence`: its meta's word lines get
    the columns of ``tasks`` (replacing those of an earlier run, and the input's undeclared columns 11+ when a task
    says so), last or, with ``after_misc``, right after MISC; the layers without a CoNLL-U column of their own are
    cleared so that the writer leaves them to these columns."""
    ours = [column.lower() for t in tasks for column in TASKS[t].writers.conllu]
    replace = any(TASKS[t].writers.replaces_extra for t in tasks)
    names = [name for name in column_names(sentence, replace) if name not in ours]
    at = names.index("misc") + 1 if after_misc else len(names)
    names[at:at] = ours
    k, tokens, cells = 0, [], our_columns(sentence, tasks)
    for token in sentence.meta:
        is_word = isinstance(token["id"], int)
        row = {name: token.get(name, "_") for name in names}  # multiword-token lines may have had 10 columns
        row.update(cells[k] if is_word else dict.fromkeys(ours, "_"))
        k += is_word
        tokens.append(Token(row))
    meta = TokenList(tokens, sentence.meta.metadata)
    meta.comments = [c for c in sentence.meta.comments if not c.replace(" ", "").startswith("#global.columns=")]
    cleared = {f: None for t in tasks if TASKS[t].writers.conllu for f in TASKS[t].fields}
    return sentence.with_layers(**cleared, meta=meta)


def column_names(sentence: Sentence, replace_extra: bool = False) -> tuple:
    """The column names of a CoNLL-U sentence's word lines; with ``replace_extra``, without the undeclared columns
    11+ (``col11``...: e.g. the input's own SRL columns, which the predictions replace)."""
    names = tuple(next(t for t in sentence.meta if isinstance(t["id"], int)).keys())
    return tuple(n for n in names if not (replace_extra and n.startswith("col") and n[3:].isdigit()))


def conllu_header(sentence: Sentence) -> str:
    """The ``# global.columns`` line for sentences shaped like ``sentence`` ('' for plain 10-column CoNLL-U)."""
    names = column_names(sentence)
    if len(names) == len(DEFAULT_FIELDS):
        return ""
    return "# global.columns = " + " ".join(name.upper() for name in names) + "\n"


# -- JSON lines and HTML ------------------------------------------------------------------------------------------

def jsonl_line(sentence: Sentence, sent_id: str, tasks, document: dict | None = None) -> str:
    """One line of ``--format jsonl`` (schema: ``schema/annotation.schema.json``); ``document``: the ``doc_id``
    and, on a document's first sentence, the document tasks' fields."""
    text = _text(sentence)
    row = {"sent_id": sent_id, **({"doc_id": document["doc_id"]} if document else {}), "text": text,
           "words": sentence.words, "offsets": char_offsets(text, sentence.words)}
    for t in tasks:
        if TASKS[t].writers.json is not None:
            row.update(TASKS[t].writers.json(sentence))
    row.update(document or {})
    return json.dumps(row, ensure_ascii=False) + "\n"


def char_offsets(text: str, words: list[str]) -> list[list[int]] | None:
    """``[start, end)`` of each word in ``text``, found in order; None when a word is not there (a ``# text`` that
    does not spell the words).

    >>> char_offsets("Don't go.", ["Do", "n't", "go", "."])
    [[0, 2], [2, 5], [6, 8], [8, 9]]
    """
    out, at = [], 0
    for word in words:
        start = text.find(word, at)
        if start < 0:
            return None
        out.append([start, start + len(word)])
        at = start + len(word)
    return out


def _text(sentence: Sentence) -> str:
    for comment in getattr(sentence.meta, "comments", None) or ():
        key, sep, value = comment.lstrip("# ").partition("=")
        if sep and key.strip() == "text":
            return value.strip()
    return " ".join(sentence.words)


def sentence_doc(vocab, sentence: Sentence, tasks):
    """A Doc of one predicted sentence, written by the tasks' spaCy writers, with the spans each task shows in
    HTML (``writers.html``: ``(start, end, label)``, or ``(start, end, label, colour)``) in ``doc.spans``; the keys
    of those spans, in the order of the tasks; and the colours of the labels that have one."""
    from spacy.tokens import Doc, Span

    doc = Doc(vocab, words=sentence.words)
    write_doc(doc, DocParse([(0, len(doc))], [list(range(len(doc)))], [sentence]), [t for t in tasks if t in WRITERS],
              vocab)
    keys, colors = [], {}
    for t in tasks:
        for key, spans in TASKS[t].writers.html(sentence) if TASKS[t].writers.html else ():
            doc.spans[key] = [Span(doc, a, b, label) for a, b, label, *_ in spans]
            colors.update((html.escape(span[2]), span[3]) for span in spans if len(span) > 3)
            keys.append(key)
    return doc, keys, colors


def html_page(vocab, sentences, tasks, titles: dict | None = None) -> str:
    """A page with, per sentence, displaCy's dependency tree (SVG, compact) and each span layer (displaCy's span
    style); ``titles``: a heading before some sentences, by their index in ``sentences`` (a document's ID)."""
    from spacy import displacy

    parts = []
    for k, sentence in enumerate(sentences, 1):
        doc, keys, colors = sentence_doc(vocab, sentence, tasks)
        if titles and k - 1 in titles:
            parts.append(f"<h2>{html.escape(titles[k - 1])}</h2>")
        parts.append(f'<figure id="s{k}">\n<figcaption>{k}. {html.escape(_text(sentence))}</figcaption>')
        # displaCy escapes the words but not the labels (a model's vocabulary could hold markup): render from its
        # parsed form with every label escaped
        if doc.has_annotation("DEP"):
            tree = displacy.parse_deps(doc, {"compact": True, "collapse_punct": False})  # punctuation gets its arc
            for word in tree["words"]:
                word["tag"] = html.escape(word.get("tag") or "")
            for arc in tree["arcs"]:
                arc["label"] = html.escape(arc["label"])
            svg = displacy.render(tree, style="dep", manual=True, minify=True, jupyter=False, options={"compact": True})
            parts.append(f'<div style="overflow-x: auto">{crop_tree(svg, tree)}</div>')  # a long one scrolls
        for key in keys:
            if doc.spans.get(key):
                spans = displacy.parse_spans(doc, {"spans_key": key})
                for span in spans["spans"]:
                    span["label"] = html.escape(span["label"])
                # not minified: the template's line breaks are the spaces between the words of a span
                parts.append(displacy.render(spans, style="span", manual=True, minify=False, jupyter=False,
                                             options={"colors": colors}))
        parts.append("</figure>")
    return ('<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>hierarchy annotations</title>'
            "</head>\n<body style=\"font-family: sans-serif\">\n" + "\n".join(parts) + "\n</body>\n</html>\n")


def crop_tree(svg: str, tree: dict) -> str:
    """displaCy's compact tree without the blank band above it: its height leaves room for arcs ``distance / 2``
    apart per level, but compact arcs are drawn ``distance / 6`` apart; a viewBox cuts the difference."""
    from spacy.displacy.render import DependencyRenderer

    renderer = DependencyRenderer({"compact": True})
    levels = renderer.get_levels([{k: a[k] for k in ("start", "end", "label")} for a in tree["arcs"]])
    cut = max(renderer.distance / 3 * max(levels.values(), default=0) - 10, 0)
    found = re.search(r'<svg [^>]*?width="([\d.]+)" height="([\d.]+)"', svg)
    if not cut or not found:
        return svg
    width, height = float(found[1]), float(found[2])
    top = svg[: found.end()].replace(f'height="{found[2]}"', f'height="{height - cut:g}" '
                                     f'viewBox="0 {cut:g} {width:g} {height - cut:g}"')
    rest = svg[found.end():].replace(f"height: {found[2]}px", f"height: {height - cut:g}px", 1)
    return top + rest


# -- the command --------------------------------------------------------------------------------------------------

def annotate_files(model_dir, files=(), input: str = "text", format: str = "conllu", output=None,
                   device: str = "auto", batch_size: int = 256, progress: bool = True, precision: str = "auto",
                   max_words: int = MAX_SENTENCE_WORDS, nproc: int = 1) -> int:
    """Annotate ``files`` (stdin when empty) and write ``format`` to ``output`` (stdout when None; a file is
    written atomically). Returns the number of sentences written. Sentences longer than ``max_words`` are
    predicted in pieces, joined back (:class:`~hierarchy.core.predict.Predictor`). ``nproc``: worker processes
    (CPU), each predicting batches of ``batch_size`` paragraphs or sentences; the output keeps the input order."""
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
    model, config, vocabs = load_model(model_dir, torch_device)
    predictor = Predictor(model, vocabs, torch_device, precision, max_words=max_words)
    documents = bool(predictor.tasks("document"))  # then each document is predicted in one pass
    tasks = predictor.tasks("sentence") + predictor.tasks("document")
    nlp = sentencizer(config.model.lang)
    if input == "text":
        units = [(name, p) for name, text in inputs for p in paragraphs(text)]
        n_words = sum(len(p.split()) for _, p in units)
        varying = False
    else:
        units = [(name, s) for name, sentences in inputs for s in sentences]
        n_words = sum(len(s) for _, s in units)
        # Extra columns that vary from sentence to sentence (e.g. one SRL column per predicate, when the model
        # predicts no roles to replace them) cannot be declared in global.columns: this project's columns then go
        # right after MISC and no global.columns line is written.
        replace = any(TASKS[t].writers.replaces_extra for t in tasks)
        varying = len({column_names(s, replace) for _, s in units}) > 1
    bar = tqdm(total=len(units), unit="sentence" if input == "conllu" else "paragraph", file=sys.stderr,
               disable=not progress or n_words < PROGRESS_MIN_WORDS)
    count, previous, collected, titles = 0, None, [], {}
    whole = documents or (predictor.context and input == "conllu")  # a document's sentences read each other
    chunks = (document_chunks(units, input, batch_size) if whole else
              [units[start : start + batch_size] for start in range(0, len(units), batch_size)])
    global _WORK
    _WORK = (predictor, nlp, input, max_words, documents)  # what the workers read (forked, they share it)
    with atomic_write(output) if output else _Stdout() as f, workers(nproc) as pool:
        results = pool.imap(_annotate_chunk, chunks) if pool else map(_annotate_chunk, chunks)
        for chunk, predicted in zip(chunks, results):
            for name, k, sent_id, s, document in predicted:
                count += 1
                if document is not None and document.keys() - {"doc_id"}:  # a document's first sentence
                    titles[len(collected)] = document["doc_id"]
                    if input == "conllu" and newdoc_id(s) is None:
                        s = with_newdoc(s, document["doc_id"])
                if input == "conllu":
                    sent_id = sent_id or str(count)
                else:
                    sent_id = str(count)
                    comments = [f"# newdoc id = {name}"] if name != previous else []
                    s.meta.comments[:0] = comments + (["# newpar"] if k == 0 else []) + [f"# sent_id = {count}"]
                    previous = name
                if format == "html":
                    collected.append(s)
                elif format == "jsonl":
                    f.write(jsonl_line(s, sent_id, tasks, document))
                else:
                    s = with_columns(s, tasks, after_misc=varying)
                    f.write((conllu_header(s) if count == 1 and not varying else "") + format_sentence(s))
            bar.update(len(chunk))
        if format == "html":
            f.write(html_page(nlp.vocab, collected, tasks, titles))
    bar.close()
    return count


_WORK = None  # (predictor, nlp, input, max_words, documents) of the annotation under way


def _annotate_chunk(chunk) -> list[tuple]:
    """:func:`~hierarchy.annotate_documents.predict_chunk` with the annotation's settings."""
    return predict_chunk(*_WORK, chunk)


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
