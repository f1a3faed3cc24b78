"""The error classifier on hand-made sentences: each kind, its types and its token range."""

from __future__ import annotations

import pytest

from wintrain.report.errors import TagError, classify, classify_chunks, classify_tokens, count_errors


def kinds(gold: list[str], predicted: list[str], scheme: str = "iob2") -> list[tuple[str, int, int, str | None,
                                                                                    str | None]]:
    found = classify([["w"] * len(gold)], [gold], [predicted], scheme)
    errors = found[0].errors if found else []
    return [(e.kind, e.start, e.end, e.gold, e.predicted) for e in errors]


def test_the_same_chunks_are_no_error_even_when_the_tags_differ():
    assert kinds(["B-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"]) == []
    # under iob1 "I-PER I-PER" and "B-PER I-PER" read as the same chunk
    assert kinds(["I-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"], "iob1") == []


def test_missed_and_spurious_chunks():
    assert kinds(["B-PER", "I-PER", "O", "O"], ["O", "O", "O", "B-LOC"]) == [
        ("missed", 0, 2, "PER", None),
        ("spurious", 3, 4, None, "LOC"),
    ]


def test_wrong_type_is_the_same_tokens_with_another_type():
    assert kinds(["O", "B-ORG", "I-ORG"], ["O", "B-LOC", "I-LOC"]) == [("wrong_type", 1, 3, "ORG", "LOC")]


def test_wrong_span_notes_both_types_and_covers_both_chunks():
    assert kinds(["B-ORG", "I-ORG", "I-ORG", "O"], ["O", "B-ORG", "I-ORG", "I-ORG"]) == [
        ("wrong_span", 0, 4, "ORG", "ORG"),
    ]
    assert kinds(["B-ORG", "I-ORG", "O"], ["B-LOC", "O", "O"]) == [("wrong_span", 0, 2, "ORG", "LOC")]


def test_one_gold_chunk_split_in_two_gives_one_wrong_span_per_overlapping_pair():
    errors = kinds(["B-LOC", "I-LOC", "I-LOC"], ["B-MISC", "B-LOC", "I-LOC"])
    assert errors == [("wrong_span", 0, 3, "LOC", "MISC"), ("wrong_span", 0, 3, "LOC", "LOC")]


def test_spans_are_read_in_the_scheme_given():
    # iobes: S-PER is one chunk, B-PER E-PER another
    assert kinds(["S-PER", "B-PER", "E-PER"], ["S-PER", "S-PER", "S-PER"], "iobes") == [
        ("wrong_span", 1, 3, "PER", "PER"), ("wrong_span", 1, 3, "PER", "PER"),
    ]
    # iob1: B- separates two touching chunks of one type
    assert kinds(["I-PER", "B-PER"], ["I-PER", "I-PER"], "iob1") == [
        ("wrong_span", 0, 2, "PER", "PER"), ("wrong_span", 0, 2, "PER", "PER"),
    ]


def test_chunk_spans_keep_their_own_ranges():
    (error,) = classify_chunks([(0, 3, "ORG")], [(1, 2, "ORG")])
    assert (error.gold_span, error.predicted_span, error.start, error.end) == ((0, 3), (1, 2), 0, 3)
    assert error.types == ("ORG",)
    (error,) = classify_chunks([(0, 1, "PER")], [(0, 1, "LOC")])
    assert error.types == ("PER", "LOC") and error.describe() == "wrong type: PER → LOC"


def test_flat_tags_give_one_wrong_tag_per_token():
    assert classify_tokens(["DET", "NOUN", "VERB"], ["DET", "PROPN", "NOUN"]) == [
        TagError("wrong_tag", 1, 2, "NOUN", "PROPN", (1, 2), (1, 2)),
        TagError("wrong_tag", 2, 3, "VERB", "NOUN", (2, 3), (2, 3)),
    ]
    assert kinds(["B-X", "O"], ["O", "O"], "flat") == [("wrong_tag", 0, 1, "B-X", "O")]


def test_classify_keeps_the_sentences_with_errors_in_corpus_order():
    tokens = [["Alice", "left"], ["Bob", "came"], ["Rome", "fell"]]
    gold = [["B-PER", "O"], ["B-PER", "O"], ["B-LOC", "O"]]
    predicted = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-LOC"]]
    found = classify(tokens, gold, predicted, "iob2")
    assert [sentence.index for sentence in found] == [1, 2]
    assert found[1].tokens == ["Rome", "fell"]
    assert found[1].gold_spans == [(0, 1, "LOC")] and found[1].predicted_spans == [(1, 2, "LOC")]
    by_kind, by_type = count_errors(found)
    assert dict(by_kind) == {"wrong_type": 1, "missed": 1, "spurious": 1}
    assert dict(by_type) == {"PER": 1, "LOC": 3}


def test_misaligned_sentences_are_an_error():
    with pytest.raises(ValueError, match="sentence 1"):
        classify([["a", "b"]], [["O", "O"]], [["O"]], "iob2")


@pytest.mark.parametrize(("error", "text"), [
    (TagError("missed", 0, 1, gold="PER"), "missed PER"),
    (TagError("spurious", 0, 1, predicted="LOC"), "spurious LOC"),
    (TagError("wrong_span", 0, 2, "ORG", "ORG"), "wrong span ORG"),
    (TagError("wrong_span", 0, 2, "ORG", "LOC"), "wrong span: ORG → LOC"),
    (TagError("wrong_tag", 0, 1, "NOUN", "VERB"), "wrong tag: NOUN → VERB"),
])
def test_descriptions(error, text):
    assert error.describe() == text
