"""Tests for wintrain.evaluation.ud_scores.

The hand-made cases have counts worked out by hand from the CoNLL 2018 definitions (comments give
the reasoning for the non-obvious ones).  The rest compare every count with the official script
(``../shared/tools/conll18_ud_eval.py``, skipped when absent): on random small documents built to hit
the multiword-region rules, and on the UD English-EWT and French-Sequoia test files against damaged
copies of themselves and a whitespace tokenizer.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from wintrain.evaluation.ud_scores import (
    METRICS,
    MULTIWORD_METRIC,
    OFFICIAL_METRICS,
    UDDocument,
    UDScore,
    align_words,
    format_ud_table,
    parse_ud_document,
    score_ud,
    score_ud_files,
    universal_features,
)

from conftest import SHARED, error_of

OFFICIAL_SCRIPT = SHARED / "tools" / "conll18_ud_eval.py"
TREEBANKS = {
    "en_ewt": SHARED / "data" / "ud_en_ewt" / "conllu" / "test.conllu.gz",
    "fr_sequoia": SHARED / "data" / "ud_fr_sequoia" / "test.conllu.gz",
}


# --------------------------------------------------------------------------- building CoNLL-U


@dataclass
class Tok:
    """A token as written: its surface FORM and its words' [FORM, LEMMA, UPOS, XPOS, FEATS]."""

    surface: str
    words: list[list[str]] = field(default_factory=list)
    multiword: bool = False
    space_after: bool = True


def plain(form: str, lemma: str = "_", upos: str = "X", xpos: str = "_", feats: str = "_") -> Tok:
    return Tok(form, [[form, lemma, upos, xpos, feats]])


def multi(surface: str, *forms: str) -> Tok:
    return Tok(surface, [[form, "_", "X", "_", "_"] for form in forms], multiword=True)


def sentence(spec: str) -> list[Tok]:
    """Tokens from ``"Il parle du=de+le pain"``: ``surface=part+part`` is a multiword token."""
    tokens = []
    for item in spec.split():
        surface, _, parts = item.partition("=")
        tokens.append(multi(surface, *parts.split("+")) if parts else plain(surface))
    return tokens


def write_conllu(sentences: list[list[Tok]]) -> str:
    """CoNLL-U of ``sentences`` with placeholder heads (word 1 is the root, the others depend on it),
    which the official script needs to load a file."""
    lines = []
    for tokens in sentences:
        lines.append("# text = " + " ".join(token.surface for token in tokens))
        n_words = 0
        for token in tokens:
            misc = "_" if token.space_after else "SpaceAfter=No"
            if token.multiword:
                last = n_words + len(token.words)
                lines.append(f"{n_words + 1}-{last}\t{token.surface}\t_\t_\t_\t_\t_\t_\t_\t{misc}")
            for word in token.words:
                n_words += 1
                head, deprel = ("0", "root") if n_words == 1 else ("1", "dep")
                word_misc = "_" if token.multiword else misc
                lines.append("\t".join([str(n_words), *word, head, deprel, "_", word_misc]))
        lines.append("")
    return "\n".join(lines) + "\n"


def doc(*specs: str) -> str:
    """CoNLL-U of one sentence per spec (see :func:`sentence`)."""
    return write_conllu([sentence(spec) for spec in specs])


def read_sentences(text: str) -> list[list[Tok]]:
    """The tokens of a CoNLL-U file (comments and empty nodes dropped), to damage and write back."""
    sentences: list[list[Tok]] = []
    tokens: list[Tok] = []
    words_to_come = 0
    for line in text.split("\n"):
        if not line:
            if tokens:
                sentences.append(tokens)
                tokens = []
            continue
        fields = line.split("\t")
        if line.startswith("#") or "." in fields[0]:
            continue
        space_after = "SpaceAfter=No" not in fields[9]
        if "-" in fields[0]:
            first, last = map(int, fields[0].split("-"))
            tokens.append(Tok(fields[1], [], multiword=True, space_after=space_after))
            words_to_come = last - first + 1
        elif words_to_come:
            tokens[-1].words.append(fields[1:6])
            words_to_come -= 1
        else:
            tokens.append(Tok(fields[1], [fields[1:6]], space_after=space_after))
    return sentences


def counts(gold: str, system: str) -> dict[str, tuple[int, int, int]]:
    """(gold, system, correct) of every metric."""
    scores = score_ud(parse_ud_document(gold, "gold.conllu"), parse_ud_document(system, "system.conllu"))
    return {name: (score.gold, score.system, score.correct) for name, score in scores.items()}


# --------------------------------------------------------------------------- hand-made cases


def test_equal_files_score_everything_correct():
    text = doc("Il parle du=de+le pain .", "Il mange au=à+le café")
    found = counts(text, text)
    assert list(found) == list(METRICS)
    assert found["Tokens"] == (9, 9, 9)
    assert found["Sentences"] == (2, 2, 2)
    for name in ("Words", "UPOS", "XPOS", "UFeats", "AllTags", "Lemmas"):
        assert found[name] == (11, 11, 11)
    assert found[MULTIWORD_METRIC] == (2, 2, 2)


def test_a_token_split_in_two():
    found = counts(doc("I cannot go"), doc("I can not go"))
    assert found["Tokens"] == (3, 4, 2)
    assert found["Words"] == (3, 4, 2)
    assert found["Sentences"] == (1, 1, 1)


def test_two_tokens_merged():
    found = counts(doc("in New York today"), doc("in NewYork today"))
    assert found["Tokens"] == (4, 3, 2)
    assert found["Words"] == (4, 3, 2)


def test_a_moved_sentence_boundary_costs_both_sentences():
    gold = doc("A b .", "C d .")
    assert counts(gold, doc("A b", ". C d ."))["Sentences"] == (2, 2, 0)
    assert counts(gold, doc("A b . C d ."))["Sentences"] == (2, 1, 0)
    assert counts(gold, doc("A b .", "C", "d ."))["Sentences"] == (2, 3, 1)
    assert counts(gold, doc("A b", ". C d ."))["Tokens"] == (6, 6, 6)


def test_a_multiword_token_expanded_correctly():
    found = counts(doc("Il parle du=de+le pain"), doc("Il parle du=de+le pain"))
    assert found["Words"] == (5, 5, 5)
    assert found[MULTIWORD_METRIC] == (1, 1, 1)


def test_a_multiword_token_expanded_wrongly():
    # the surface token is right; the LCS of (de, le) and (du, le) aligns le only
    found = counts(doc("Il parle du=de+le pain"), doc("Il parle du=du+le pain"))
    assert found["Tokens"] == (4, 4, 4)
    assert found["Words"] == (5, 5, 4)
    assert found[MULTIWORD_METRIC] == (1, 1, 0)


def test_a_multiword_token_not_expanded():
    # du as one word: the region holds gold (de, le) and system (du), which share no form
    found = counts(doc("Il parle du=de+le pain"), doc("Il parle du pain"))
    assert found["Tokens"] == (4, 4, 4)
    assert found["Words"] == (5, 4, 3)
    assert found[MULTIWORD_METRIC] == (1, 0, 0)


def test_a_multiword_token_where_gold_has_none():
    found = counts(doc("Il parle du pain"), doc("Il parle du=de+le pain"))
    assert found["Words"] == (4, 5, 3)
    assert found[MULTIWORD_METRIC] == (0, 1, 0)


def test_a_multiword_token_with_the_right_words_over_the_wrong_span():
    found = counts(doc("du=de+le pain"), doc("dup=de+le ain"))
    assert found[MULTIWORD_METRIC] == (1, 1, 0)
    assert found["Words"] == (3, 3, 2)  # de and le align in the region; pain and ain do not


def test_multiword_words_compare_lowercased():
    found = counts(doc("Aux=À+les États"), doc("Aux=à+LES États"))
    assert found["Words"] == (3, 3, 3)
    assert found[MULTIWORD_METRIC] == (1, 1, 1)


# (gold, system, aligned words): multiword regions; overlapping multiword tokens extend a region and
# the LCS of the forms aligns within it
ALIGNMENT_CASES = [
    ("abc=a+b+c", "a b c", 3),
    ("a bc=b+c d", "a b c d", 4),
    ("abcd=a+b+c+d", "ab=a+b cd=c+d", 4),
    ("abc=a+b+c de=d+e", "a bcd=b+c+d e", 5),
    ("abcd", "a b c d", 0),
    ("abc d", "a b c d", 1),
    ("a bc d", "a b c d", 2),
    ("a bc=b+c d", "a b cd", 2),
    ("abc=a+BX+c def=d+EX+f", "ab=a+b cd=c+d ef=e+f", 4),
    ("ab=a+b cd=bc+d", "a bc d", 2),
    ("a bc=b+c d", "ab=AX+BX cd=CX+a", 1),
]


@pytest.mark.parametrize(("gold", "system", "aligned"), ALIGNMENT_CASES)
def test_word_alignment_in_multiword_regions(gold, system, aligned):
    found = counts(doc(gold), doc(system))
    assert found["Words"][2] == aligned


def test_tags_count_aligned_words_with_equal_values():
    gold = write_conllu(
        [
            [
                plain("The", "the", "DET", "DT", "Definite=Def|PronType=Art"),
                plain("big", "big", "ADJ", "JJ", "Degree=Pos"),
                plain("cats", "cat", "NOUN", "NNS", "Number=Plur"),
                plain("sat", "_", "VERB", "VBD", "Tense=Past|VerbForm=Fin"),
            ]
        ]
    )
    system = write_conllu(
        [
            [
                # features in another order: the same universal features
                plain("The", "the", "DET", "DT", "PronType=Art|Definite=Def"),
                # a language-specific feature (not universal) is ignored; the XPOS is wrong
                plain("big", "big", "ADJ", "JJR", "Degree=Pos|Typo=Yes"),
                # UPOS and the universal features wrong, the lemma wrong
                plain("cats", "cats", "VERB", "NNS", "Number=Sing"),
                # gold lemma _ counts as correct whatever the system says
                plain("sat", "sit", "VERB", "VBD", "Tense=Past|VerbForm=Fin"),
            ]
        ]
    )
    found = counts(gold, system)
    assert found["UPOS"] == (4, 4, 3)
    assert found["XPOS"] == (4, 4, 3)
    assert found["UFeats"] == (4, 4, 3)
    assert found["AllTags"] == (4, 4, 2)
    assert found["Lemmas"] == (4, 4, 3)


def test_tag_scores_use_word_counts_and_aligned_accuracy_uses_aligned_words():
    gold = write_conllu([[plain("New", upos="PROPN"), plain("York", upos="PROPN"), plain("is", upos="AUX")]])
    system = write_conllu([[plain("NewYork", upos="PROPN"), plain("is", upos="VERB")]])
    scores = score_ud(parse_ud_document(gold, "g"), parse_ud_document(system, "s"))
    upos = scores["UPOS"]
    assert (upos.gold, upos.system, upos.correct, upos.aligned) == (3, 2, 0, 1)
    assert upos.aligned_accuracy == 0.0
    assert scores["Words"].aligned is None and scores["Words"].aligned_accuracy is None
    assert scores["Words"].precision == pytest.approx(1 / 2)
    assert scores["Words"].recall == pytest.approx(1 / 3)
    assert scores["Words"].f1 == pytest.approx(2 / 5)


def test_a_form_containing_a_space_is_one_token_of_its_characters():
    gold = write_conllu([[plain("environ"), plain("20 000"), plain("euros")]])
    document = parse_ud_document(gold, "g")
    assert document.characters == "environ20000euros"
    assert document.token_spans.tolist() == [[0, 7], [7, 12], [12, 17]]
    assert counts(gold, write_conllu([[plain("environ"), plain("20000"), plain("euros")]]))["Tokens"] == (3, 3, 3)
    assert counts(gold, write_conllu([[plain("environ"), plain("20"), plain("000"), plain("euros")]]))["Tokens"] == (
        3,
        4,
        2,
    )


def test_whitespace_differences_only_score_100():
    gold = write_conllu([[plain("environ"), plain("20 000"), plain("euros")], sentence("New York")])
    # no space, a no-break space and a thin space (Zs) in FORMs; the surface of a token is unchanged
    system = write_conllu(
        [[plain("environ"), plain("20\u00a0000"), plain("eu ros")], [plain("New"), plain("Yo\u2009rk")]]
    )
    scores = score_ud(parse_ud_document(gold, "g"), parse_ud_document(system, "s"))
    assert all(score.f1 == 1.0 for score in scores.values() if score.gold)
    assert scores["Tokens"].correct == 5


def test_crlf_lines_read_as_lf():
    text = doc("Il parle du=de+le pain .", "Il mange")
    lf, crlf = parse_ud_document(text, "a"), parse_ud_document(text.replace("\n", "\r\n"), "b")
    assert crlf.characters == lf.characters
    assert crlf.token_spans.tolist() == lf.token_spans.tolist()
    assert crlf.sentence_spans.tolist() == lf.sentence_spans.tolist()
    assert crlf.forms == lf.forms and crlf.ufeats == lf.ufeats


def test_comments_empty_nodes_and_extra_blank_lines_are_skipped():
    text = (
        "# sent_id = 1\n# text = a b\n1\ta\t_\tX\t_\t_\t0\troot\t_\t_\n1.1\tgone\t_\tX\t_\t_\t_\t_\t_\t_\n"
        "2\tb\t_\tX\t_\t_\t1\tdep\t_\t_\n\n\n  \n# sent_id = 2\n1\tc\t_\tX\t_\t_\t0\troot\t_\t_"
    )
    document = parse_ud_document(text, "g")
    assert document.characters == "abc"
    assert document.forms == ["a", "b", "c"]
    assert document.sentence_spans.tolist() == [[0, 2], [2, 3]]


def test_parsed_multiword_tokens():
    document = parse_ud_document(doc("Il parle du=de+le pain", "aux=à+les"), "g")
    assert document.token_spans.tolist() == [[0, 2], [2, 7], [7, 9], [9, 13], [13, 16]]
    assert document.word_spans.tolist() == [[0, 2], [2, 7], [7, 9], [7, 9], [9, 13], [13, 16], [13, 16]]
    assert document.in_multiword.tolist() == [False, False, True, True, False, True, True]
    assert document.multiword_spans.tolist() == [[7, 9], [13, 16]]
    assert document.multiword_words.tolist() == [[2, 4], [5, 7]]


def test_universal_features_keep_the_official_set_sorted():
    assert universal_features("Typo=Yes|Number=Sing|Gender=Masc|NumForm=Digit") == "Gender=Masc|Number=Sing"
    assert universal_features("_") == ""


def test_align_words_returns_index_pairs():
    gold, system = parse_ud_document(doc("a bc=b+c d"), "g"), parse_ud_document(doc("a b cd"), "s")
    gold_index, system_index = align_words(gold, system)
    assert gold_index.tolist() == [0, 1] and system_index.tolist() == [0, 1]


def test_different_text_is_one_line_naming_where():
    gold = parse_ud_document(doc("Il parle du=de+le pain ."), "gold.conllu")
    message = error_of(score_ud, gold, parse_ud_document(doc("Il parle du=de+le pin ."), "sys"))
    assert "character 10" in message
    assert "gold.conllu:" in message and "sys:" in message
    assert "'ain.'" in message and "'in.'" in message
    assert "tokenize" in message
    shorter = error_of(score_ud, gold, parse_ud_document(doc("Il parle"), "sys"))
    assert "character 7" in shorter and "the end of sys" in shorter


def word_line(word_id: str, form: str) -> str:
    return f"{word_id}\t{form}\t_\tX\t_\t_\t1\tdep\t_\t_\n"


def range_line(word_id: str, form: str) -> str:
    return f"{word_id}\t{form}\t_\t_\t_\t_\t_\t_\t_\t_\n"


ROOT = "1\ta\t_\tX\t_\t_\t0\troot\t_\t_\n"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (ROOT + "2 b _ X _ _ 1 dep _ _\n", 2, "10 TAB-separated fields"),
        (ROOT + "2\tb\t_\tX\n", 2, "got 4"),
        (ROOT + word_line("3", "b"), 2, "should be 2"),
        (ROOT + word_line("x", "b"), 2, "should be 2"),
        (ROOT + word_line("2", ""), 2, "FORM"),
        (ROOT + word_line("2", " "), 2, "FORM"),
        (ROOT + range_line("2-x", "du"), 2, "range"),
        (ROOT + range_line("3-4", "du"), 2, "range"),
        (ROOT + range_line("2-3", "du") + word_line("2", "de") + "\n", 4, "2-3"),
        (ROOT + range_line("2-3", "du") + word_line("2", "de") + word_line("4", "le"), 4, "2-3"),
        (ROOT + range_line("2-3", "du") + word_line("2", "de").rstrip("\n"), 3, "sentence ends"),
        (ROOT + "# a comment\n", 2, "comment"),
    ],
)
def test_malformed_input_names_file_and_line(text, line, says):
    message = error_of(parse_ud_document, text, "system.conllu")
    assert f"system.conllu:{line}:" in message
    assert says in message


def test_udscore_fractions_and_zero_denominators():
    score = UDScore(gold=4, system=5, correct=3, aligned=3)
    assert (score.precision, score.recall, score.f1, score.aligned_accuracy) == (0.6, 0.75, 2 * 3 / 9, 1.0)
    empty = UDScore(0, 0, 0, 0)
    assert (empty.precision, empty.recall, empty.f1, empty.aligned_accuracy) == (0.0, 0.0, 0.0, 0.0)
    assert UDScore(0, 0, 0).aligned_accuracy is None


def test_table_has_the_official_layout():
    scores = {"Tokens": UDScore(4, 5, 3), "UPOS": UDScore(4, 5, 2, 3)}
    assert format_ud_table(scores).split("\n") == [
        "Metric     | Precision |    Recall |  F1 Score | AligndAcc",
        "-----------+-----------+-----------+-----------+-----------",
        "Tokens     |     60.00 |     75.00 |     66.67 |",
        "UPOS       |     40.00 |     50.00 |     44.44 |     66.67",
    ]
    wide = format_ud_table({"Tokens": UDScore(1, 1, 1), MULTIWORD_METRIC: UDScore(2, 0, 0)}).split("\n")
    assert wide[0] == "Metric           | Precision |    Recall |  F1 Score | AligndAcc"
    assert wide[3] == "Multiword tokens |      0.00 |      0.00 |      0.00 |"
    assert len({line.index("|") for line in wide if "|" in line}) == 1


def test_score_files_reads_plain_and_gzip(tmp_path: Path):
    gold_text, system_text = doc("Il parle du=de+le pain ."), doc("Il parle du pain .")
    (tmp_path / "gold.conllu.gz").write_bytes(gzip.compress(gold_text.encode("utf-8")))
    (tmp_path / "system.conllu").write_text(system_text, encoding="utf-8")
    scores = score_ud_files(tmp_path / "gold.conllu.gz", tmp_path / "system.conllu")
    assert {name: (s.gold, s.system, s.correct) for name, s in scores.items()} == counts(gold_text, system_text)
    assert "no such file" in error_of(score_ud_files, tmp_path / "missing.conllu", tmp_path / "system.conllu")


def test_bad_line_in_a_file_names_the_path(tmp_path: Path):
    path = tmp_path / "system.conllu"
    path.write_text(ROOT + "2\tb\n", encoding="utf-8")
    assert f"{path}:2:" in error_of(score_ud_files, path, path)


# --------------------------------------------------------------------------- against the official script


@pytest.fixture(scope="module")
def official() -> ModuleType:
    if not OFFICIAL_SCRIPT.exists():
        pytest.skip(f"{OFFICIAL_SCRIPT} not present (../shared is only beside a development checkout)")
    spec = importlib.util.spec_from_file_location("conll18_ud_eval", OFFICIAL_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official_counts(official: ModuleType, gold: object, system_text: str) -> dict[str, tuple]:
    """(gold, system, correct, aligned) of the shared metrics by the official script; ``gold`` loaded."""
    evaluation = official.evaluate(gold, official.load_conllu(io.StringIO(system_text)))
    return {
        name: (evaluation[name].gold_total, evaluation[name].system_total, evaluation[name].correct,
               evaluation[name].aligned_total)
        for name in OFFICIAL_METRICS
    }  # fmt: skip


def our_counts(gold: UDDocument, system_text: str) -> dict[str, tuple]:
    scores = score_ud(gold, parse_ud_document(system_text, "system"))
    return {name: (s.gold, s.system, s.correct, s.aligned) for name, s in scores.items() if name in OFFICIAL_METRICS}


def assert_same_as_official(official: ModuleType, gold_text: str, system_text: str) -> None:
    expected = official_counts(official, official.load_conllu(io.StringIO(gold_text)), system_text)
    assert our_counts(parse_ud_document(gold_text, "gold"), system_text) == expected


ALPHABET = "aabbcA"
PART_FORMS = ["a", "b", "ab", "c", "A", "a b", "ba"]


def random_sentences(rng: np.random.Generator, characters: str, cut_after: np.ndarray) -> list[list[Tok]]:
    """``characters`` cut into tokens after the positions where ``cut_after`` is True, with random
    multiword tokens, spaces inside FORMs, tags and sentence ends."""
    bounds = [0, *(np.flatnonzero(cut_after[:-1]) + 1).tolist(), len(characters)]
    sentences: list[list[Tok]] = [[]]
    for start, end in zip(bounds[:-1], bounds[1:]):
        surface = characters[start:end]
        if len(surface) > 1 and rng.random() < 0.15:
            inside = int(rng.integers(1, len(surface)))
            surface = surface[:inside] + " " + surface[inside:]
        if rng.random() < 0.3:
            forms = [str(rng.choice(PART_FORMS)) for _ in range(int(rng.integers(1, 4)))]
            token = Tok(surface, [], multiword=True)
        else:
            forms = [surface]
            token = Tok(surface, [])
        for form in forms:
            token.words.append(
                [
                    form,
                    str(rng.choice(["_", "a", "b"])),
                    str(rng.choice(["X", "Y"])),
                    str(rng.choice(["_", "x"])),
                    str(rng.choice(["_", "Number=Sing", "Typo=Yes", "Number=Sing|Case=Nom", "Case=Nom|Number=Sing"])),
                ]
            )
        sentences[-1].append(token)
        if rng.random() < 0.2:
            sentences.append([])
    return [tokens for tokens in sentences if tokens]


def test_random_small_documents_score_as_the_official_script(official: ModuleType):
    rng = np.random.default_rng(2018)
    for _ in range(200):
        characters = "".join(rng.choice(list(ALPHABET), size=int(rng.integers(1, 25))))
        gold_cuts = rng.random(len(characters)) < 0.5
        flips = rng.random(len(characters)) < rng.choice([0.0, 0.1, 0.3, 1.0])
        gold = write_conllu(random_sentences(rng, characters, gold_cuts))
        system = write_conllu(random_sentences(rng, characters, gold_cuts ^ flips))
        assert_same_as_official(official, gold, system)


def test_hand_made_cases_score_as_the_official_script(official: ModuleType):
    cases = [(gold, system) for gold, system, _ in ALIGNMENT_CASES] + [
        ("Il parle du=de+le pain", "Il parle du pain"),
        ("Il parle du pain", "Il parle du=de+le pain"),
        ("Il parle du=de+le pain", "Il parle du=du+le pain"),
        ("Aux=À+les États", "Aux=à+LES États"),
    ]
    for gold, system in cases:
        assert_same_as_official(official, doc(gold), doc(system))


# damaged copies of a gold file: each function returns new sentences


def copied(sentences: list[list[Tok]]) -> list[list[Tok]]:
    return [
        [Tok(t.surface, [list(word) for word in t.words], t.multiword, t.space_after) for t in tokens]
        for tokens in sentences
    ]


def merge_tokens(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """Join some pairs of adjacent plain tokens into one token of one word."""
    damaged = []
    for tokens in sentences:
        merged: list[Tok] = []
        for token in tokens:
            previous = merged[-1] if merged else None
            if previous and not previous.multiword and not token.multiword and rng.random() < 0.08:
                surface = previous.surface + token.surface
                merged[-1] = Tok(surface, [[surface, *previous.words[0][1:]]], space_after=token.space_after)
            else:
                merged.append(token)
        damaged.append(merged)
    return damaged


def split_tokens(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """Cut some tokens (multiword ones too) into two plain tokens at a character."""
    damaged = []
    for tokens in sentences:
        pieces: list[Tok] = []
        for token in tokens:
            surface = token.surface
            if len(surface) > 1 and " " not in surface and rng.random() < 0.08:
                at = int(rng.integers(1, len(surface)))
                pieces += [plain(surface[:at], upos=token.words[0][2]), plain(surface[at:], upos=token.words[-1][2])]
                pieces[-1].space_after = token.space_after
            else:
                pieces.append(token)
        damaged.append(pieces)
    return damaged


def drop_expansions(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """Write most multiword tokens as one word of their surface form."""
    damaged = copied(sentences)
    for tokens in damaged:
        for index, token in enumerate(tokens):
            if token.multiword and rng.random() < 0.7:
                word = [token.surface, *token.words[0][1:]]
                tokens[index] = Tok(token.surface, [word], space_after=token.space_after)
    return damaged


def multiwords_as_tokens(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """Write the words of most multiword tokens whose forms spell the surface (don't = do + n't) as
    tokens of their own, as a tokenizer that splits clitics without multiword tokens does."""
    damaged = []
    for tokens in sentences:
        out: list[Tok] = []
        for token in tokens:
            if token.multiword and "".join(word[0] for word in token.words) == token.surface and rng.random() < 0.7:
                out += [Tok(word[0], [list(word)]) for word in token.words]
                out[-1].space_after = token.space_after
            else:
                out.append(token)
        damaged.append(out)
    return damaged


def change_multiword_forms(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """Change the words of multiword tokens: a form changed, uppercased, a word dropped or added, swapped."""
    damaged = copied(sentences)
    for tokens in damaged:
        for token in tokens:
            if not token.multiword:
                continue
            words = token.words
            change = int(rng.integers(0, 6))
            if change == 0:
                words[0][0] = words[0][0] + "x"
            elif change == 1:
                words[-1][0] = words[-1][0].upper()
            elif change == 2:
                del words[-1]
            elif change == 3:
                words.append(["y", "y", "X", "_", "_"])
            elif change == 4:
                words.reverse()
    return damaged


def make_multiwords(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """Expand some plain tokens into multiword tokens, and join some multiword tokens with a neighbour
    into one multiword token (regions that overlap gold multiword tokens)."""
    damaged = []
    for tokens in copied(sentences):
        out: list[Tok] = []
        for token in tokens:
            previous = out[-1] if out else None
            draw = rng.random()
            if previous and (previous.multiword or token.multiword) and draw < 0.3:
                out[-1] = Tok(previous.surface + token.surface, previous.words + token.words, True, token.space_after)
            elif not token.multiword and len(token.surface) > 1 and " " not in token.surface and draw < 0.1:
                at = int(rng.integers(1, len(token.surface)))
                words = [[token.surface[:at], "_", "X", "_", "_"], [token.surface[at:], "_", "X", "_", "_"]]
                out.append(Tok(token.surface, words, True, token.space_after))
            else:
                out.append(token)
        damaged.append(out)
    return damaged


def move_sentence_boundaries(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """Join some sentences with the next, cut others in two, move the last token of others to the next."""
    damaged = copied(sentences)
    out: list[list[Tok]] = []
    for tokens in damaged:
        draw = rng.random()
        if out and draw < 0.1:
            out[-1] = out[-1] + tokens
        elif len(tokens) > 2 and draw < 0.2:
            at = int(rng.integers(1, len(tokens)))
            out += [tokens[:at], tokens[at:]]
        elif out and len(out[-1]) > 1 and draw < 0.3:
            out[-1], tokens = out[-1][:-1], [out[-1][-1], *tokens]
            out.append(tokens)
        else:
            out.append(tokens)
    return out


def change_tags(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """Change some UPOS, XPOS, FEATS (universal or not, reordered) and LEMMA values."""
    damaged = copied(sentences)
    for tokens in damaged:
        for token in tokens:
            for word in token.words:
                _, lemma, upos, xpos, feats = word
                draw = rng.random(5)
                if draw[0] < 0.1:
                    word[2] = str(rng.choice(["NOUN", "VERB", "ADJ", "ADP", "DET", "X"]))
                if draw[1] < 0.1:
                    word[3] = xpos + "x"
                if draw[2] < 0.1:
                    word[4] = "Typo=Yes" if feats == "_" else feats + "|Typo=Yes"  # not universal: no change
                elif draw[2] < 0.2 and feats != "_":
                    word[4] = "|".join(reversed(feats.split("|")))  # the same features
                elif draw[2] < 0.3:
                    word[4] = "Polarity=Neg" if feats == "_" else "_"
                if draw[3] < 0.1:
                    word[1] = str(rng.choice(["_", lemma + "x", lemma.upper()]))
    return damaged


def everything(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    for damage in (change_tags, multiwords_as_tokens, merge_tokens, split_tokens, change_multiword_forms,
                   make_multiwords, drop_expansions, move_sentence_boundaries):  # fmt: skip
        sentences = damage(sentences, rng)
    return sentences


def whitespace_tokenizer(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    """The text cut at whitespace into one-word tokens, a sentence ending after a token ending in . ! or ?"""
    text = " ".join("".join(t.surface + (" " if t.space_after else "") for t in tokens) for tokens in sentences)
    out: list[list[Tok]] = [[]]
    for piece in text.split():
        out[-1].append(plain(piece, upos="NOUN"))
        if re.search(r"[.!?]$", piece):
            out.append([])
    return [tokens for tokens in out if tokens]


def unchanged(sentences: list[list[Tok]], rng: np.random.Generator) -> list[list[Tok]]:
    return sentences


SYSTEMS = [
    unchanged,
    merge_tokens,
    split_tokens,
    drop_expansions,
    multiwords_as_tokens,
    change_multiword_forms,
    make_multiwords,
    move_sentence_boundaries,
    change_tags,
    everything,
    whitespace_tokenizer,
]


@dataclass(frozen=True)
class Treebank:
    text: str
    official: object  # the official script's loading of text
    ours: UDDocument
    sentences: list[list[Tok]]


@pytest.fixture(scope="module")
def treebanks(official: ModuleType) -> dict[str, Treebank]:
    """Each test file read once."""
    loaded = {}
    for name, path in TREEBANKS.items():
        if not path.exists():
            pytest.skip(f"{path} not present (../shared is only beside a development checkout)")
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        ours = parse_ud_document(text, str(path))
        loaded[name] = Treebank(text, official.load_conllu(io.StringIO(text)), ours, read_sentences(text))
    return loaded


@pytest.mark.slow
@pytest.mark.parametrize("treebank", list(TREEBANKS))
def test_a_test_file_against_itself_scores_as_the_official_script(official, treebanks, treebank):
    gold = treebanks[treebank]
    assert our_counts(gold.ours, gold.text) == official_counts(official, gold.official, gold.text)
    assert all(score.f1 == 1.0 for score in score_ud(gold.ours, parse_ud_document(gold.text, "system")).values())


@pytest.mark.slow
@pytest.mark.parametrize("treebank", list(TREEBANKS))
@pytest.mark.parametrize("system", SYSTEMS, ids=lambda damage: damage.__name__)
def test_damaged_test_files_score_as_the_official_script(official, treebanks, treebank, system):
    gold = treebanks[treebank]
    system_text = write_conllu(system(gold.sentences, np.random.default_rng(7)))
    ours = our_counts(gold.ours, system_text)
    assert ours == official_counts(official, gold.official, system_text)
    f1s = [2 * correct / (n_gold + n_system) for n_gold, n_system, correct, _ in ours.values()]
    # a change shows in at least one metric (French has no multiword token spelled by its words)
    assert (min(f1s) == 1.0) == (system_text == write_conllu(gold.sentences))


@pytest.mark.slow
def test_table_rows_equal_the_official_table(official, treebanks):
    gold = treebanks["fr_sequoia"]
    system_text = write_conllu(everything(gold.sentences, np.random.default_rng(3)))
    evaluation = official.evaluate(gold.official, official.load_conllu(io.StringIO(system_text)))
    official_rows = official.build_evaluation_table(evaluation, True, False).split("\n")
    scores = score_ud(gold.ours, parse_ud_document(system_text, "system"))
    ours = format_ud_table({name: scores[name] for name in OFFICIAL_METRICS}).split("\n")
    assert ours == official_rows[: len(ours)]
    assert len(ours) == 2 + len(OFFICIAL_METRICS)
