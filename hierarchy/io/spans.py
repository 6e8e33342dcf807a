"""BIO chunk tags and spans: the one place that reads tags into spans and writes spans back as tags.

Every reader here goes through :func:`get_chunks`, which reads tags as the conlleval perl script does (the
CoNLL-2000 scorer: IOB1, IOB2/BIO and IOE, ill-formed sequences included), so that a span written to a file
or a spaCy Doc is the span the chunk metric scored.

:func:`get_chunks` is seqeval's ``get_entities`` in its default (conlleval-compatible) mode, with two adapters
that make it conlleval exactly (``tests/test_metrics.py`` checks every sequence of up to five tags against a literal
transcription of conlleval.pl). Left alone, ``get_entities`` differs from conlleval in two ways:

* After an ``E-X`` tag it always ends the chunk; conlleval continues it into a following ``B-X`` (neither its
  ``endOfChunk`` nor its ``startOfChunk`` fires for E then B of one type): ``E-NP B-NP`` is one chunk there, two
  in seqeval. Such a pair is rewritten ``I-NP I-NP`` first, which conlleval reads the same way (its rules treat
  ``E`` and ``I`` alike as the current tag, ``B`` and ``I`` alike as the previous one).
* It gives untyped tags (``B``, ``I``) the type ``_``, which a tag ``B-_`` has too, so ``B I-_`` is one chunk in
  seqeval and two in conlleval. Every type is passed prefixed with a dash (``B--NP``) and the dash removed after.

It also accepts ``S-`` tags, which conlleval has no rules for; :func:`get_chunks` refuses them.
"""


def split_tag(tag: str) -> tuple[str, str]:
    """``B-NP`` -> ``("B", "NP")``, split at the first dash as conlleval does; ``O`` -> ``("O", "")``.

    >>> split_tag("B-ARGM-TMP"), split_tag("I"), split_tag("O")
    (('B', 'ARGM-TMP'), ('I', ''), ('O', ''))
    """
    prefix, dash, type_ = tag.partition("-")
    return (prefix, type_) if dash else (tag, "")


def get_chunks(tags) -> list[tuple[str, int, int]]:
    """Chunks ``(type, first, last)`` of one sentence by conlleval's rules (IOB1, IOB2/BIO, IOE).

    The sentence starts after a virtual ``O`` and every chunk ends with the sentence, as at conlleval's sentence
    boundaries. An ``I-X`` after ``O`` or after another type starts a chunk. Tags are ``O`` or ``B``, ``I``, ``E``
    with an optional ``-TYPE`` (untyped chunks have the type ``""``); anything else raises ``ValueError``:
    conlleval has no rules for ``S-`` (it would read ``S-NP S-NP`` as one chunk), so convert IOBES to BIO first.

    >>> get_chunks(["B-NP", "I-NP", "I-VP", "O", "I-NP", "B-NP"])
    [('NP', 0, 1), ('VP', 2, 2), ('NP', 4, 4), ('NP', 5, 5)]
    >>> get_chunks(["I-NP", "E-NP", "B-NP", "E-NP", "O", "B"])  # conlleval reads E-NP B-NP on
    [('NP', 0, 3), ('', 5, 5)]
    """
    # imported here: seqeval.metrics imports scikit-learn (about a second), which corpus reading need not pay
    from seqeval.metrics.sequence_labeling import get_entities

    split = []
    for i, tag in enumerate(tags):
        prefix, type_ = split_tag(tag)
        if prefix not in ("B", "I", "E") and (prefix, type_) != ("O", ""):
            raise ValueError(f"chunk tag {tag!r} is not O, B-*, I-* or E-* (convert IOBES tags to BIO)")
        if prefix == "B" and i and split[-1] == ("E", type_):  # conlleval reads on: both become I (see above)
            split[-1], prefix = ("I", type_), "I"
        split.append((prefix, type_))
    # every type reaches seqeval as "-TYPE", never as the "_" it gives untyped tags
    entities = get_entities(["O" if prefix == "O" else f"{prefix}--{type_}" for prefix, type_ in split])
    return [(type_[1:], first, last) for type_, first, last in entities]


def bio_spans(tags) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` of the chunks of :func:`get_chunks`, ``end`` exclusive (as spaCy's spans).

    >>> bio_spans(["B-NP", "I-NP", "B-VP", "O", "I-PP"])
    [(0, 2, 'NP'), (2, 3, 'VP'), (4, 5, 'PP')]
    >>> bio_spans(["I-NP", "I-VP", "O"])  # a stray I- opens a chunk
    [(0, 1, 'NP'), (1, 2, 'VP')]
    """
    return [(first, last + 1, label) for label, first, last in get_chunks(tags)]


def bio_tags(n: int, spans) -> list[str]:
    """The inverse of :func:`bio_spans`: ``n`` BIO tags from ``(start, end, label)`` spans.

    >>> bio_tags(4, [(0, 2, "NP"), (3, 4, "VP")])
    ['B-NP', 'I-NP', 'O', 'B-VP']
    """
    tags = ["O"] * n
    for start, end, label in spans:
        tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
    return tags


def repair_bio(tags: list[str]) -> list[str]:
    """Well-formed BIO tags of the chunks that :func:`get_chunks` reads in (greedy) tags: an ``I-X`` that does
    not follow ``B-X`` or ``I-X`` starts a chunk and becomes ``B-X``. Well-formed BIO tags are left as they are.

    >>> repair_bio(["I-A", "I-A", "O", "I-B", "B-A", "I-B"])
    ['B-A', 'I-A', 'O', 'B-B', 'B-A', 'B-B']
    """
    return bio_tags(len(tags), bio_spans(tags))


def bio_to_brackets(tags: list[str]) -> list[str]:
    """BIO tags of one predicate -> CoNLL-2005 bracket cells, spans as :func:`get_chunks` reads them (an ``I-X``
    after ``O`` or another type opens one).

    >>> bio_to_brackets(["B-A0", "I-A0", "B-V", "O", "I-A1"])
    ['(A0*', '*)', '(V*)', '*', '(A1*)']
    """
    cells = ["*"] * len(tags)
    for label, first, last in get_chunks(tags):
        cells[first] = f"({label}{cells[first]}"
        cells[last] += ")"
    return cells


def is_bio(labels) -> bool:
    """Whether role labels are span BIO tags (``O``, ``B-A0``...) rather than head-based roles (``_``, ``ARG0``).

    >>> is_bio(["O", "B-A0", "I-A0", "B-V"]), is_bio(["_", "ARG0", "V"])
    (True, False)
    """
    labels = list(labels)
    return "O" in labels and all(label == "O" or label[:2] in ("B-", "I-") for label in labels)
