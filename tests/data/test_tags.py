"""Re-encoding chunk tags between schemes (data.model_scheme: iobes)."""

import numpy as np
import pytest

from wintrain.data.tags import chunk_spans, recode, recode_tagset


@pytest.mark.parametrize(("tags", "source", "target", "expected"), [
    (["I-PER", "I-PER", "B-PER", "O"], "iob1", "iobes", ["B-PER", "E-PER", "S-PER", "O"]),
    (["B-PER", "E-PER", "S-PER", "O"], "iobes", "iob1", ["I-PER", "I-PER", "B-PER", "O"]),
    (["B-PER", "E-PER", "S-PER", "O"], "iobes", "iob2", ["B-PER", "I-PER", "B-PER", "O"]),
    (["I-ORG", "I-ORG", "I-ORG", "I-LOC"], "iob1", "iobes", ["B-ORG", "I-ORG", "E-ORG", "S-LOC"]),
    (["B-ORG", "I-ORG", "I-ORG", "B-LOC"], "iob1", "iob2", ["B-ORG", "I-ORG", "I-ORG", "B-LOC"]),
    (["B-LOC", "I-LOC", "O", "I-MISC"], "iob2", "iobes", ["B-LOC", "E-LOC", "O", "S-MISC"]),  # stray I- starts one
    (["B-LOC", "I-LOC", "S-LOC", "I-LOC"], "iobes", "iob1", ["I-LOC", "I-LOC", "B-LOC", "B-LOC"]),  # lenient read
    (["O", "-X-", "NOUN"], "iob1", "iobes", ["O", "-X-", "NOUN"]),  # tags outside chunks stay
    ([], "iob1", "iobes", []),
])
def test_recode_table(tags, source, target, expected):
    assert recode(tags, source, target) == expected


def test_recode_keeps_the_chunks_and_round_trips():
    rng = np.random.default_rng(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    for _ in range(500):
        sentence = [str(tag) for tag in rng.choice(tags, size=int(rng.integers(0, 12)))]
        for scheme in ("iob1", "iob2"):
            iobes = recode(sentence, scheme, "iobes")
            assert chunk_spans(iobes, "iobes") == chunk_spans(sentence, scheme)
            back = recode(iobes, "iobes", scheme)
            assert chunk_spans(back, scheme) == chunk_spans(sentence, scheme)
            assert recode(back, scheme, scheme) == back  # written the canonical way: stable


def test_recode_tagset_gives_every_type_all_prefixes():
    assert recode_tagset(["O", "I-PER", "B-LOC"], "iobes") == [
        "O", "B-LOC", "E-LOC", "I-LOC", "S-LOC", "B-PER", "E-PER", "I-PER", "S-PER"]
    assert recode_tagset(["O", "S-PER", "E-PER", "B-PER", "I-PER"], "iob1") == ["O", "B-PER", "I-PER"]


def test_the_iobes_table_recodes_whole_corpora_as_recode_does():
    from wintrain.data.tags import iobes_recode_table

    tags = ["O", "B-LOC", "E-LOC", "I-LOC", "S-LOC", "B-PER", "E-PER", "I-PER", "S-PER"]
    rng = np.random.default_rng(1)
    for target in ("iob1", "iob2"):
        targets, table = iobes_recode_table(tags, target)
        assert targets == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
        for _ in range(300):  # any sequence, well-formed or not (greedy decoding makes both)
            ids = rng.integers(0, len(tags), size=int(rng.integers(1, 10)))
            previous = np.concatenate([[len(tags)], ids[:-1]])
            assert [targets[i] for i in table[previous, ids]] == recode([tags[i] for i in ids], "iobes", target)
