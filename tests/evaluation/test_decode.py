"""Tests for wintrain.evaluation.decode: constraint tables, Viterbi against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from wintrain.data.tags import allowed_ends, allowed_transitions, infer_scheme
from wintrain.errors import WintrainError
from wintrain.evaluation.decode import best_allowed_path, constrained_decode, constraint_scores, decode_corpus


def count_invalid(tag_ids: np.ndarray, starts: np.ndarray, allowed: np.ndarray, allowed_end: np.ndarray) -> int:
    """Forbidden moves in a tagged corpus: transitions (from the start row too) plus endings."""
    tag_ids, starts = np.asarray(tag_ids, dtype=np.int64), np.asarray(starts, dtype=np.int64)
    nonempty = np.diff(starts) > 0
    previous = np.concatenate(([0], tag_ids[:-1]))
    previous[starts[:-1][nonempty]] = allowed.shape[0] - 1
    last_tokens = starts[1:][nonempty] - 1
    return int(np.count_nonzero(~allowed[previous, tag_ids]) + np.count_nonzero(~allowed_end[tag_ids[last_tokens]]))


def allowed_pairs(tags: list[str], scheme: str) -> set[tuple[str, str]]:
    """The allowed (previous, next) moves by name, previous "^" = sentence start."""
    table = allowed_transitions(tags, scheme)
    names = tags + ["^"]
    return {(names[i], tags[j]) for i, j in zip(*np.nonzero(table))}


def brute_force_best(scores: np.ndarray, allowed: np.ndarray, allowed_end: np.ndarray) -> float | None:
    """max Σ_t scores[t, y_t] over every valid path y (None when no path is valid)."""
    n, c = scores.shape
    best = None
    for path in itertools.product(range(c), repeat=n):
        previous = [c] + list(path[:-1])
        if all(allowed[p, y] for p, y in zip(previous, path)) and allowed_end[path[-1]]:
            total = float(sum(scores[t, y] for t, y in enumerate(path)))
            best = total if best is None else max(best, total)
    return best


def path_score(scores: np.ndarray, path: np.ndarray) -> float:
    return float(scores[np.arange(len(path)), path].sum())


# --------------------------------------------------------------------------- constraint tables

IOB = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_iob2_forbids_i_without_b_or_i_of_its_type():
    pairs = allowed_pairs(IOB, "iob2")
    for forbidden in [("^", "I-PER"), ("O", "I-PER"), ("B-LOC", "I-PER"), ("I-LOC", "I-PER")]:
        assert forbidden not in pairs
    for ok in [("^", "B-PER"), ("O", "B-PER"), ("B-PER", "I-PER"), ("I-PER", "I-PER"), ("I-PER", "B-PER"),
               ("B-PER", "B-LOC"), ("I-PER", "O"), ("^", "O")]:
        assert ok in pairs
    assert allowed_ends(IOB, "iob2").all()


def test_iob1_allows_i_starts_and_b_only_after_the_same_type():
    pairs = allowed_pairs(IOB, "iob1")
    for ok in [("^", "I-PER"), ("O", "I-PER"), ("I-LOC", "I-PER"), ("B-LOC", "I-PER"),
               ("I-PER", "B-PER"), ("B-PER", "B-PER")]:
        assert ok in pairs
    for forbidden in [("^", "B-PER"), ("O", "B-PER"), ("I-LOC", "B-PER"), ("B-LOC", "B-PER")]:
        assert forbidden not in pairs
    assert allowed_ends(IOB, "iob1").all()


IOBES = ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "E-Y"]


def test_iobes_inside_tags_must_continue_their_entity():
    pairs = allowed_pairs(IOBES, "iobes")
    for previous in ["B-X", "I-X"]:
        assert {tag for p, tag in pairs if p == previous} == {"I-X", "E-X"}
    assert {tag for p, tag in pairs if p == "B-Y"} == {"E-Y"}


def test_iobes_outside_tags_are_followed_by_b_s_or_o():
    pairs = allowed_pairs(IOBES, "iobes")
    for previous in ["E-X", "S-X", "O", "E-Y", "^"]:
        assert {tag for p, tag in pairs if p == previous} == {"O", "B-X", "S-X", "B-Y"}


def test_iobes_sentence_cannot_end_inside_an_entity():
    ends = dict(zip(IOBES, allowed_ends(IOBES, "iobes").tolist()))
    assert ends == {"O": True, "B-X": False, "I-X": False, "E-X": True, "S-X": True, "B-Y": False, "E-Y": True}


def test_non_chunk_tags_act_as_o_and_bad_schemes_are_user_errors():
    assert allowed_transitions(["NN", "VB"], "iob2").all()
    assert allowed_transitions(["NN", "VB"], "iobes").all()
    with pytest.raises(WintrainError, match="iobes"):
        allowed_transitions(["O", "S-X"], "iob2")
    with pytest.raises(WintrainError, match="iob1, iob2, iobes"):
        allowed_ends(["O"], "bilou")


# --------------------------------------------------------------------------- Viterbi


def test_hand_built_greedy_o_then_i_per_becomes_b_per_i_per():
    tags = ["O", "B-PER", "I-PER"]
    probs = np.array([[0.5, 0.4, 0.1], [0.2, 0.1, 0.7]])
    log_probs = np.log(probs)
    assert [tags[i] for i in log_probs.argmax(axis=1)] == ["O", "I-PER"]  # invalid under IOB2
    # Valid paths: O O .10, O B .05, B O .08, B B .04, B I .28 (I first is forbidden).
    path = best_allowed_path(log_probs, allowed_transitions(tags, "iob2"), allowed_ends(tags, "iob2"))
    assert [tags[i] for i in path] == ["B-PER", "I-PER"]
    assert np.exp(path_score(log_probs, path)) == pytest.approx(0.28)


def test_hand_built_iobes_must_close_the_entity():
    tags = ["O", "B-X", "E-X", "S-X"]
    # Greedy: B-X O (unclosed).  Valid: S-X O = .35*.6 = .21 beats B-X E-X = .55*.3 = .165,
    # O O = .1*.6 = .06 and the paths through the zero probabilities.
    probs = np.array([[0.1, 0.55, 0.0, 0.35], [0.6, 0.1, 0.3, 0.0]]) + 1e-12
    path = best_allowed_path(np.log(probs), allowed_transitions(tags, "iobes"), allowed_ends(tags, "iobes"))
    assert [tags[i] for i in path] == ["S-X", "O"]


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_equals_exhaustive_search_on_random_small_cases(seed):
    rng = np.random.default_rng(seed)
    pools = {
        "iob1": ["O", "B-A", "I-A", "B-B", "I-B"],
        "iob2": ["O", "B-A", "I-A", "B-B", "I-B"],
        "iobes": ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "E-B", "S-B"],
    }
    for _ in range(60):
        scheme = str(rng.choice(list(pools)))
        n_tags = int(rng.integers(1, 6))
        tags = [str(t) for t in rng.choice(pools[scheme], size=n_tags, replace=False)]
        scores = rng.normal(size=(int(rng.integers(1, 5)), n_tags))
        allowed, allowed_end = allowed_transitions(tags, scheme), allowed_ends(tags, scheme)
        path = best_allowed_path(scores, allowed, allowed_end)
        best = brute_force_best(scores, allowed, allowed_end)
        if best is None:  # no valid path: greedy fallback
            np.testing.assert_array_equal(path, scores.argmax(axis=1))
        else:
            assert path_score(scores, path) == pytest.approx(best)
            assert count_invalid(path, np.array([0, len(path)]), allowed, allowed_end) == 0


def test_logits_and_log_probs_give_the_same_path():
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(6, 5)) * 3
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    allowed, ends = allowed_transitions(IOB, "iob2"), allowed_ends(IOB, "iob2")
    np.testing.assert_array_equal(best_allowed_path(logits, allowed, ends), best_allowed_path(log_probs, allowed, ends))


def test_empty_sentence():
    path = best_allowed_path(np.zeros((0, 5)), allowed_transitions(IOB, "iob2"), allowed_ends(IOB, "iob2"))
    assert path.shape == (0,)


# --------------------------------------------------------------------------- corpus


def test_decode_corpus_equals_viterbi_per_sentence_and_repairs_greedy():
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 9, size=40)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    scores = rng.normal(size=(int(starts[-1]), len(IOBES))) * 2
    allowed, ends = allowed_transitions(IOBES, "iobes"), allowed_ends(IOBES, "iobes")
    decoded = decode_corpus(scores, starts, *constraint_scores(IOBES, "iobes"))
    for a, b in zip(starts[:-1], starts[1:]):
        np.testing.assert_array_equal(decoded[a:b], best_allowed_path(scores[a:b], allowed, ends))
    assert count_invalid(scores.argmax(axis=1), starts, allowed, ends) > 0
    assert count_invalid(decoded, starts, allowed, ends) == 0
    np.testing.assert_array_equal(constrained_decode(scores, starts, IOBES, "iobes"), decoded)


def test_count_invalid_counts_moves_and_endings():
    tags = ["O", "B-X", "I-X", "E-X"]
    allowed, ends = allowed_transitions(tags, "iobes"), allowed_ends(tags, "iobes")
    # Sentence 1: ^->I-X bad, I-X->E-X ok.  Sentence 2: ^->B-X ok, ends on B-X bad.
    ids = np.array([2, 3, 1])
    assert count_invalid(ids, np.array([0, 2, 3]), allowed, ends) == 2


# --------------------------------------------------------------------------- infer_scheme


def test_infer_scheme():
    assert infer_scheme(["O", "B-X", "E-X", "S-X"]) == "iobes"
    assert infer_scheme(["O", "I-X", "I-Y"]) == "iob1"
    assert infer_scheme(["O", "B-X", "I-X"]) == "iob2"
    assert infer_scheme(["NN", "VB"]) == "iob2"
    iob1_sentences = [["O", "I-X", "I-X"], ["I-Y", "B-Y", "O"]]
    assert infer_scheme(["O", "B-Y", "I-X", "I-Y"], iob1_sentences) == "iob1"
    # One stray I- start among IOB2 entities keeps iob2.
    mostly_iob2 = [["B-X", "I-X", "O"], ["O", "B-Y"], ["I-X", "O"], ["B-X"]]
    assert infer_scheme(["O", "B-X", "I-X", "B-Y"], mostly_iob2) == "iob2"


def test_learned_transitions_change_the_path_and_add_to_the_constraints():
    tags = ["O", "B-PER", "I-PER"]
    scores = np.log(np.array([[0.6, 0.4, 0.0001], [0.5, 0.0001, 0.49]]))
    starts = np.array([0, 2])
    assert constrained_decode(scores, starts, tags, "iob2").tolist() == [0, 0]
    # a learned bonus for B-PER → I-PER (and none elsewhere) makes "B-PER I-PER" the best allowed path
    transitions = np.zeros((3, 3))
    transitions[1, 2] = 1.0
    assert constrained_decode(scores, starts, tags, "iob2", transitions, np.zeros(3)).tolist() == [1, 2]
    # no learned score makes a forbidden move allowed: O → I-PER stays out however large its score
    transitions[0, 2] = 100.0
    assert constrained_decode(scores, starts, tags, "iob2", transitions, np.zeros(3)).tolist() == [1, 2]
    assert decode_corpus(scores, starts, transitions, np.zeros(3)).tolist() == [0, 2]  # unconstrained: it wins
