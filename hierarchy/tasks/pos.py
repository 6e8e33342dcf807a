"""Part-of-speech tags: UPOS and XPOS from CoNLL-U, two classifiers on one layer (JMT's first layer)."""
from hierarchy.tasks.spec import TaskSpec, Writers, label_strings, read_ud, token_gold, token_labels, write_ud
from hierarchy.tasks.tagging import accuracy_metric, accuracy_rows, tagging_head

FIELDS = ("upos", "xpos")


class SpacyPOS:
    """``token.pos_`` (UPOS; a tag spaCy does not know becomes ``X``) and ``token.tag_`` (XPOS); whitespace
    tokens get ``SPACE`` and ``_SP``."""

    assigns = ["token.pos", "token.tag"]
    score_weights = {"pos_acc": 0.1, "tag_acc": 0.1}
    performance = {"pos_acc": ("upos", "acc"), "tag_acc": ("xpos", "acc")}  # where metrics.json has them

    def write(self, doc, parse, vocab) -> None:
        from spacy.attrs import POS, TAG
        from spacy.parts_of_speech import IDS

        n = len(doc)
        pos, tags = [IDS["SPACE"]] * n, [vocab.strings.add("_SP")] * n
        for words, sentence in zip(parse.words, parse.sentences):
            for j, i in enumerate(words):
                pos[i], tags[i] = IDS.get(sentence.upos[j], IDS["X"]), vocab.strings.add(sentence.xpos[j])
        parse.set_columns([POS, TAG], [pos, tags])

    def score(self, examples, **kwargs) -> dict:
        from spacy.scorer import Scorer

        return Scorer.score_token_attr(examples, "pos", **kwargs) | Scorer.score_token_attr(examples, "tag", **kwargs)


SPEC = TaskSpec(
    name="pos", title="POS", data_key="pos", flag="conllu",
    read=read_ud,
    fields=FIELDS, labels=token_labels(FIELDS), head=tagging_head(FIELDS), gold=token_gold(FIELDS),
    predictions=label_strings(FIELDS), metric=accuracy_metric(FIELDS), rows=accuracy_rows,
    score=lambda metrics: metrics["upos"].score,
    writers=Writers(json=lambda s: {"upos": s.upos, "xpos": s.xpos}, spacy=SpacyPOS(), file=(".conllu", write_ud)),
)
