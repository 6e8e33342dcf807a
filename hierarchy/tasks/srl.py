"""Semantic roles (``srl``): the arguments of each predicate, labelled with their role, as in LISA; the predicates
and their rolesets too, unless a ``predicates`` task lower in the stack finds them. The heads are in
:mod:`~hierarchy.tasks.srl_heads`; this module says how the task reads, scores and writes.

Head-based data (Universal PropBank CoNLL-U, ``data.srl_format = "conllu"``) is scored like the CoNLL-2009
scorer, span data (``"conll05"``) like CoNLL-2005's ``srl-eval.pl`` (see :mod:`hierarchy.tasks.metrics`). Which of the
two a model predicts is decided once, by its role vocabulary (:func:`span_roles`).
"""
from collections import Counter, defaultdict
from functools import lru_cache

import torch

from hierarchy.io.spans import bio_spans, is_bio
from hierarchy.io.srl import ARGS_COLUMN, PRED_COLUMN, format_args, read_srl, word_lemmas, write_srl
from hierarchy.io.vocab import Vocab
from hierarchy.tasks.spec import TaskSpec, Writers
from hierarchy.tasks.srl_heads import NO_SENSE, NOT_PREDICATE, PREDICATES, SRLHead
from hierarchy.tasks.srl_metrics import SpanSRLMetric, SRLMetric

KEY = "srl"  # doc.spans key, Doc extension (doc._.srl) and evaluate flag
DATA_KEY = "srl_data"  # the Doc extension that stores the frames with token offsets (it serializes)
FORMATS = ("conllu", "conll05")


def roleset(lemma: str, sense: str | None, seen_lemmas, renamed=None) -> str:
    """The roleset written for a predicate: ``lemma.sense`` when the lemma was a predicate in training, else
    ``lemma.01``; just the lemma when there is no sense (span corpora). ``renamed`` maps a word's lemma to the
    roleset lemma it most often had in training where the two differ (``service`` -> ``serve``, as PropBank files
    nouns under their verbs).

    >>> roleset("give", "02", {"give"}), roleset("yeet", "02", {"give"}), roleset("give", None, set())
    ('give.02', 'yeet.01', 'give')
    >>> roleset("service", "01", {"serve"}, {"service": "serve"})
    'serve.01'
    """
    if sense is None:
        return lemma
    lemma = (renamed or {}).get(lemma, lemma)
    return f"{lemma}.{sense}" if lemma in seen_lemmas else f"{lemma}.01"


def span_roles(vocabs) -> bool:
    """Whether a model's roles are BIO tags over argument spans (else one label per argument head)."""
    return "roles" in vocabs.labels and is_bio(vocabs.labels["roles"].itos)


def read(path, data):
    return read_srl(path, data.srl_format, data.skip_bad)


def labels(sentences) -> dict:
    """The SRL tables: ``roles`` (every role label, with ``_`` and ``V``, or ``O`` and ``B-V``, always in),
    ``senses`` (the sense numbers of the rolesets, ``01`` of ``give.01``; none in span corpora, whose senses are
    lemmas), ``sense_lemmas`` (the lemmas seen as predicates, :func:`roleset`) and ``roleset_lemmas``: ``"word
    lemma<TAB>roleset lemma"`` for each word lemma whose most frequent roleset names another lemma (``service`` ->
    ``serve.01``, ``thanks`` -> ``thank.01``)."""

    annotated = [s for s in sentences if s.roles is not None]
    renamed = defaultdict(Counter)
    for s in annotated:
        for lemma, sense in zip(word_lemmas(s), s.senses):
            if "." in sense:
                renamed[lemma][sense.rpartition(".")[0]] += 1
    renamed = {lemma: counts.most_common(1)[0][0] for lemma, counts in renamed.items()}
    roles = {label for s in annotated for column in s.roles for label in column}
    span = "O" in roles or any(label[:2] in ("B-", "I-") for label in roles)
    roles |= {"O", "B-V"} if span else {"_", "V"}
    rolesets = {sense for s in annotated for sense in s.senses if sense != "_"}
    senses = {r.rpartition(".")[2] for r in rolesets if "." in r}
    lemmas = {r.rpartition(".")[0] if "." in r else r for r in rolesets}
    return {"roles": Vocab(sorted(roles), specials=()), "senses": Vocab(sorted(senses), specials=()),
            "sense_lemmas": Vocab(sorted(lemmas), specials=()),
            "roleset_lemmas": Vocab(sorted(f"{a}\t{b}" for a, b in renamed.items() if a != b), specials=())}


def gold(sentences, vocabs, seq_len: int) -> dict[str, torch.Tensor]:
    """``predicates`` ``[batch_size, seq_len]`` (1 on predicates, 0 elsewhere), ``senses`` ``[batch_size,
    seq_len]`` (the sense number's index on predicates), ``pred_index`` ``[batch_size, n_pred]`` (the gold
    predicates' positions, padded with 0) and ``roles`` ``[batch_size, n_pred, seq_len]`` (label indices of each
    gold predicate's column); -100 where absent (a sentence without SRL annotation, an unknown label)."""
    n = len(sentences)
    n_pred = max(len(s.roles or []) for s in sentences)
    senses, roles = vocabs.labels["senses"].stoi, vocabs.labels["roles"].stoi
    out = {"predicates": torch.full((n, seq_len), -100, dtype=torch.long),
           "senses": torch.full((n, seq_len), -100, dtype=torch.long),
           "pred_index": torch.zeros(n, n_pred, dtype=torch.long),
           "roles": torch.full((n, n_pred, seq_len), -100, dtype=torch.long)}
    for i, s in enumerate(sentences):
        if s.senses is None:
            continue
        predicates = [k for k, sense in enumerate(s.senses) if sense != "_"]
        out["predicates"][i, : len(s)] = torch.tensor([int(sense != "_") for sense in s.senses])
        for j, (k, column) in enumerate(zip(predicates, s.roles)):
            out["senses"][i, k] = senses.get(s.senses[k].rpartition(".")[2], -100) if "." in s.senses[k] else -100
            out["pred_index"][i, j] = k
            out["roles"][i, j, : len(s)] = torch.tensor([roles.get(label, -100) for label in column])
    return out


@lru_cache(maxsize=8)
def renamed_lemmas(table) -> dict[str, str]:
    """The ``roleset_lemmas`` table as ``{word lemma: roleset lemma}``."""
    return dict(pair.split("\t") for pair in table.itos)


def sense_strings(ids: list[int], vocabs, sentence) -> list[str]:
    """Decoded sense ids (:data:`NOT_PREDICATE`, :data:`NO_SENSE` or an index into the sense numbers) as rolesets."""
    numbers, seen = vocabs.labels["senses"].itos, vocabs.labels["sense_lemmas"].stoi
    table = vocabs.labels.get("roleset_lemmas")
    lemmas, renamed = word_lemmas(sentence), renamed_lemmas(table) if table is not None else {}
    return ["_" if i == NOT_PREDICATE else roleset(lemmas[k], None if i == NO_SENSE else numbers[i], seen, renamed)
            for k, i in enumerate(ids)]


def predictions(values: dict, vocabs, sentence) -> dict:
    itos = vocabs.labels["roles"].itos
    return {"senses": sense_strings(values["senses"], vocabs, sentence),
            "roles": [[itos[i] for i in column] for column in values["roles"]]}


def join(layers: list[dict], lengths: list[int], vocabs) -> dict:
    """The predicates and roles of consecutive pieces of one sentence: senses concatenated, each predicate's roles
    extended over the other pieces with the no-argument label (``O`` for span roles, else ``_``).

    >>> join([{"senses": ["_", "go.01"], "roles": [["ARG0", "V"]]}, {"senses": ["_"], "roles": []}], [2, 1], None)
    {'senses': ['_', 'go.01', '_'], 'roles': [['ARG0', 'V', '_']]}
    """
    empty = "O" if vocabs is not None and span_roles(vocabs) else "_"
    total, offset, roles = sum(lengths), 0, []
    for layer, n in zip(layers, lengths):
        roles += [[empty] * offset + column + [empty] * (total - offset - n) for column in layer["roles"]]
        offset += n
    return {"senses": [sense for layer in layers for sense in layer["senses"]], "roles": roles}


def metric(predicted, gold_sentences, vocabs) -> dict:

    m = SpanSRLMetric() if span_roles(vocabs) else SRLMetric()
    for p, g in zip(predicted, gold_sentences):
        if g.senses is not None:
            m.update(p.senses, p.roles, g.senses, g.roles)
    return {KEY: m}


def rows(name, m) -> list:
    v = m.values
    return [("predicates", v["predicate_precision"], v["predicate_recall"], v["predicate_f1"]),
            ("sense accuracy", None, None, v["sense_acc"]),
            ("labeled arguments", v["precision"], v["recall"], v["f1"])] + [
        (f"  {role}", t["precision"], t["recall"], t["f1"]) for role, t in m.per_role.items()]


def frames(sentence, words: list) -> list:
    """The frames of one predicted sentence, with Doc token offsets (``words[j]``: the Doc index of word j):
    ``{"predicate": i, "roleset", "arguments": [{"role", "start", "end", "head"}]}``, end exclusive, ``head``
    the argument's head (head-based roles) or ``None`` (spans)."""
    out = []
    predicates = [j for j, sense in enumerate(sentence.senses) if sense != "_"]
    for p, column in zip(predicates, sentence.roles):
        span = is_bio(set(column) | {"O"})
        if span:
            spans = [(a, b, role) for a, b, role in bio_spans(column) if role != "V"]
        else:
            spans = [(j, j + 1, role) for j, role in enumerate(column) if role not in ("_", "V")]
        arguments = [{"role": role, "start": words[a], "end": words[b - 1] + 1, "head": None if span else words[a]}
                     for a, b, role in spans]
        out.append({"predicate": words[p], "roleset": sentence.senses[p], "arguments": arguments})
    return out


def _frames_getter(doc):
    """``doc._.srl``: the frames of ``doc._.srl_data`` with Tokens (argument heads) and Spans (span arguments)."""
    found = doc._.get(DATA_KEY)
    if found is None:
        return None
    return [{"predicate": doc[f["predicate"]], "roleset": f["roleset"],
             "arguments": [(a["role"], doc[a["start"]:a["end"]] if a["head"] is None else doc[a["head"]])
                           for a in f["arguments"]]} for f in found]


def register_extensions() -> None:
    from spacy.tokens import Doc

    if not Doc.has_extension(DATA_KEY):
        Doc.set_extension(DATA_KEY, default=None)
    if not Doc.has_extension(KEY):
        Doc.set_extension(KEY, getter=_frames_getter)


class SpacySRL:
    """``doc._.srl_data`` (frames with token offsets, what the Doc stores), ``doc._.srl`` (the same with Tokens
    and Spans) and ``doc.spans["srl"]``: the arguments labelled with their role."""

    assigns = ["doc.spans", f"doc._.{DATA_KEY}"]
    score_weights = {}
    performance = {}

    def __init__(self):
        register_extensions()

    def write(self, doc, parse, vocab) -> None:
        from spacy.tokens import Span

        found = [f for words, s in zip(parse.words, parse.sentences) if s is not None for f in frames(s, words)]
        doc._.set(DATA_KEY, found)
        doc.spans[KEY] = [Span(doc, a["start"], a["end"], a["role"]) for f in found for a in f["arguments"]]

    def score(self, examples, **kwargs) -> dict:
        return {}


def html_spans(sentence) -> list:
    words = list(range(len(sentence)))
    return [(KEY, [(a["start"], a["end"], f"{a['role']} of {sentence.words[f['predicate']]}")
                   for f in frames(sentence, words) for a in f["arguments"]])]


def _head(n_in, config, vocabs, layer, tasks, n_embed) -> SRLHead:
    return SRLHead(n_in, vocabs.labels["roles"].itos, len(vocabs.labels["senses"]), config.mlp_dim, config.rel_dim,
                   config.dropout, own_predicates=PREDICATES not in tasks)


SPEC = TaskSpec(
    name="srl", title="semantic roles", data_key="srl", flag=KEY, read=read, options={"srl_format": FORMATS},
    fields=("senses", "roles"), labels=labels, head=_head, gold=gold, predictions=predictions, metric=metric,
    join=join,
    rows=rows, needs=(PREDICATES,), details=lambda m: {"per_role": m.per_role},
    annotated=lambda s: s.senses is not None,
    writers=Writers(conllu={PRED_COLUMN: lambda s: s.senses, ARGS_COLUMN: lambda s: format_args(s.senses, s.roles)},
                    json=lambda s: {KEY: frames(s, list(range(len(s))))}, spacy=SpacySRL(), html=html_spans,
                    file=(lambda data: ".srl.conllu" if data.srl_format == "conllu" else ".srl.txt",
                          lambda path, gold_sentences, predicted, data: write_srl(path, predicted, data.srl_format)),
                    replaces_extra=True),
)
