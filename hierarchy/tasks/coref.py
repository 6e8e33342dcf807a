"""Coreference (``coref``): which mentions of a document refer to the same entity, read from the ``Entity``
brackets of CoNLL-U MISC (UD English GUM, every mention including nested ones and singletons), scored with the
CoNLL-2012 metrics (:mod:`hierarchy.tasks.coref_metrics`).

The head is Lee et al. (2017)'s span ranking, chosen over word-level coreference (Dobrovolskii 2021) because GUM
nests mentions and keeps singletons, which span ranking predicts directly (word-level coreference needs a second
model to recover spans from head words). Every span of at most ``model.span_width`` words inside a sentence is a
candidate; a mention score (trained also directly, as mention detection) keeps the best ``model.span_ratio`` x words
of them that cross no better one (GUM's mentions nest; so do the kept spans, which brackets then write
unambiguously). As in Lee et al. (2018)'s coarse-to-fine ranking, a cheap bilinear score over every earlier kept
span picks each kept span's ``model.antecedents`` best candidates: among them always its ``model.match_antecedents``
best earlier spans with the same last word (or the same words), whatever their coarse score. The coarse score learns
little of a match (most matching spans are no mentions): without them, half of GUM dev's repeated nouns and names
found an earlier mention of their entity (given the gold mentions), with them 71%. A feed-forward scorer then scores
the candidates against a dummy antecedent (score 0: a new entity); the span is trained by the marginal likelihood of
its gold antecedents. Unlike Lee et al., a pair's score adds the antecedent's mention score but not the span's own:
GUM's singletons are mentions, so a span's high mention score (which the mention loss trains) says nothing of
whether it links. Both scores also read whether two spans have the same words and the same last word (lowercased): a
frozen encoder's states tell little of that, and a repeated name links mentions far apart. With ``model.speakers``,
the fine score also reads how the two spans' speakers relate (the same one; one speaking to the other), as the
sentences' ``# speaker`` and ``# addressee`` comments name them (GUM's dialogues): "I" of one speaker is "you" of the
other. Memory and time grow with ``words x span_width`` (candidates), ``kept spans x antecedents`` (pairs) and
``kept spans ^ 2`` (the coarse scores: a few floats and bytes a pair, some 200 MB for a part of 10,000 words; longer
documents are predicted in parts). The layer reads the hierarchy's states, into which the mention layer below passes
its label embeddings.
"""
from __future__ import annotations

import torch
from torch import nn

from hierarchy.io.documents import outermost_tags, read_coref, spread_clusters, write_coref
from hierarchy.io.entities import word_brackets
from hierarchy.io.vocab import Vocab
from hierarchy.modules.spans import (
    SpanEncoder, candidate_spans, distance_bucket, match_codes, non_crossing, speaker_codes,
)
from hierarchy.tasks.coref_metrics import CorefMetric, MentionMetric
from hierarchy.tasks.metrics import ChunkMetric
from hierarchy.tasks.spec import TaskSpec, Writers

TYPES = "coref_types"  # the label table of entity types


class CorefHead(nn.Module):
    """Mention scores and types of candidate spans, and antecedent scores of the kept ones (see the module)."""

    def __init__(self, n_in: int, n_types: int, dim: int, dropout: float, max_width: int, ratio: float,
                 antecedents: int, typing: float = 0.0, threshold: float = 0.0, matches: int = 0,
                 speakers: bool = False):
        super().__init__()
        self.max_width, self.ratio, self.antecedents, self.typing = max_width, ratio, antecedents, typing
        self.threshold = threshold  # the dummy antecedent's score in decoding (0 in training)
        self.matches = matches  # the best earlier spans with the same last word always among a span's candidates
        self.start, self.end = nn.Linear(n_in, dim), nn.Linear(n_in, dim, bias=False)
        self.width = nn.Embedding(max_width, dim)
        self.mention = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(dim, 1 + n_types))
        self.spans = SpanEncoder(n_in, dim, max_width)
        self.coarse = nn.Linear(dim, dim, bias=False)
        self.coarse_match = nn.Embedding(4, 1)  # match_codes -> a coarse score
        nn.init.zeros_(self.coarse_match.weight)
        self.distance, self.match = nn.Embedding(9, 20), nn.Embedding(4, 20)
        self.speaker = nn.Embedding(9, 20) if speakers else None  # speaker_codes -> a pair feature
        n_pair = 3 * dim + 40 + 20 * speakers
        self.pair = nn.Sequential(nn.Linear(n_pair, dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dim, 1))
        self.dropout = nn.Dropout(dropout)
        self.n_label_out = 0

    def forward(self, context) -> dict[str, torch.Tensor]:
        """A batch of one document (its sentences as rows): ``context.states [n_sentences, seq_len, n_in]`` ->
        ``starts``/``ends`` ``[n_spans]`` (inclusive, document word numbers), ``mention`` ``[n_spans]`` (logits),
        ``types`` ``[n_spans, n_types]``, ``kept`` ``[n_kept]`` (indexes of spans, in document order),
        ``antecedents`` ``[n_kept, n_ante]`` (indexes into ``kept``), ``pair`` ``[n_kept, n_ante]`` (-inf where
        there is no such antecedent) and ``given`` (a bool tensor: the spans were given). ``batch.inputs``
        (:func:`inputs`): ``forms`` ``[n_words]``, an id per lowercased word form; ``speakers`` ``[2, n_words]``,
        the ids of each word's speaker and addressee (0: unknown); ``given`` ``[n_given, 2]`` (given mentions, end
        exclusive), which replace the candidates and the pruning."""
        batch, given = context.batch, context.batch.inputs.get("given")
        words = self.dropout(context.states[batch.mask])  # (n_words, n_in), the document's words in order
        n, device = len(words), words.device
        if given is not None:
            starts, ends = given[:, 0], given[:, 1] - 1
        else:
            rows = torch.arange(batch.mask.shape[0], device=device)[:, None].expand_as(batch.mask)
            starts, ends = candidate_spans(rows[batch.mask], self.max_width)
        width = (ends - starts).clamp(max=self.max_width - 1)
        logits = self.mention(self.start(words)[starts] + self.end(words)[ends] + self.width(width)).float()
        mention = logits[:, 0]  # (n_spans,)
        if given is not None:
            kept = torch.arange(len(starts), device=device)
        else:
            kept = non_crossing(starts, ends, mention.detach(), max(1, int(self.ratio * n)))
            kept = kept[torch.argsort(starts[kept] * n + ends[kept])]
        g = self.spans(words, starts[kept], ends[kept])  # (n_kept, dim)
        k, a = len(kept), min(self.antecedents, max(len(kept) - 1, 0))
        codes = match_codes(batch.inputs["forms"], starts[kept], ends[kept])  # (n_kept, n_kept)
        coarse = (self.coarse(g) @ g.T).float() + self.coarse_match(codes.int()).squeeze(-1).float()
        coarse = coarse + mention[kept][None, :]  # the antecedent's mention score (see the module)
        earlier = torch.ones(k, k, dtype=torch.bool, device=device).tril(-1)
        coarse = coarse.masked_fill(~earlier, float("-inf"))
        pick = coarse
        if self.matches and k > 1:  # the best matching antecedents are candidates whatever their coarse score
            same = coarse.masked_fill(codes == 0, float("-inf"))  # the same last word
            best, top = same.topk(min(self.matches, a), -1)
            pick = coarse + torch.zeros_like(coarse).scatter(1, top, (best > float("-inf")).float() * 1e4)
        antecedents = pick.topk(a, -1).indices  # (n_kept, n_ante)
        coarse = coarse.gather(1, antecedents)
        distance = self.distance(distance_bucket(torch.arange(k, device=device)[:, None] - antecedents))
        gi, gj = g[:, None, :].expand(k, a, -1), g[antecedents]
        features = [gi, gj, gi * gj, distance, self.match(codes.gather(1, antecedents).long())]
        if self.speaker is not None:
            speakers, addressees = batch.inputs["speakers"][:, starts[kept]]  # (n_kept,) each
            features.append(self.speaker(speaker_codes(speakers, addressees, antecedents)))
        pair = self.pair(torch.cat(features, -1)).squeeze(-1).float() + coarse
        return {"starts": starts, "ends": ends, "mention": mention, "types": logits[:, 1:], "kept": kept,
                "antecedents": antecedents, "pair": pair.masked_fill(coarse == float("-inf"), float("-inf")),
                "given": torch.tensor(given is not None)}

    def loss(self, scores, batch) -> torch.Tensor:
        """Per kept span, the negative log of the probability of its gold antecedents (the dummy for a span that
        is no mention or starts an entity), averaged; plus the mention detection loss (binary cross-entropy over
        the candidates) and the type loss of the gold mentions. ``batch.gold["coref"]`` ``[n_gold, 4]``: start,
        end (exclusive), entity and type of each gold mention."""
        gold = batch.gold.get("coref")
        if gold is None:
            return scores["mention"].sum() * 0
        entity, kind = match_gold(scores["starts"], scores["ends"], gold)
        mention_loss = balanced_bce(scores["mention"], entity >= 0)
        found = kind >= 0
        type_loss = nn.functional.cross_entropy(scores["types"][found], kind[found]) if found.any() else 0.0
        kept = entity[scores["kept"]]  # (n_kept,)
        antecedent = kept[scores["antecedents"]]  # (n_kept, n_ante)
        right = (antecedent == kept[:, None]) & (kept[:, None] >= 0) & (scores["pair"] > float("-inf"))
        right = torch.cat([~right.any(-1, keepdim=True), right], -1)
        full = torch.cat([scores["pair"].new_zeros(len(kept), 1), scores["pair"]], -1)  # the dummy scores 0
        missed = full.logsumexp(-1) - full.masked_fill(~right, float("-inf")).logsumexp(-1)  # (n_kept,)
        coref_loss = missed.sum() / max(len(kept), 1)  # no kept span: a document without a given mention
        return coref_loss + mention_loss + type_loss

    def decode(self, scores, batch) -> dict[str, list]:
        """``{"clusters": [clusters], "typing": [threshold]}`` for the batch's document: each cluster ``(type id,
        confidence, [[start, end], ...])`` (end exclusive; confidence: the mean probability of the type over its
        mentions); ``typing``: ``model.cluster_typing`` (see :func:`~hierarchy.io.documents.spread_clusters`).
        A kept span links to its best antecedent where that scores above the dummy (``model.link_threshold``, 0 as
        in training; lower values link more, tuned on dev: :mod:`benchmarks.coref` ``--thresholds``); linked spans
        form entities; a kept span with a positive mention score and no link is a singleton (every given mention
        is a mention)."""
        pair, kept, antecedents = scores["pair"], scores["kept"].tolist(), scores["antecedents"]
        best = torch.cat([pair.new_full((len(kept), 1), self.threshold), pair], -1).argmax(-1).tolist()
        parent = list(range(len(kept)))

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        linked = set()
        for i, b in enumerate(best):
            if b > 0:
                j = int(antecedents[i, b - 1])
                parent[root(i)] = root(j)
                linked |= {i, j}
        mention, types = scores["mention"].tolist(), scores["types"].softmax(-1)
        starts, ends = scores["starts"].tolist(), scores["ends"].tolist()
        groups = {}
        for i, span in enumerate(kept):
            if i in linked or mention[span] > 0 or scores["given"]:
                groups.setdefault(root(i), []).append(span)
        clusters = []
        for spans in groups.values():
            mean = types[spans].mean(0) if types.shape[1] else torch.ones(1)
            clusters.append((int(mean.argmax()), mean.max().item(), sorted([starts[s], ends[s] + 1] for s in spans)))
        return {"clusters": [sorted(clusters, key=lambda c: c[2][0])], "typing": [self.typing]}


def balanced_bce(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """The mean of the binary cross-entropy over the positive and over the negative ``[n]`` items, each class
    weighing half: most candidate spans are no mention, and a plain mean would teach the score to say no."""
    losses = nn.functional.binary_cross_entropy_with_logits(logits, positive.float(), reduction="none")
    parts = [losses[which].mean() for which in (positive, ~positive) if which.any()]
    return sum(parts) / len(parts) if parts else logits.sum() * 0  # no candidate: a document of no given mention


def match_gold(starts: torch.Tensor, ends: torch.Tensor, gold: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each span's gold entity and type (-1 where it is no gold mention): ``starts``/``ends`` ``[n_spans]``
    (inclusive), ``gold`` ``[n_gold, 4]`` (start, exclusive end, entity, type) -> two ``[n_spans]`` tensors."""
    n = int(max(ends.max() if len(ends) else 0, gold[:, 1].max() if len(gold) else 0)) + 1
    keys = starts * n + ends
    gold_keys = gold[:, 0] * n + gold[:, 1] - 1
    order = torch.argsort(gold_keys)
    at = torch.searchsorted(gold_keys[order], keys).clamp(max=max(len(gold) - 1, 0))
    hit = gold_keys[order][at] == keys if len(gold) else torch.zeros_like(keys, dtype=torch.bool)
    row = order[at] if len(gold) else at
    entity = torch.where(hit, gold[row, 2] if len(gold) else at, -1)
    kind = torch.where(hit, gold[row, 3] if len(gold) else at, -1)
    return entity, kind


def gold(documents, vocabs, seq_len: int) -> dict[str, torch.Tensor]:
    """``{"coref": [n_mentions, 4]}``: start, end (exclusive), entity and type of each mention of the batch's
    document (one document a batch); nothing for a document without ``clusters``."""
    (document,) = documents
    clusters = document.get("clusters")
    if clusters is None:
        return {}
    table = vocabs.labels[TYPES].stoi
    rows = [[start, end, k, table.get(c["type"], -1)] for k, c in enumerate(clusters) for start, end in c["mentions"]]
    return {"coref": torch.tensor(rows, dtype=torch.long).reshape(-1, 4)}


def inputs(documents) -> dict[str, torch.Tensor]:
    """``{"forms": [n_words]}``, the words of the batch's document in order as ids of their lowercased forms (the
    same id for the same form); ``{"speakers": [2, n_words]}``, ids of each word's speaker and addressee as its
    sentence's ``# speaker`` and ``# addressee`` comments name them (0: none; GUM's dialogues have them); and
    ``{"given": [n, 2]}``: its given mentions (start, exclusive end; ``read_coref(given=True)``, to link the gold
    mentions) where it has them."""
    (document,) = documents
    ids, people, speakers = {}, {}, [[], []]
    forms = [ids.setdefault(word.lower(), len(ids)) for sentence in document.sentences for word in sentence.words]
    for sentence in document.sentences:
        comments = getattr(sentence.meta, "metadata", None) or {}
        for row, key in zip(speakers, ("speaker", "addressee")):
            name = comments.get(key)
            row += [people.setdefault(name, len(people) + 1) if name else 0] * len(sentence)
    out = {"forms": torch.tensor(forms, dtype=torch.long), "speakers": torch.tensor(speakers, dtype=torch.long)}
    given = document.get("given_mentions")
    return out if given is None else out | {"given": torch.tensor(given, dtype=torch.long).reshape(-1, 2)}


def head(n_in, config, vocabs, layer, tasks, n_embed) -> CorefHead:
    return CorefHead(n_in, len(vocabs.labels[TYPES]), config.mlp_dim, config.dropout, config.span_width,
                     config.span_ratio, config.antecedents, config.cluster_typing, config.link_threshold,
                     config.match_antecedents, config.speakers)


def labels(documents) -> dict:
    return {TYPES: Vocab(sorted({c["type"] for d in documents for c in d.get("clusters") or []}), specials=())}


def predictions(values: dict, vocabs, document) -> dict:
    itos = vocabs.labels[TYPES].itos
    return {"clusters": [{"type": itos[kind] if kind < len(itos) else "", "confidence": round(confidence, 4),
                          "mentions": spans} for kind, confidence, spans in values["clusters"]],
            "cluster_typing": values["typing"]}


def join(layers: list[dict], lengths: list[int], vocabs) -> dict:
    """The clusters of a document predicted in consecutive parts of ``lengths`` words: each part's, its spans moved
    by the words before it (no entity crosses parts)."""
    clusters, offset = [], 0
    for layer, n in zip(layers, lengths):
        clusters += [c | {"mentions": [[a + offset, b + offset] for a, b in c["mentions"]]} for c in layer["clusters"]]
        offset += n
    return {"clusters": clusters, "cluster_typing": layers[0]["cluster_typing"]}


def metric(predicted, gold_documents, vocabs) -> dict:
    """The CoNLL-2012 metrics without singletons (OntoNotes-style: the score model selection reads) and with them
    (GUM annotates them), and mention detection (exact spans, every mention). Where the documents' sentences carry
    the mention layer's typed outermost mentions, their F1 as the layer gave them (``mentions_layer``) and, with
    ``model.cluster_typing``, typed by the clusters (``mentions_by_clusters``)."""
    out = {"coref": CorefMetric(singletons=False), "coref_singletons": CorefMetric(singletons=True),
           "coref_mentions": MentionMetric()}
    for p, g in zip(predicted, gold_documents):
        if g.get("clusters") is None:
            continue
        for ps, gs in zip(p.sentences, g.sentences):
            if ps.get("mentions") is None:  # a model without the mention layer
                continue
            gold_tags, layer = outermost_tags(gs), ps.get("mentions_layer")
            out.setdefault("mentions_layer", ChunkMetric()).update(layer or ps.get("mentions"), gold_tags)
            if layer is not None:
                out.setdefault("mentions_by_clusters", ChunkMetric()).update(ps.get("mentions"), gold_tags)
        add_document(out, [c["mentions"] for c in g.get("clusters")], [c["mentions"] for c in p.get("clusters") or []])
    return out


def add_document(metrics: dict, key: list, response: list) -> None:
    """Add one document's gold (``key``) and predicted (``response``) entities, each a list of mentions (pairs), to
    the :func:`metric` ``metrics``."""
    key = [[tuple(m) for m in mentions] for mentions in key]
    response = [[tuple(m) for m in mentions] for mentions in response]
    metrics["coref"].update(key, response)
    metrics["coref_singletons"].update(key, response)
    metrics["coref_mentions"].update({m for c in response for m in c}, {m for c in key for m in c})


def rows(name: str, m) -> list:
    if name in ("coref_mentions", "mentions_layer", "mentions_by_clusters"):
        v = m.values
        title = {"coref_mentions": "mention detection", "mentions_layer": "typed mentions (mention layer)",
                 "mentions_by_clusters": "typed mentions (cluster types)"}[name]
        return [(title, v["precision"], v["recall"], v["f1"])]
    v, which = m.values, "without singletons" if name == "coref" else "with singletons"
    return [(f"CoNLL F1 {which}", None, None, v["conll_f1"])] + [
        (f"  {metric}", v[metric]["precision"], v[metric]["recall"], v[metric]["f1"])
        for metric in ("muc", "bcub", "ceafe", "lea")]


def bracket_column(sentence) -> list[str]:
    """Each word's Entity brackets of the sentence's predicted mentions (``extra["coref"]``), ``_`` for none."""
    return ["".join(b) or "_" for b in word_brackets(len(sentence), sentence.get("coref") or [])]


def json_mentions(sentence) -> dict:
    """``{"coref": [[start, end, entity, type], ...]}``: the sentence's mentions (word offsets in the sentence, end
    exclusive), ``entity`` the number of its cluster in the document (from 1: ``clusters[entity - 1]``)."""
    return {"coref": [[start, end, int(ident), kind] for start, end, ident, kind in sentence.get("coref") or []]}


#: a colour per cluster in the HTML view (cycled): light enough for black text, far enough apart to tell
PALETTE = ("#7aecec", "#feca74", "#aa9cfc", "#bfe1d9", "#ff9561", "#c887fb", "#9cc9cc", "#e4e7d2", "#ffeb80",
           "#bfeeb7", "#f0a3a3", "#a3c4f0")


def html_mentions(sentence) -> list:
    """The sentence's mentions labelled ``[entity] type``, each coloured by its cluster."""
    return [("coref", [(start, end, f"[{ident}] {kind}", PALETTE[(int(ident) - 1) % len(PALETTE)])
                   for start, end, ident, kind in sentence.get("coref") or []])]


KEY = "coref_clusters"  # doc.spans[f"{KEY}_{n}"] (cluster n, from 1) and doc._.coref_clusters


def doc_clusters(doc) -> list:
    """``doc._.coref_clusters``: the clusters of ``doc.spans["coref_clusters_1"]``, ``..._2``... in order, each a
    list of Spans labelled with the entity's type."""
    numbered = [(int(key[len(KEY) + 1:]), key) for key in doc.spans
                if key.startswith(KEY + "_") and key[len(KEY) + 1:].isdigit()]
    return [list(doc.spans[key]) for _, key in sorted(numbered)]


def char_clusters(doc) -> list[list[tuple[int, int]]]:
    """A Doc's clusters as character spans (tokenization-independent, to compare a prediction with a reference)."""
    return [[(span.start_char, span.end_char) for span in cluster] for cluster in doc_clusters(doc)]


class SpacyCoref:
    """``doc.spans["coref_clusters_N"]``, one SpanGroup per cluster (the keys spaCy's experimental coreference
    component used), its mentions labelled with the entity type, and ``doc._.coref_clusters``, the list of those
    clusters (read from ``doc.spans``, so it serializes with the Doc)."""

    def __init__(self):
        from spacy.tokens import Doc

        self.assigns = ["doc.spans", f"doc._.{KEY}"]
        parts = {"p": "precision", "r": "recall", "f": "f1"}
        # spaCy's score name -> where metrics.json's dev scores have it (percent)
        self.performance = {"coref_f": ("coref", "conll_f1"), "coref_singletons_f": ("coref_singletons", "conll_f1"),
                            **{f"coref_mentions_{k}": ("coref_mentions", v) for k, v in parts.items()}}
        self.score_weights = dict.fromkeys(self.performance) | {"coref_f": 0.2}
        if not Doc.has_extension(KEY):
            Doc.set_extension(KEY, getter=doc_clusters)

    def write(self, doc, parse, vocab) -> None:
        """The clusters of the sentences' mentions (``extra["coref"]``, entity numbers shared by the Doc's
        sentences), replacing those of an earlier run."""
        from spacy.tokens import Span

        for key in [key for key in doc.spans if key.startswith(KEY + "_")]:
            del doc.spans[key]
        clusters = {}
        for words, sentence in zip(parse.words, parse.sentences):
            for start, end, ident, kind in (sentence.get("coref") or []) if sentence is not None else ():
                clusters.setdefault(int(ident), []).append(Span(doc, words[start], words[end - 1] + 1, kind))
        for n, ident in enumerate(sorted(clusters), 1):
            doc.spans[f"{KEY}_{n}"] = clusters[ident]

    def score(self, examples, **kwargs) -> dict:
        """The CoNLL F1 without singletons (``coref_f``) and with them, and mention detection, over the examples
        whose reference has clusters (character spans compared); ``None`` values when none has."""
        metrics = metric([], [], None)
        for example in examples:
            key = char_clusters(example.reference)
            if key:
                add_document(metrics, key, char_clusters(example.predicted))
        return {name: metrics[group].values[value] / 100 if metrics["coref_mentions"].n_gold else None
                for name, (group, value) in self.performance.items()}


SPEC = TaskSpec(
    name="coref", title="coreference", data_key="coref", flag="coref", unit="document",
    read=lambda path, data: read_coref(path, data.skip_bad, data.coref_mentions == "gold"),
    options={"coref_mentions": ("predicted", "gold")},
    fields=("clusters",), labels=labels, head=head, gold=gold, predictions=predictions, metric=metric, rows=rows,
    needs=("mentions",), annotated=lambda document: document.get("clusters") is not None, join=join, inputs=inputs,
    spread=lambda document: spread_clusters(document, document.get("clusters") or [],
                                            document.get("cluster_typing") or 0.0),
    writers=Writers(conllu={"HIERARCHY:COREF": bracket_column}, json=json_mentions, spacy=SpacyCoref(),
                    html=html_mentions,
                    file=(".coref.conllu", lambda path, gold, predicted, data: write_coref(path, predicted))),
)
