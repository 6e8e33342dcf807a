"""Every reader, fed mutated sample corpora (lines dropped, duplicated or swapped; columns dropped, duplicated or
swapped; bytes flipped, inserted or deleted), either reads the file or raises one CorpusError naming the file and
(where the problem is on a line) a line of it — never another exception (issue 14). A seeded generator: the same
mutations every run, and a failing case prints the seed that reproduces it."""
import random

import pytest
from conftest import SAMPLE

from hierarchy.io import read_conll05, read_conll2000, read_conllu, read_pairs, read_srl_conllu
from hierarchy.io.entities import read_mentions
from hierarchy.io.errors import CorpusError

READERS = {  # reader -> the sample file it is fuzzed from
    "conllu": (read_conllu, SAMPLE / "dev.conllu"),
    "conll2000": (read_conll2000, SAMPLE / "chunks-dev.txt"),
    "pairs": (read_pairs, SAMPLE / "pairs-dev.txt"),
    "srl-conllu": (read_srl_conllu, SAMPLE / "srl-dev.conllu"),
    "srl-conll05": (read_conll05, SAMPLE / "srl-spans.txt"),
    "mentions": (read_mentions, SAMPLE / "mentions-dev.conllu"),
}
CASES = 60  # per reader


def split_cells(line: bytes) -> tuple[list[bytes], bytes]:
    separator = b"\t" if b"\t" in line else b" "
    return line.split(separator), separator


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random edits of ``data``: of its lines, of a line's columns, or of its bytes."""
    for _ in range(rng.randint(1, 3)):
        lines = data.split(b"\n")
        k = rng.randrange(len(lines))
        edit = rng.choice(["drop line", "duplicate line", "swap lines", "drop column", "duplicate column",
                           "swap columns", "flip byte", "insert byte", "delete byte", "blank cell"])
        if edit == "drop line":
            del lines[k]
        elif edit == "duplicate line":
            lines.insert(k, lines[k])
        elif edit == "swap lines":
            j = rng.randrange(len(lines))
            lines[k], lines[j] = lines[j], lines[k]
        elif edit in ("drop column", "duplicate column", "swap columns", "blank cell"):
            cells, separator = split_cells(lines[k])
            i, j = rng.randrange(len(cells)), rng.randrange(len(cells))
            if edit == "drop column":
                del cells[i]
            elif edit == "duplicate column":
                cells.insert(i, cells[i])
            elif edit == "swap columns":
                cells[i], cells[j] = cells[j], cells[i]
            else:
                cells[i] = rng.choice([b"", b"_", b" ", b"-1", b"99999", b"0", b"\xff", b"B-", b"I-X"])
            lines[k] = separator.join(cells)
        if edit.endswith("byte"):
            data = b"\n".join(lines)
            at = rng.randrange(max(len(data), 1))
            byte = bytes([rng.choice([0, 9, 10, 13, 32, 35, 45, 95, 0xC3, 0xEF, 0xFF, rng.randrange(256)])])
            data = data[:at] + byte + data[at + 1 :] if edit == "flip byte" else \
                data[:at] + byte + data[at:] if edit == "insert byte" else data[:at] + data[at + 1 :]
        else:
            data = b"\n".join(lines)
    return data


@pytest.mark.parametrize("name", READERS)
def test_a_mutated_corpus_reads_or_fails_with_a_clean_error(name, tmp_path):
    read, sample = READERS[name]
    original = sample.read_bytes()
    path = tmp_path / sample.name
    outcomes = {"read": 0, "error": 0}
    for seed in range(CASES):
        data = mutate(original, random.Random(f"{name}-{seed}"))
        path.write_bytes(data)
        n_lines = data.count(b"\n") + 1
        try:
            read(path)
            outcomes["read"] += 1
        except CorpusError as e:
            outcomes["error"] += 1
            message = str(e)
            assert message.startswith(str(path)), (seed, message)
            assert e.line is None or 1 <= e.line <= n_lines, (seed, message)
            assert "\n" not in message, (seed, message)
        except Exception as e:  # noqa: BLE001 - the point: nothing but CorpusError may escape
            pytest.fail(f"{name}, seed {seed}: {type(e).__name__}: {e}")
    assert outcomes["error"] > CASES // 4  # the mutations really break files...
    assert outcomes["read"] > 0 or name == "pairs"  # ...and some leave a readable one
