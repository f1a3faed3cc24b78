"""Tests for wintrain.evaluation.metrics.

Expected numbers are worked out by hand from the conlleval rules (tag split at the first
'-', endOfChunk/startOfChunk, the inCorrect bookkeeping, an uncounted O/O token after
every sentence); comments give the reasoning for the non-obvious ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from wintrain.data.tags import chunk_spans, is_chunk_tagset
from wintrain.errors import WintrainError
from wintrain.evaluation.metrics import PRF, ChunkScore, evaluate_tags, score_chunks, score_classes


def iobes_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """The IOBES chunks with inclusive ends, as the cases below are written."""
    return [(start, end - 1, kind) for start, end, kind in chunk_spans(tags, "iobes")]


def counts(score: ChunkScore) -> tuple[int, int, int, int]:
    """(tokens, gold chunks, found chunks, correct chunks)."""
    return score.tokens, score.gold_chunks, score.found_chunks, score.correct_chunks


# --------------------------------------------------------------------------- start rules


def test_i_after_o_starts_an_entity():
    gold = [["O", "I-PER", "I-PER", "O"]]
    assert counts(score_chunks(gold, gold)) == (4, 1, 1, 1)


def test_guessed_i_after_o_matches_gold_b():
    # O->I starts a chunk just like O->B, so I-PER I-PER matches B-PER I-PER.
    score = score_chunks([["O", "B-PER", "I-PER"]], [["O", "I-PER", "I-PER"]])
    assert counts(score) == (3, 1, 1, 1)
    assert score.accuracy == pytest.approx(2 / 3)


def test_i_of_other_type_after_b_starts_a_new_entity():
    # Gold B-PER I-LOC is two one-token chunks; the guess B-PER I-PER is one chunk that
    # ends later than gold's PER, so nothing is correct.
    score = score_chunks([["B-PER", "I-LOC"]], [["B-PER", "I-PER"]])
    assert counts(score) == (2, 2, 1, 0)
    assert score.per_type["LOC"].support == 1
    assert score.per_type["PER"].support == 1
    assert score.per_type["PER"].found == 1


def test_b_after_i_of_same_type_starts_a_new_entity():
    gold = [["B-PER", "I-PER", "B-PER"]]
    assert counts(score_chunks(gold, gold)) == (3, 2, 2, 2)
    merged = score_chunks(gold, [["B-PER", "I-PER", "I-PER"]])
    assert counts(merged) == (3, 2, 1, 0)


def test_b_after_b_of_same_type_starts_a_new_entity():
    gold = [["B-ORG", "B-ORG"]]
    assert counts(score_chunks(gold, gold)) == (2, 2, 2, 2)


def test_type_change_between_i_tags_ends_and_starts():
    # I-PER I-LOC: the type change ends PER and starts LOC although both are I.
    gold = [["I-PER", "I-LOC", "O"]]
    score = score_chunks(gold, gold)
    assert counts(score) == (3, 2, 2, 2)
    assert list(score.per_type) == ["LOC", "PER"]


def test_type_is_everything_after_the_first_dash():
    gold = [["B-GPE-LOC", "I-GPE-LOC", "O"]]
    score = score_chunks(gold, gold)
    assert counts(score) == (3, 1, 1, 1)
    assert list(score.per_type) == ["GPE-LOC"]


# --------------------------------------------------------------------------- wrong spans


def test_right_span_wrong_type_is_not_correct():
    score = score_chunks([["B-PER", "I-PER", "O"]], [["B-ORG", "I-ORG", "O"]])
    assert counts(score) == (3, 1, 1, 0)
    assert score.per_type["PER"] == PRF(0.0, 0.0, 0.0, support=1, found=0, correct=0)
    assert score.per_type["ORG"] == PRF(0.0, 0.0, 0.0, support=0, found=1, correct=0)


def test_right_start_guess_ends_too_early():
    score = score_chunks([["B-LOC", "I-LOC", "O"]], [["B-LOC", "O", "O"]])
    assert counts(score) == (3, 1, 1, 0)


def test_right_start_guess_ends_too_late():
    score = score_chunks([["B-LOC", "O", "O"]], [["B-LOC", "I-LOC", "O"]])
    assert counts(score) == (3, 1, 1, 0)


def test_type_switch_inside_guess_breaks_the_match():
    # The guess splits into PER + LOC; the gold PER chunk is two tokens long.
    score = score_chunks([["B-PER", "I-PER"]], [["B-PER", "I-LOC"]])
    assert counts(score) == (2, 1, 2, 0)


# --------------------------------------------------------------------------- boundaries


def test_entity_at_end_of_input_is_flushed():
    gold = [["O", "B-PER"]]
    score = score_chunks(gold, gold)
    assert counts(score) == (2, 1, 1, 1)
    assert score.overall.f1 == 1.0


def test_entity_at_end_of_sentence_then_another_sentence():
    gold = [["O", "B-PER"], ["B-PER", "O"]]
    assert counts(score_chunks(gold, gold)) == (4, 2, 2, 2)


def test_sentence_boundary_splits_an_entity_continuing_with_i():
    # The boundary acts as an O token: I-PER->O ends the first chunk and O->I-PER starts a
    # second one, so gold holds two PER chunks.
    gold = [["B-PER", "I-PER"], ["I-PER", "O"]]
    assert counts(score_chunks(gold, gold)) == (4, 2, 2, 2)
    score = score_chunks(gold, [["B-PER", "I-PER"], ["O", "O"]])
    assert counts(score) == (4, 2, 1, 1)
    assert score.overall.precision == 1.0
    assert score.overall.recall == 0.5
    assert score.overall.f1 == pytest.approx(2 / 3)


def test_tokens_exclude_sentence_boundaries_and_empty_sentences():
    gold = [["O", "B-X"], [], ["O"]]
    score = score_chunks(gold, gold)
    assert score.tokens == 3
    assert score.correct_tokens == 3
    assert score.accuracy == 1.0


def test_empty_input():
    for gold in ([], [[]]):
        score = score_chunks(gold, gold)
        assert counts(score) == (0, 0, 0, 0)
        assert score.accuracy == 0.0
        assert score.overall == PRF(0.0, 0.0, 0.0, support=0, found=0, correct=0)
        assert score.per_type == {}


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        score_chunks([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError):
        score_chunks([["O", "B-X"]], [["O"]])
    with pytest.raises(ValueError):
        score_classes([["NN"]], [["NN", "VB"]])


# --------------------------------------------------------------------------- IOBES / IOE


def test_iobes_single_entities_separated_by_o():
    gold = [["S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "O"]]
    assert counts(score_chunks(gold, gold)) == (6, 2, 2, 2)


def test_adjacent_s_tags_of_same_type_form_one_chunk():
    # No rule mentions S: S-PER->S-PER neither ends nor starts a chunk (same type).
    score = score_chunks([["S-PER", "S-PER", "O"]], [["S-PER", "O", "O"]])
    assert counts(score) == (3, 1, 1, 0)
    assert counts(score_chunks([["S-PER", "S-LOC"]], [["S-PER", "S-LOC"]])) == (2, 2, 2, 2)


def test_b_after_e_of_same_type_continues_the_chunk():
    # E->B is not an end or start rule, so B-PER E-PER B-PER E-PER is a single chunk.
    gold = [["B-PER", "E-PER", "B-PER", "E-PER"]]
    assert counts(score_chunks(gold, gold)) == (4, 1, 1, 1)


def test_ioe_rules_e_e_and_e_i_and_o_e():
    # E->E and E->I end and start chunks; O->E starts one.
    gold = [["E-NP", "E-NP", "I-NP", "E-NP", "O", "E-NP"]]
    assert counts(score_chunks(gold, gold)) == (6, 4, 4, 4)


def test_brackets_are_one_token_chunks():
    # '[' and ']' always start a chunk and always end it at the next token; type is ''.
    gold = [["[", "O", "]"]]
    score = score_chunks(gold, gold)
    assert counts(score) == (3, 2, 2, 2)
    assert list(score.per_type) == [""]


def test_type_zero_is_falsy_in_perl_and_dropped():
    # conlleval's `$type ? $type : ""` turns the type "0" into "".
    score = score_chunks([["B-0", "O"]], [["B-0", "O"]])
    assert list(score.per_type) == [""]
    assert score.correct_chunks == 1


# --------------------------------------------------------------------------- numbers


def test_hand_computed_precision_recall_f1_and_per_type():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "O", "B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC", "B-MISC", "O", "B-ORG", "I-ORG"]]
    # gold: PER LOC ORG (3); found: PER LOC MISC ORG (4); correct: PER LOC (2);
    # ORG has the right start but ends one token late.
    score = score_chunks(gold, pred)
    assert counts(score) == (8, 3, 4, 2)
    assert score.overall.precision == pytest.approx(0.5)
    assert score.overall.recall == pytest.approx(0.6667, abs=1e-4)
    assert score.overall.f1 == pytest.approx(0.5714, abs=1e-4)
    assert score.correct_tokens == 6
    assert score.accuracy == pytest.approx(0.75)

    assert list(score.per_type) == ["LOC", "MISC", "ORG", "PER"]
    assert score.per_type["PER"] == PRF(1.0, 1.0, 1.0, support=1, found=1, correct=1)
    assert score.per_type["LOC"] == PRF(1.0, 1.0, 1.0, support=1, found=1, correct=1)
    # MISC is only ever predicted: precision 0/1, recall 0 (no gold), F1 0.
    assert score.per_type["MISC"] == PRF(0.0, 0.0, 0.0, support=0, found=1, correct=0)
    assert score.per_type["ORG"] == PRF(0.0, 0.0, 0.0, support=1, found=1, correct=0)


def test_prf_from_counts_zero_denominators():
    assert PRF.from_counts(0, 0, 0) == PRF(0.0, 0.0, 0.0, support=0, found=0, correct=0)
    only_gold = PRF.from_counts(0, 0, 5)
    assert (only_gold.precision, only_gold.recall, only_gold.f1) == (0.0, 0.0, 0.0)
    assert PRF.from_counts(1, 4, 1).f1 == pytest.approx(2 * 0.25 * 1.0 / 1.25)


# --------------------------------------------------------------------------- tag sets


def test_is_chunk_tagset():
    assert is_chunk_tagset(["O", "B-PER"])
    assert is_chunk_tagset(["I-NP"])
    assert is_chunk_tagset(["E-X"])
    assert is_chunk_tagset(["S-LOC", "O"])
    assert not is_chunk_tagset(["NN", "VB", "DT", "O"])
    assert not is_chunk_tagset(["-LRB-", "B", "I"])
    assert not is_chunk_tagset(["X-Y"])
    assert not is_chunk_tagset([])


# --------------------------------------------------------------------------- flat classes


def test_score_classes_hand_computed_macro():
    gold = [["DT", "NN", "VB"], ["DT", "NN"]]
    pred = [["DT", "VB", "VB"], ["DT", "NN"]]
    # DT: 2/2 found, 2 gold -> P=R=F1=1
    # NN: correct 1, found 1, gold 2 -> P=1, R=0.5, F1=2/3
    # VB: correct 1, found 2, gold 1 -> P=0.5, R=1, F1=2/3
    score = score_classes(gold, pred)
    assert score.tokens == 5
    assert score.accuracy == pytest.approx(0.8)
    assert list(score.per_class) == ["DT", "NN", "VB"]
    assert score.per_class["NN"].f1 == pytest.approx(2 / 3)
    assert score.per_class["VB"].precision == pytest.approx(0.5)
    assert score.macro.precision == pytest.approx(2.5 / 3)
    assert score.macro.recall == pytest.approx(2.5 / 3)
    assert score.macro.f1 == pytest.approx(7 / 9)  # 0.7778
    assert (score.micro.precision, score.micro.recall, score.micro.f1) == pytest.approx(
        (0.8, 0.8, 0.8)
    )


def test_score_classes_class_only_predicted_counts_in_macro():
    # JJ never occurs in gold: it gets F1 0 and drags the macro mean to (1 + 2/3 + 0) / 3.
    score = score_classes([["NN", "NN", "DT"]], [["NN", "JJ", "DT"]])
    assert list(score.per_class) == ["DT", "JJ", "NN"]
    assert score.per_class["JJ"] == PRF(0.0, 0.0, 0.0, support=0, found=1, correct=0)
    assert score.macro.f1 == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_score_classes_empty():
    score = score_classes([], [])
    assert (score.tokens, score.accuracy, score.per_class) == (0, 0.0, {})
    assert score.macro.f1 == 0.0


# --------------------------------------------------------------------------- evaluate_tags


def test_evaluate_tags_chunk_report():
    gold = [["B-PER", "I-PER", "O"], ["B-LOC"]]
    pred = [["B-PER", "I-PER", "O"], ["B-ORG"]]
    report = evaluate_tags(gold, pred)
    json.dumps(report)
    assert report["tokens"] == 4
    assert report["accuracy"] == pytest.approx(0.75)
    entity = report["entity"]
    assert (entity["gold"], entity["found"], entity["correct"]) == (2, 2, 1)
    assert entity["precision"] == pytest.approx(0.5)
    assert entity["recall"] == pytest.approx(0.5)
    assert entity["f1"] == pytest.approx(0.5)
    assert list(entity["per_type"]) == ["LOC", "ORG", "PER"]
    assert entity["per_type"]["ORG"] == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "found": 1, "correct": 0, "gold": 0
    }
    assert "per_class" not in report


def test_evaluate_tags_class_report():
    gold = [["DT", "NN", "VB"], ["DT", "NN"]]
    pred = [["DT", "VB", "VB"], ["DT", "NN"]]
    report = evaluate_tags(gold, pred)
    json.dumps(report)
    assert report["tokens"] == 5
    assert report["accuracy"] == pytest.approx(0.8)
    assert report["macro_f1"] == pytest.approx(7 / 9)
    assert report["per_class"]["NN"]["gold"] == 2
    assert report["per_class"]["VB"]["found"] == 2
    assert "entity" not in report


# --------------------------------------------------------------------------- scheme="iobes"


def iobes(gold, pred=None):
    return counts(score_chunks(gold, gold if pred is None else pred, scheme="iobes"))


def test_iobes_s_is_a_one_token_entity_and_adjacent_s_tags_are_separate():
    assert iobes_spans(["S-PER", "S-PER", "O", "S-LOC"]) == [(0, 0, "PER"), (1, 1, "PER"), (3, 3, "LOC")]
    # conlleval merges S-PER S-PER into one chunk; iobes keeps two.
    assert iobes([["S-PER", "S-PER", "O"]]) == (3, 2, 2, 2)
    assert iobes([["S-PER", "S-PER", "O"]], [["S-PER", "O", "O"]]) == (3, 2, 1, 1)


def test_iobes_b_i_e_is_one_entity():
    assert iobes_spans(["O", "B-LOC", "I-LOC", "I-LOC", "E-LOC", "O"]) == [(1, 4, "LOC")]
    assert iobes_spans(["B-LOC", "E-LOC"]) == [(0, 1, "LOC")]


def test_iobes_b_after_e_of_same_type_starts_a_new_entity():
    # conlleval has no E->B rule and counts one chunk here; iobes counts two.
    gold = [["B-PER", "E-PER", "B-PER", "E-PER"]]
    assert iobes_spans(gold[0]) == [(0, 1, "PER"), (2, 3, "PER")]
    assert iobes(gold) == (4, 2, 2, 2)


def test_iobes_e_and_s_end_a_chunk_even_before_a_continuation_tag():
    # After E-X or S-X nothing is open, so a following I-X / E-X starts a new entity.
    assert iobes_spans(["B-X", "E-X", "I-X", "E-X"]) == [(0, 1, "X"), (2, 3, "X")]
    assert iobes_spans(["S-X", "I-X"]) == [(0, 0, "X"), (1, 1, "X")]
    assert iobes_spans(["E-X", "E-X"]) == [(0, 0, "X"), (1, 1, "X")]


def test_iobes_b_and_s_start_a_chunk_inside_an_open_one():
    # B-X / S-X never continue: the open chunk ends at the token before.
    assert iobes_spans(["B-X", "I-X", "B-X", "E-X"]) == [(0, 1, "X"), (2, 3, "X")]
    assert iobes_spans(["B-X", "I-X", "S-X"]) == [(0, 1, "X"), (2, 2, "X")]
    assert iobes_spans(["B-X", "B-X"]) == [(0, 0, "X"), (1, 1, "X")]


def test_iobes_lenient_i_or_e_without_b_starts_an_entity():
    assert iobes_spans(["O", "I-PER", "I-PER", "O"]) == [(1, 2, "PER")]
    assert iobes_spans(["O", "E-PER"]) == [(1, 1, "PER")]
    assert iobes_spans(["I-PER", "E-PER"]) == [(0, 1, "PER")]


def test_iobes_lenient_unfinished_entity_ends_before_o_or_sentence_end():
    assert iobes_spans(["B-PER", "O"]) == [(0, 0, "PER")]
    assert iobes_spans(["B-PER", "I-PER"]) == [(0, 1, "PER")]
    # The sentence boundary ends an entity: the next sentence's I-PER is a new one.
    assert iobes([["B-PER", "I-PER"], ["I-PER", "E-PER"]]) == (4, 2, 2, 2)


def test_iobes_type_change_ends_and_starts():
    assert iobes_spans(["B-PER", "I-LOC", "E-LOC"]) == [(0, 0, "PER"), (1, 2, "LOC")]
    assert iobes_spans(["B-PER", "E-LOC"]) == [(0, 0, "PER"), (1, 1, "LOC")]


def test_iobes_non_chunk_tags_are_outside():
    assert iobes_spans(["X", "B-GPE-LOC", "E-GPE-LOC", "-LRB-"]) == [(1, 2, "GPE-LOC")]
    assert iobes_spans([]) == []


def test_iobes_scores_by_exact_span_and_type():
    gold = [["S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "O", "B-ORG", "E-ORG"]]
    pred = [["S-PER", "O", "B-LOC", "E-LOC", "O", "O", "B-MISC", "E-MISC"]]
    # gold PER LOC ORG; found PER LOC MISC; only PER is correct (LOC ends early, ORG/MISC type).
    score = score_chunks(gold, pred, scheme="iobes")
    assert counts(score) == (8, 3, 3, 1)
    assert score.correct_tokens == 4
    assert list(score.per_type) == ["LOC", "MISC", "ORG", "PER"]
    assert score.per_type["PER"] == PRF(1.0, 1.0, 1.0, support=1, found=1, correct=1)
    assert score.per_type["MISC"] == PRF(0.0, 0.0, 0.0, support=0, found=1, correct=0)
    assert score.overall.f1 == pytest.approx(1 / 3)


def iob2_to_iobes(tags: list[str]) -> list[str]:
    out = []
    for position, tag in enumerate(tags):
        following = tags[position + 1] if position + 1 < len(tags) else "O"
        last = following != "I-" + tag[2:]
        if tag.startswith("B-"):
            out.append(("S-" if last else "B-") + tag[2:])
        elif tag.startswith("I-"):
            out.append(("E-" if last else "I-") + tag[2:])
        else:
            out.append(tag)
    return out


def random_iob2(rng: np.random.Generator, length: int) -> list[str]:
    tags, previous = [], "O"
    for _ in range(length):
        choices = ["O", "B-A", "B-B"] + ([previous.replace("B-", "I-")] if previous != "O" else [])
        previous = str(rng.choice(choices))
        tags.append(previous)
    return tags


def test_iobes_scores_equal_conlleval_scores_of_the_same_iob2_spans():
    rng = np.random.default_rng(0)
    for _ in range(200):
        gold = [random_iob2(rng, int(rng.integers(0, 7))) for _ in range(3)]
        pred = [random_iob2(rng, len(sentence)) for sentence in gold]
        expected = score_chunks(gold, pred)
        got = score_chunks([iob2_to_iobes(s) for s in gold], [iob2_to_iobes(s) for s in pred], scheme="iobes")
        assert counts(got)[1:] == counts(expected)[1:]
        assert got.per_type == expected.per_type


def test_iob1_and_iob2_schemes_are_conlleval():
    gold, pred = [["B-PER", "I-PER", "O", "S-X", "S-X"]], [["I-PER", "I-PER", "O", "S-X", "O"]]
    expected = score_chunks(gold, pred)
    assert score_chunks(gold, pred, "iob1") == expected == score_chunks(gold, pred, "iob2")


def test_unknown_scheme_is_a_user_error():
    with pytest.raises(WintrainError, match="iobes"):
        score_chunks([["O"]], [["O"]], scheme="bilou")


def test_evaluate_tags_passes_the_scheme_through():
    gold = [["S-PER", "S-PER", "O"]]
    assert evaluate_tags(gold, gold)["entity"]["gold"] == 1
    assert evaluate_tags(gold, gold, scheme="iobes")["entity"]["gold"] == 2
