"""Raw text into sentences: paragraphs, then spaCy's tokenizer and sentencizer, as ``hierarchy annotate`` and
:meth:`hierarchy.pipeline.Pipeline.annotate` read it."""
from __future__ import annotations

from functools import lru_cache

from conllu.models import Metadata, Token, TokenList
from conllu.parser import DEFAULT_FIELDS

from hierarchy.core.predict import MAX_SENTENCE_WORDS, pieces
from hierarchy.io import Sentence


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


@lru_cache(maxsize=4)
def sentencizer(lang: str = "en"):
    """``spacy.blank(lang)`` with a sentencizer: what raw text is tokenized and split into sentences with (by
    ``hierarchy annotate`` and :meth:`hierarchy.pipeline.Pipeline.annotate`, in the model's ``model.lang``), made
    once per language."""
    import spacy

    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    return nlp


def text_sentences(nlp, text: str, max_words: int = MAX_SENTENCE_WORDS) -> list[Sentence]:
    """The sentences of a paragraph as spaCy's tokenizer and sentencizer (``nlp``) split it, whitespace tokens left
    out, and a sentence longer than ``max_words`` cut into consecutive sentences of at most that many words
    (:func:`~hierarchy.core.predict.pieces`: text without sentence ends is not one giant sentence); ``meta`` holds
    ``# text`` and ``SpaceAfter=No``, for writing CoNLL-U."""
    doc = nlp(text)
    out = []
    for sent in doc.sents:
        tokens = [t for t in sent if not t.is_space]
        for start, end in pieces(len(tokens), max_words, [t.text for t in tokens]) if tokens else ():
            out.append(_text_sentence(doc, tokens[start:end]))
    return out


def _text_sentence(doc, words) -> Sentence:
    """A Sentence of spaCy tokens ``words`` (of ``doc``) with the ``meta`` for writing CoNLL-U."""
    spaces = [bool(t.whitespace_) or (t.i + 1 < len(doc) and doc[t.i + 1].is_space) for t in words]
    s = Sentence([t.text for t in words])
    tokens = [Token(zip(DEFAULT_FIELDS, [k + 1, w, *["_"] * 7, "_" if spaces[k] or k + 1 == len(words)
                                                                else "SpaceAfter=No"]))
              for k, w in enumerate(s.words)]
    text = "".join(w + (" " if space else "") for w, space in zip(s.words, spaces)).strip()
    s.meta = TokenList(tokens, Metadata(text=text))
    s.meta.comments = [f"# text = {text}"]
    return s
