"""``hierarchy annotate`` and ``hierarchy package``: files in, annotations out, through the spaCy component.

Input: raw text (paragraphs split at blank lines, then tokenized and sentence-split by spaCy's English tokenizer
and sentencizer) or CoNLL-U (the file's tokenization and sentences kept). Output:

- ``conllu``: CoNLL-U Plus with the chunks (BIO tags) and semantic roles in columns of their own, declared on the
  first line as ``# global.columns = ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC HIERARCHY:CHUNK
  HIERARCHY:PRED HIERARCHY:ARGS``: PRED is the roleset of a predicate (``give.01``) or ``_``; ARGS lists the
  word's labels in the predicates' frames as ``PRED_ID:LABEL`` joined by ``|`` (``3:ARG0|7:ARG1``; ``3:V`` on
  predicate 3 itself; BIO tags such as ``3:B-A0`` for span models) or ``_``. :func:`~hierarchy.corpus.read_srl`
  reads these two columns back. The root's DEPREL is UD's ``root``. CoNLL-U input keeps its comments, multiword
  tokens and other columns (LEMMA and FEATS are the input's, not predictions), but a model that predicts roles
  replaces the input's own undeclared role columns (Universal PropBank's columns 11+); when the extra columns kept
  vary from sentence to sentence, no set of columns can be declared, so the columns of this project go right
  after MISC and no global.columns is written.
- ``jsonl``: one JSON object per sentence (``words``, ``upos``, ``xpos``, ``heads``, ``deprels``, ``chunks``
  as BIO tags and ``chunk_spans`` as ``[start, end, label]`` word offsets, end exclusive; ``srl``: one frame per
  predicate, ``{"predicate": word offset, "roleset", "arguments": [{"role", "start", "end", "head"}]}``, ``head``
  the argument's head word for head-based models and ``null`` for span models).
- ``html``: a page with a displaCy dependency tree, the chunk spans and the role spans of each sentence.
"""
from __future__ import annotations

import dataclasses
import html
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from conllu.models import Token, TokenList
from conllu.parser import DEFAULT_FIELDS

from .corpus import Sentence, read_conllu
from .corpus.sentence import read_lines
from .corpus.srl import ARGS_COLUMN, PRED_COLUMN, format_args
from .corpus.ud import format_sentence
from .errors import ConfigError, CorpusError, HierarchyError
from .fileio import atomic_write
from .spacy_component import EXTENSIONS, ROOT, bio_spans, bio_tags, sentence_bounds, srl_frames

INPUTS = ("text", "conllu")
FORMATS = ("conllu", "jsonl", "html")
CHUNK_COLUMN = "HIERARCHY:CHUNK"
PROGRESS_MIN_WORDS = 5000  # show a progress bar from this many input words on


# -- the pipeline -------------------------------------------------------------------------------------------------

def make_pipeline(model_dir, device: str = "auto", batch_size: int = 256, store_path: bool = True,
                  precision: str = "auto"):
    """``spacy.blank("en")`` + sentencizer + the ``hierarchy`` component loaded from ``model_dir``.

    With ``store_path=False`` the pipeline's config does not name ``model_dir`` (``model = ""``): the model is
    read with ``from_disk``, so a pipeline saved from it depends on nothing outside its own directory.
    """
    import spacy

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ConfigError(f"{model_dir}: model directory not found")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    config = {"model": str(model_dir.resolve()) if store_path else "", "device": device, "batch_size": batch_size,
              "precision": precision}
    component = nlp.add_pipe("hierarchy", config=config)
    if not store_path:
        component.from_disk(model_dir)
    return nlp


# -- reading input ------------------------------------------------------------------------------------------------

def read_inputs(files, input: str) -> list[tuple[str, object]]:
    """``[(name, text or list of Sentence)]`` per file (``files`` empty: stdin), all read before any work."""
    if input not in INPUTS:
        raise HierarchyError(f"--input must be one of {', '.join(INPUTS)}, not '{input}'")
    if not files:
        return [("<stdin>", _read_stdin(input))]
    return [(str(path), read_conllu(path) if input == "conllu" else "\n".join(read_lines(path))) for path in files]


def _read_stdin(input: str):
    text = sys.stdin.read()
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


def paragraphs(text: str) -> list[str]:
    """The blank-line-separated paragraphs of ``text``, stripped, empty ones left out."""
    blocks, block = [], []
    for line in text.splitlines() + [""]:
        if line.strip():
            block.append(line)
        elif block:
            blocks.append("\n".join(block).strip())
            block = []
    return blocks


def conllu_doc(vocab, sentence: Sentence):
    """A Doc with the sentence's words, spaced as its MISC ``SpaceAfter=No`` (and multiword tokens) say."""
    from spacy.tokens import Doc

    after = {}
    for token in sentence.meta or ():
        token_id, no_space = token["id"], "SpaceAfter=No" in str(token.get("misc") or "").split("|")
        if isinstance(token_id, tuple) and token_id[1] == "-":
            after.update({w: False for w in range(token_id[0], token_id[2])})
            after[token_id[2]] = not no_space
        elif isinstance(token_id, int):
            after.setdefault(token_id, not no_space)
    spaces = [after.get(i, True) for i in range(1, len(sentence) + 1)]
    return Doc(vocab, words=sentence.words, spaces=spaces)


# -- from annotated Docs to Sentences ----------------------------------------------------------------------------

def doc_sentences(doc, layers, span_roles: bool = False) -> list[Sentence]:
    """The predicted Sentences of an annotated Doc, one per sentence with words (whitespace tokens left out).

    DEPREL ``ROOT`` becomes UD's ``root``; ``meta`` holds the CoNLL-U columns, ``# text`` and ``SpaceAfter=No``.
    ``span_roles``: the model's roles are BIO tags (span SRL), not one label per argument head.
    """
    n = len(doc)
    chunks = ["O"] * n
    if "chunks" in layers:
        chunks = bio_tags(n, [(s.start, s.end, s.label_) for s in doc.spans.get(EXTENSIONS["chunks"], [])])
    frames = {f["predicate"]: f for f in doc._.get(EXTENSIONS["srl_data"]) or []} if "srl" in layers else {}
    out = []
    for start, end in sentence_bounds(doc):
        words = [i for i in range(start, end) if not doc[i].is_space]
        if not words:
            continue
        position = {i: k + 1 for k, i in enumerate(words)}
        s = Sentence([doc[i].text for i in words])
        if "pos" in layers:
            s.upos, s.xpos = [doc[i].pos_ for i in words], [doc[i].tag_ for i in words]
        if "deps" in layers:
            s.heads = [0 if doc[i].head.i == i else position[doc[i].head.i] for i in words]
            s.rels = ["root" if doc[i].dep_ == ROOT else doc[i].dep_ for i in words]
        if "chunks" in layers:
            s.chunks = [chunks[i] for i in words]
        if "srl" in layers:
            s.senses, s.roles = _frames_to_roles([frames.get(i) for i in words], position, span_roles)
        spaces = [bool(doc[i].whitespace_) or (i + 1 < n and doc[i + 1].is_space) for i in words]
        text = "".join(w + (" " if space else "") for w, space in zip(s.words, spaces)).strip()
        tokens = []
        for k, w in enumerate(s.words):
            misc = "_" if spaces[k] or k + 1 == len(words) else "SpaceAfter=No"
            tokens.append(Token(zip(DEFAULT_FIELDS, [k + 1, w, *["_"] * 7, misc])))
            tokens[-1].update(_our_columns(s, k))
        s.meta = TokenList(tokens)
        s.meta.comments = [f"# text = {text}"]
        out.append(s)
    return out


def _frames_to_roles(frames: list, position: dict, span: bool) -> tuple[list, list]:
    """``senses`` and ``roles`` of one sentence from its words' ``doc._.srl_data`` frames (``None`` where a word is
    no predicate); ``position``: Doc index -> word number (1-based)."""
    senses = ["_" if f is None else f["roleset"] for f in frames]
    roles = []
    for k, frame in enumerate(frames):
        if frame is None:
            continue
        spans = [(position[a["start"]] - 1, position[a["end"] - 1], a["role"]) for a in frame["arguments"]]
        if span:
            roles.append(bio_tags(len(frames), spans + [(k, k + 1, "V")]))
        else:
            labels = ["_"] * len(frames)
            for start, _, role in spans + [(k, k + 1, "V")]:
                labels[start] = role
            roles.append(labels)
    return senses, roles


def _our_columns(s: Sentence, k: int) -> dict:
    """This project's columns of word ``k`` (0-based) of a predicted sentence: chunk, roleset and arguments."""
    columns = {}
    if s.chunks is not None:
        columns[CHUNK_COLUMN.lower()] = s.chunks[k]
    if s.senses is not None:
        columns[PRED_COLUMN.lower()] = s.senses[k]
        columns[ARGS_COLUMN.lower()] = format_args(s.senses, s.roles, k)
    return columns


def with_predictions(gold: Sentence, predicted: Sentence, after_misc: bool = False) -> Sentence:
    """``gold`` (a CoNLL-U sentence, its meta kept) with the predicted layers and this project's columns (chunk,
    roleset, arguments): the last ones, or with ``after_misc`` right after MISC (for files whose extra columns vary
    from sentence to sentence)."""
    if len(gold) != len(predicted):
        raise HierarchyError(f"{gold.source}: {len(gold)} words in, {len(predicted)} annotated "
                             "(a word is whitespace only?)")
    layers = {f: getattr(predicted, f) for f in ("upos", "xpos", "heads", "rels", "chunks", "senses", "roles")
              if getattr(predicted, f) is not None}
    ours = list(_our_columns(predicted, 0)) if len(predicted) else []
    # the columns of an earlier run are replaced, and the input's own role columns when roles are predicted
    names = [name for name in column_names(gold, predicted.senses is not None) if name not in ours]
    at = names.index("misc") + 1 if after_misc else len(names)
    names[at:at] = ours
    k, tokens = 0, []
    for token in gold.meta:
        is_word = isinstance(token["id"], int)
        row = {name: token.get(name, "_") for name in names}  # multiword-token lines may have had 10 columns
        row.update(_our_columns(predicted, k) if is_word else dict.fromkeys(ours, "_"))
        k += is_word
        tokens.append(Token(row))
    meta = TokenList(tokens, gold.meta.metadata)
    meta.comments = [c for c in gold.meta.comments if not c.replace(" ", "").startswith("#global.columns=")]
    return dataclasses.replace(gold, **layers, meta=meta)


def column_names(sentence: Sentence, roles: bool = False) -> tuple:
    """The column names of a CoNLL-U sentence's word lines; with ``roles`` (the model writes semantic roles)
    without the undeclared columns 11+ (``col11``...: the input's own SRL columns, which the predictions replace)."""
    names = tuple(next(t for t in sentence.meta if isinstance(t["id"], int)).keys())
    return tuple(n for n in names if not (roles and n.startswith("col") and n[3:].isdigit()))


# -- formats ------------------------------------------------------------------------------------------------------

def conllu_header(sentence: Sentence) -> str:
    """The ``# global.columns`` line for sentences shaped like ``sentence`` ('' for plain 10-column CoNLL-U)."""
    names = column_names(sentence)
    if len(names) == len(DEFAULT_FIELDS):
        return ""
    return "# global.columns = " + " ".join(name.upper() for name in names) + "\n"


JSON_FIELDS = {"upos": "upos", "xpos": "xpos", "heads": "heads", "deprels": "rels", "chunks": "chunks"}


def jsonl_line(sentence: Sentence, sent_id: str) -> str:
    row = {"sent_id": sent_id, "text": _text(sentence), "words": sentence.words}
    row.update({key: getattr(sentence, f) for key, f in JSON_FIELDS.items() if getattr(sentence, f) is not None})
    if sentence.chunks is not None:
        row["chunk_spans"] = [list(span) for span in bio_spans(sentence.chunks)]
    if sentence.senses is not None:
        row["srl"] = srl_frames(sentence, list(range(len(sentence))))
    return json.dumps(row, ensure_ascii=False) + "\n"


def _text(sentence: Sentence) -> str:
    for comment in getattr(sentence.meta, "comments", None) or ():
        key, sep, value = comment.lstrip("# ").partition("=")
        if sep and key.strip() == "text":
            return value.strip()
    return " ".join(sentence.words)


def sentence_doc(vocab, sentence: Sentence):
    """A Doc of one predicted sentence, with its parse, chunk spans and role spans (for displaCy)."""
    from spacy.parts_of_speech import IDS
    from spacy.tokens import Doc, Span

    heads = [h - 1 if h else i for i, h in enumerate(sentence.heads)] if sentence.heads is not None else None
    deps = [ROOT if h == 0 else r for h, r in zip(sentence.heads, sentence.rels)] if heads is not None else None
    pos = [p if p in IDS else "X" for p in sentence.upos] if sentence.upos is not None else None
    doc = Doc(vocab, words=sentence.words, pos=pos, tags=sentence.xpos, heads=heads, deps=deps)
    if sentence.chunks is not None:
        doc.spans[EXTENSIONS["chunks"]] = [Span(doc, a, b, label) for a, b, label in bio_spans(sentence.chunks)]
    if sentence.senses is not None:
        doc.spans[EXTENSIONS["srl"]] = [Span(doc, a["start"], a["end"], f"{a['role']} of {doc[f['predicate']].text}")
                                        for f in srl_frames(sentence, list(range(len(sentence))))
                                        for a in f["arguments"]]
    return doc


def html_page(vocab, sentences) -> str:
    """A page with, per sentence, displaCy's dependency tree (SVG), the chunks and the semantic roles (displaCy
    span style; a role's label names its predicate)."""
    from spacy import displacy

    parts = []
    for k, sentence in enumerate(sentences, 1):
        doc = sentence_doc(vocab, sentence)
        parts.append(f'<figure id="s{k}">\n<figcaption>{k}. {html.escape(_text(sentence))}</figcaption>')
        if sentence.heads is not None:
            parts.append(displacy.render(doc, style="dep", minify=True, jupyter=False, options={"compact": True}))
        for layer in ("chunks", "srl"):
            if doc.spans.get(EXTENSIONS[layer]):
                parts.append(displacy.render(doc, style="span", minify=True, jupyter=False,
                                             options={"spans_key": EXTENSIONS[layer]}))
        parts.append("</figure>")
    return ('<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>hierarchy annotations</title>'
            "</head>\n<body style=\"font-family: sans-serif\">\n" + "\n".join(parts) + "\n</body>\n</html>\n")


# -- the command --------------------------------------------------------------------------------------------------

def annotate_files(model_dir, files=(), input: str = "text", format: str = "conllu", output=None,
                   device: str = "auto", batch_size: int = 256, progress: bool = True, precision: str = "auto") -> int:
    """Annotate ``files`` (stdin when empty) and write ``format`` to ``output`` (stdout when None; a file is
    written atomically). Returns the number of sentences written."""
    from tqdm import tqdm

    if format not in FORMATS:
        raise HierarchyError(f"--format must be one of {', '.join(FORMATS)}, not '{format}'")
    if not Path(model_dir).is_dir():
        raise ConfigError(f"{model_dir}: model directory not found")
    inputs = read_inputs(files, input)  # all input is read (and checked) before the model loads
    nlp = make_pipeline(model_dir, device, batch_size, precision=precision)
    component = nlp.get_pipe("hierarchy")
    layers, span_roles = component.layers, component.span_roles
    varying = False
    if input == "text":
        units = [(name, p) for name, text in inputs for p in paragraphs(text)]
        docs = (nlp.make_doc(p) for _, p in units)
        n_words = sum(len(p.split()) for _, p in units)
    else:
        units = [(name, s) for name, sentences in inputs for s in sentences]
        # Extra columns that vary from sentence to sentence (e.g. one SRL column per predicate, when the model
        # predicts no roles to replace them) cannot be declared in global.columns: this project's columns then go
        # right after MISC and no global.columns line is written.
        varying = len({column_names(s, "srl" in layers) for _, s in units}) > 1
        docs = (conllu_doc(nlp.vocab, s) for _, s in units)
        n_words = sum(len(s) for _, s in units)
    disable = ["sentencizer"] if input == "conllu" else []  # a CoNLL-U sentence stays one sentence
    annotated = nlp.pipe(docs, batch_size=batch_size, disable=disable)
    bar = tqdm(zip(units, annotated), total=len(units), unit="sentence" if input == "conllu" else "paragraph",
               file=sys.stderr, disable=not progress or n_words < PROGRESS_MIN_WORDS)
    with atomic_write(output) if output else _Stdout() as f:
        sentences = _predicted(bar, input, layers, varying, span_roles)
        if format == "html":
            collected = [s for _, s in sentences]
            f.write(html_page(nlp.vocab, collected))
            return len(collected)
        count = 0
        for sent_id, s in sentences:
            count += 1
            if format == "jsonl":
                f.write(jsonl_line(s, sent_id))
            else:
                s = dataclasses.replace(s, senses=None, roles=None)  # the roles are in this project's columns
                f.write((conllu_header(s) if count == 1 and not varying else "") + format_sentence(s))
    return count


def _predicted(annotated, input: str, layers, varying: bool, span_roles: bool):
    """``(sent_id, Sentence)`` per predicted sentence from ``((file name, paragraph or Sentence), Doc)`` pairs."""
    count, previous = 0, None
    for (name, unit), doc in annotated:
        predicted = doc_sentences(doc, layers, span_roles)
        if input == "conllu":
            count += 1
            yield str(unit.meta.metadata.get("sent_id", count)), with_predictions(
                unit, predicted[0] if predicted else Sentence([]), after_misc=varying)
            continue
        for k, s in enumerate(predicted):
            count += 1
            comments = [f"# newdoc id = {name}"] if name != previous else []
            comments += ["# newpar"] if k == 0 else []
            s.meta.comments[:0] = comments + [f"# sent_id = {count}"]
            previous = name
            yield str(count), s


class _Stdout:
    def __enter__(self):
        return sys.stdout

    def __exit__(self, *exc):
        sys.stdout.flush()
        return False


# -- packaging ----------------------------------------------------------------------------------------------------

UD_EWT = ("UD English EWT", "CC BY-SA 4.0", "https://github.com/UniversalDependencies/UD_English-EWT")
UD_GUM = ("UD English GUM", "CC BY-NC-SA 4.0", "https://github.com/UniversalDependencies/UD_English-GUM")
UP_EWT = ("Universal PropBank English EWT", "CDLA-Sharing-1.0", "https://github.com/UniversalPropositions/UP-1.0")
CONLL2000 = ("CoNLL-2000 chunking (WSJ)", "research use only (Penn Treebank WSJ text, no open license)",
             "https://www.clips.uantwerpen.be/conll2000/chunking/")
SICK = ("SICK", "CC BY-NC-SA 3.0", "https://marcobaroni.org/composes/sick.html")
#: Known corpora, recognised by a piece of their path (first match wins): name, license, URL.
CORPORA = {"en_ewt-up": UP_EWT, "up-english-ewt": UP_EWT, "en_ewt-ud": UD_EWT, "ud-english-ewt": UD_EWT,
           "en_gum-ud": UD_GUM, "ud-english-gum": UD_GUM, "conll2000": CONLL2000, "sick": SICK}
LAYER_NAMES = {"pos": "POS (UPOS, XPOS)", "chunks": "chunks", "deps": "dependencies",
               "relatedness": "relatedness", "entailment": "entailment"}
#: meta.json ``performance`` keys (spaCy's score names) and where metrics.json's ``dev`` has them, in percent.
PERFORMANCE = {"pos_acc": ("pos", "upos", "acc"), "tag_acc": ("pos", "xpos", "acc"),
               "dep_uas": ("deps", "deps", "uas"), "dep_las": ("deps", "deps", "las"),
               "spans_chunks_p": ("chunks", "chunks", "precision"), "spans_chunks_r": ("chunks", "chunks", "recall"),
               "spans_chunks_f": ("chunks", "chunks", "f1")}


def corpus_source(path: str) -> dict:
    """Name, license and URL of a training corpus, recognised from its path."""
    lowered = path.replace("\\", "/").lower()
    for piece, (name, license, url) in CORPORA.items():
        if piece in lowered:
            return {"name": name, "license": license, "url": url}
    if "data/sample/" in lowered:
        return {"name": "hierarchy sample data", "license": _project_license(), "url": ""}
    return {"name": Path(path).name, "license": "unknown (see the corpus's own license)", "url": ""}


def _project_license() -> str:
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        return metadata("hierarchy").get("License") or "MIT"
    except PackageNotFoundError:
        return "MIT"


def package_meta(component, name: str) -> dict:
    """spaCy's meta.json fields for a packaged model: layers, corpora and their licenses, dev scores."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        own_version = version("hierarchy")
    except PackageNotFoundError:
        own_version = "0.0.0"
    from .config import data_key

    data, sources, corpora = component.config.data, {}, {}
    keys = dict.fromkeys(k for task in component.model.depth for k in (data_key(task), data_key(task) + "_dev"))
    for key in keys:
        path = getattr(data, key)
        if path:
            source = corpus_source(path)
            corpora[key] = {"path": path, **source}
            sources.setdefault(source["name"], source)
    dev = component.metrics.get("dev", {})
    performance = {}
    for key, (task, group, metric) in PERFORMANCE.items():
        score = dev.get(task, {}).get(group, {}).get(metric)
        if score is not None:
            performance[key] = score / 100
    layers = ", ".join(LAYER_NAMES.get(t, t) for t in component.layers)
    return {
        "name": name, "version": own_version,
        "description": f"The hierarchy model ({layers}) as a spaCy pipeline: English tokenizer, sentencizer and the "
                       "'hierarchy' component.",
        "license": "; ".join(f"{s['license']} ({s['name']})" for s in sources.values()),
        "sources": list(sources.values()),
        "requirements": [f"hierarchy>={own_version}"],
        "performance": performance,
        "hierarchy": {"layers": component.layers, "model_layers": list(component.model.depth), "corpora": corpora,
                      "dev_scores": dev},
    }


def package_model(model_dir, out_dir, name: str = "hierarchy", force: bool = False) -> Path:
    """Write a spaCy pipeline directory (tokenizer, sentencizer, the component with the model inside) to
    ``out_dir``, atomically: it is built beside the target and renamed into place."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise ConfigError(f"{out_dir}: already exists; pass --force to overwrite")
    nlp = make_pipeline(model_dir, device="auto", store_path=False)
    nlp.meta.update(package_meta(nlp.get_pipe("hierarchy"), name))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        nlp.to_disk(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp made it private
        if out_dir.is_dir():
            shutil.rmtree(out_dir)
        elif out_dir.exists():
            out_dir.unlink()
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def annotate_pairs(model_dir, pairs, files, format: str, output, device: str, precision: str = "auto") -> None:
    """Relatedness, entailment label and class probabilities per pair of ``pairs``, as TSV or JSON lines."""
    from .corpus import format_pairs, read_pairs
    from .persistence import load_model
    from .predict import predict_pairs
    from .persistence import resolve_device

    if files:
        raise HierarchyError("command line: give input files or --pairs FILE, not both")
    if format not in ("conllu", "tsv", "jsonl"):  # conllu, the default, means the pair default: TSV
        raise HierarchyError(f"command line: --format {format} is not available with --pairs (expected tsv or jsonl)")
    items = read_pairs(pairs)
    torch_device = resolve_device(device)
    model, _, vocabs = load_model(model_dir, torch_device)
    predicted = predict_pairs(model, vocabs, items, device=torch_device, precision=precision)
    text = format_pairs(items, predicted, "jsonl" if format == "jsonl" else "tsv")
    if output:
        with atomic_write(output) as f:
            f.write(text)
    else:
        sys.stdout.write(text)
