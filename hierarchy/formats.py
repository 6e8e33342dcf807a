"""The output formats of ``hierarchy annotate`` (:mod:`hierarchy.annotate` describes them), a sentence at a time:
CoNLL-U Plus with this project's columns, JSON lines, and HTML with displaCy's trees and spans. Each sentence is
written in two parts, so that worker processes can format sentences whose numbers they do not know: what depends
on the sentence's number (:func:`jsonl_start`, :func:`figure_start`, CoNLL-U's ``# sent_id`` comment), and the
rest."""
from __future__ import annotations

import html
import json
import re

from conllu.models import Token, TokenList
from conllu.parser import DEFAULT_FIELDS

from hierarchy.io import Sentence
from hierarchy.spacy_component import WRITERS, DocParse, write_doc
from hierarchy.tasks import TASKS

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

def jsonl_start(sent_id: str) -> str:
    """A line of ``--format jsonl`` up to its ``sent_id``: what the process that numbers the sentences writes.

    >>> jsonl_start("7") + '"text": "x"}' == json.dumps({"sent_id": "7", "text": "x"})
    True
    """
    return '{"sent_id": ' + json.dumps(sent_id, ensure_ascii=False) + ", "


def jsonl_rest(sentence: Sentence, tasks, document: dict | None = None) -> str:
    """A line of ``--format jsonl`` (schema: ``schema/annotation.schema.json``) after its ``sent_id``
    (:func:`jsonl_start`), line break included; ``document``: the ``doc_id`` and, on a document's first sentence,
    the document tasks' fields."""
    text = _text(sentence)
    row = {**({"doc_id": document["doc_id"]} if document else {}), "text": text, "words": sentence.words,
           "offsets": char_offsets(text, sentence.words)}
    for t in tasks:
        if TASKS[t].writers.json is not None:
            row.update(TASKS[t].writers.json(sentence))
    row.update(document or {})
    return json.dumps(row, ensure_ascii=False)[1:] + "\n"  # json.dumps writes {"key": value, "key": value}


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


HTML_START = ('<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>hierarchy annotations</title>'
              "</head>\n<body style=\"font-family: sans-serif\">\n")
HTML_END = "\n</body>\n</html>\n"


def html_page(vocab, sentences, tasks, titles: dict | None = None) -> str:
    """A page with, per sentence, displaCy's dependency tree (SVG, compact) and each span layer (displaCy's span
    style); ``titles``: a heading before some sentences, by their index in ``sentences`` (a document's ID)."""
    return HTML_START + "\n".join(figure_start(k, (titles or {}).get(k - 1)) + html_figure(vocab, s, tasks)
                                   for k, s in enumerate(sentences, 1)) + HTML_END


def figure_start(k: int, title: str | None = None) -> str:
    """The start of sentence ``k``'s figure on the page, up to its caption's text, after the heading ``title`` (a
    document's ID) where one begins there (written by the process that numbers the sentences; :func:`html_figure`
    the rest)."""
    return (f"<h2>{html.escape(title)}</h2>\n" if title else "") + f'<figure id="s{k}">\n<figcaption>{k}. '


def html_figure(vocab, sentence: Sentence, tasks) -> str:
    """A sentence's figure after :func:`figure_start`: its caption's text, displaCy's dependency tree and each span
    layer."""
    from spacy import displacy

    doc, keys, colors = sentence_doc(vocab, sentence, tasks)
    parts = [f"{html.escape(_text(sentence))}</figcaption>"]
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
    return "\n".join(parts)


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
