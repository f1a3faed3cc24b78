"""Read, inspect and write back CoNLL-U (Universal Dependencies) corpora.

A CoNLL-U file holds one line per word with exactly 10 TAB-separated fields::

    ID  FORM  LEMMA  UPOS  XPOS  FEATS  HEAD  DEPREL  DEPS  MISC

Lines starting with ``#`` are comments (``# sent_id = 1``, ``# text = ...``) and a blank line
ends a sentence.  The ID field says what a line is:

* ``7``   -- a *syntactic word*: the unit that carries UPOS, XPOS, FEATS, HEAD and DEPREL.
  These are the tokens of the model: FORM is the token, one chosen field is its tag.
* ``3-4`` -- a *multiword token*: the surface form (``don't``) of the syntactic words 3 and 4
  (``do``, ``n't``) that follow it.  Skipped, because its words are already kept and it has
  no annotation of its own (its tag fields are ``_``); keeping it would count the text twice.
* ``8.1`` -- an *empty node* of the enhanced dependencies (an elided word).  Skipped, because
  it is not in the text: a tagger never sees it.

A FORM may contain spaces (CoNLL-U v2 allows it: French ``20 000``); it stays one token, with
its spaces.  A tag containing a space is refused with ``file:line`` (tags are single words).
HEAD, DEPS and the ID order are not checked: only the fields the tagger uses matter here.
CoNLL-X files (also 10 TAB-separated fields, integer IDs, no ranges) are read the same way.

Input is UTF-8 (a leading BOM is dropped), LF or CRLF, plain or gzip (``.gz`` suffix or gzip
magic bytes).  The file is decoded once and split into lines once; each line costs one
``str.split('\\t')``.  One parser (:func:`conllu_blocks`) serves :func:`read_conllu`,
:func:`conllu_forms`, :func:`replace_field` and the tokenizer data of :mod:`wintrain.data.ud`,
so they always agree on what a word is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wintrain.data.reader import Corpus, read_utf8, show_line
from wintrain.errors import WintrainError

TAG_FIELDS = {"upos": 3, "xpos": 4, "feats": 5, "deprel": 7, "misc": 9}

N_FIELDS = 10
FIELD_NAMES = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")
FORM_FIELD = 1
_LINES_TO_SNIFF = 20

_MULTIWORD_OR_EMPTY_NODE_ID = re.compile(r"[0-9]+-[0-9]+|[0-9]+\.[0-9]+")
# Comments the UD treebanks write: evidence of CoNLL-U even before the first word line.
_UD_COMMENT = re.compile(r"#\s*(sent_id\s*=|text\s*=|newdoc\b|newpar\b|global\.columns\s*=)")
# Characters a tag cannot hold: tagged output is written as ``token TAG`` lines.
_ASCII_BLANK = re.compile("[ \r\f\v]")

# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ConlluBlock:
    """One sentence of a CoNLL-U text as its lines fall into kinds (empty nodes are dropped).

    Lines are kept whole, line end removed, and known to hold 10 TAB-separated fields; a reader
    splits off only the fields it needs (:func:`field_of`).  Line indices count from 0.

    Attributes:
        comments: ``(line index, line)`` of its ``#`` comment lines.
        word_indices, word_lines: the line indices and lines of its syntactic words (integer IDs),
            in file order (two lists rather than one of pairs: a large file is read faster).
        ranges: ``(line index, line)`` of its multiword-token lines (ID ``a-b``), in file order.
    """

    comments: list[tuple[int, str]]
    word_indices: list[int]
    word_lines: list[str]
    ranges: list[tuple[int, str]]


def conllu_blocks(text: str, name: str, first_line: int = 1) -> Iterator[ConlluBlock]:
    """Yield the sentences of CoNLL-U ``text`` (blocks of lines between blank lines), in file order.

    A block without a syntactic word (only comments, ranges or empty nodes) yields nothing, so a
    run of blank lines makes no empty sentence.  Line indices count LF-terminated lines of
    ``text`` from 0; a CR before the LF is not part of the fields.  ``name`` (a path or
    ``<text>``) prefixes error messages, which number the lines of ``text`` from ``first_line`` (a chunk
    of a larger file starts further down).  Lines are checked by counting their TABs and reading
    their ID, not split: splitting all 10 fields of every line would cost more than the rest.

    Raises:
        WintrainError: a line that is not a comment, blank or 10 TAB-separated fields, or an ID
            that is not an integer, ``a-b`` or ``a.b`` (``name:line``).
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").removesuffix("\r")
    comments: list[tuple[int, str]] = []
    indices: list[int] = []
    words: list[str] = []
    ranges: list[tuple[int, str]] = []
    for index, line in enumerate(text.split("\n")):
        if line.startswith("#"):
            comments.append((index, line))
            continue
        n_tabs = line.count("\t")
        if n_tabs == N_FIELDS - 1:
            word_id = line[:line.find("\t")]
            if word_id.isdigit() and word_id.isascii():
                indices.append(index)
                words.append(line)
            elif _MULTIWORD_OR_EMPTY_NODE_ID.fullmatch(word_id) is None:
                raise _bad_id(name, index + first_line, line)
            elif "-" in word_id:
                ranges.append((index, line))
        elif not line or line.isspace():
            if words:
                yield ConlluBlock(comments, indices, words, ranges)
                indices, words = [], []
            comments, ranges = [], []
        else:
            raise _bad_field_count(name, index + first_line, line, n_tabs + 1)
    if words:
        yield ConlluBlock(comments, indices, words, ranges)


def field_of(line: str, column: int) -> str:
    """Field ``column`` (0-9) of a word line, splitting no more of the line than needed."""
    if column == N_FIELDS - 1:
        return line[line.rfind("\t") + 1:]
    return line.split("\t", column + 1)[column]


def _bad_field_count(name: str, number: int, line: str, n_fields: int) -> WintrainError:
    """The error for a word line without exactly 10 TAB-separated fields."""
    n_columns = len(line.split())
    if n_fields < N_FIELDS and n_columns >= N_FIELDS:
        fix = "it looks space-separated: CoNLL-U fields must be separated by TABs"
    elif n_fields == 1 and 2 <= n_columns <= 5:
        fix = "it looks like a plain 'token ... tag' line: read a plain CoNLL file with the plain CoNLL format"
    else:
        fix = (
            "a word line has the fields ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC, "
            "a comment starts with '#', a blank line ends a sentence"
        )
    plural = "" if n_fields == 1 else "s"
    return WintrainError(
        f"{name}:{number}: expected 10 TAB-separated fields, got {n_fields} field{plural} in {show_line(line)}; "
        f"fix the line ({fix})"
    )


def _bad_id(name: str, number: int, line: str) -> WintrainError:
    """The error for a word line whose ID is none of ``7``, ``3-4``, ``8.1``."""
    word_id = line.split("\t", 1)[0]
    return WintrainError(
        f"{name}:{number}: ID {word_id!r} is not a word number (7), a multiword range (3-4) or an "
        f"empty node (8.1) in {show_line(line)}; fix the ID field (the first TAB-separated field)"
    )


def _tag_column(tag_field: str, name: str) -> int:
    """The field index of ``tag_field`` (a key of :data:`TAG_FIELDS`)."""
    try:
        return TAG_FIELDS[tag_field]
    except (KeyError, TypeError):
        raise WintrainError(
            f"{name}: unknown CoNLL-U tag_field {tag_field!r}; choose one of {', '.join(TAG_FIELDS)}"
        ) from None


# --------------------------------------------------------------------------- reading


def read_conllu(path: Path | str, tag_field: str = "upos") -> Corpus:
    """Read a CoNLL-U file into a :class:`Corpus` of syntactic words.

    Args:
        path: a ``.conllu`` file, plain or gzip, UTF-8 (BOM and CRLF accepted).
        tag_field: which field is the tag: one of ``upos``, ``xpos``, ``feats``, ``deprel``,
            ``misc`` (the keys of :data:`TAG_FIELDS`).

    Returns:
        A corpus whose N tokens are the FORMs of the syntactic words (integer IDs; a FORM may hold
        spaces, e.g. ``20 000``), its tags the chosen field of the same lines, its sentences split
        at blank lines and ``lines`` the 1-based line numbers of the words.  Comments, multiword
        ranges and empty nodes are skipped.

    Raises:
        WintrainError: an unknown ``tag_field``; a missing/unreadable/non-UTF-8 file; a malformed
            line or ID; an empty FORM or tag; a tag that contains a space; no words; or a tag field
            that is ``_`` on every word (not annotated) -- all as one ``file:line`` line.
    """
    path = Path(path)
    name = str(path)
    tag_column = _tag_column(tag_field, name)
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    starts = [0]
    for block in conllu_blocks(read_utf8(Path(path)), name):
        for line in block.word_lines:
            fields = line.split("\t", tag_column + 1)  # the fields up to the tag, and the rest
            tokens.append(fields[FORM_FIELD])
            tags.append(fields[tag_column])
        lines += block.word_indices
        starts.append(len(tokens))
    if not tokens:
        raise WintrainError(
            f"{path} contains no words; expected CoNLL-U word lines (10 TAB-separated fields, integer ID) "
            "with a blank line after each sentence"
        )
    line_numbers = np.array(lines, dtype=np.int32) + 1
    _check_not_empty(name, tokens, line_numbers, "FORM", "fix the file")
    field = FIELD_NAMES[tag_column]
    _check_not_empty(name, tags, line_numbers, field, "choose another data.tag_column or fix the file")
    _check_no_blank(name, tags, line_numbers, field, "choose another data.tag_column or fix the file")
    if tags.count("_") == len(tags):
        raise WintrainError(
            f"{path}: the {field} field is '_' (unannotated) on every word; choose another data.tag_column "
            f"(one of {', '.join(TAG_FIELDS)}) or use an annotated file"
        )
    return Corpus(
        path=path,
        tokens=tokens,
        tags=tags,
        sentence_starts=np.array(starts, dtype=np.int64),
        lines=line_numbers,
    )


def _check_not_empty(name: str, values: list[str], line_numbers: np.ndarray, field: str, fix: str) -> None:
    """Raise a ``name:line`` WintrainError for the first of ``values`` that is empty.

    ``values`` (N,) are one field of the N words, ``line_numbers`` (N,) their 1-based lines.
    """
    if "" in values:
        position = values.index("")
        raise WintrainError(
            f"{name}:{line_numbers[position]}: the {field} field is empty; CoNLL-U writes '_' for "
            f"an empty field: {fix}"
        )


def _check_no_blank(name: str, values: list[str], line_numbers: np.ndarray, field: str, fix: str) -> None:
    """Raise a ``name:line`` WintrainError for the first of ``values`` (tags) that holds a blank.

    A tag is one word: the tagged output is written as ``token TAG`` lines.
    """
    if _ASCII_BLANK.search("\t".join(values)) is None:
        return
    position = next(i for i, value in enumerate(values) if _ASCII_BLANK.search(value))
    raise WintrainError(
        f"{name}:{line_numbers[position]}: the {field} {values[position]!r} contains a space, but a tag "
        f"must be one word (the tagger writes 'token TAG' lines); {fix}"
    )


def conllu_forms(text: str, *, name: str = "<text>", first_line: int = 1) -> list[list[str]]:
    """The sentences of CoNLL-U ``text`` as lists of FORMs of the syntactic words (for tagging).

    ``name`` (e.g. the file path) prefixes error messages; ``first_line`` is the number of the
    first line of ``text`` in it.  FORMs are returned as they are, even
    with spaces.  ``len`` of the flattened result is the number of values
    :func:`replace_field` expects for the same text.

    Raises:
        WintrainError: a malformed line or ID (``name:line``).
    """
    text = text.removeprefix("\ufeff")
    return [[line.split("\t", 2)[FORM_FIELD] for line in block.word_lines]
            for block in conllu_blocks(text, name, first_line)]


# --------------------------------------------------------------------------- sniffing


def looks_like_conllu(text: str, *, prefix: bool = False) -> bool:
    """Whether ``text`` is CoNLL-U rather than plain ``token ... tag`` lines or raw text.

    Decides from the content alone, so it serves files of any name and standard input.  Only
    the first :data:`_LINES_TO_SNIFF` lines that are neither blank nor comments are judged (plus
    the comments before them): a line counts as a word line when it has 10 TAB-separated fields
    and an ID that is an integer, a range ``a-b`` or a decimal ``a.b``.  True when more than half
    of the judged lines are word lines (one broken line does not hide a CoNLL-U file).  A whole
    text without such lines is not CoNLL-U (there is nothing to read); the beginning of a text
    (``prefix``) that stops before its first word line is, when one of its comments is one UD
    writes (``# sent_id =``, ``# text =``, ``# newdoc``, ``# newpar``, ``# global.columns =``) --
    any other ``#`` line proves nothing, a plain file can hold a ``#`` token.

    Args:
        text: the text, or its beginning; a leading BOM and CRLF line ends are accepted.
        prefix: ``text`` is only the beginning of a longer text (e.g. peeked from a stream):
            its last line may be cut and is not judged unless it ends with a line break.
    """
    checked = matching = 0
    ud_comments = False
    for line in _leading_lines(text.removeprefix("\ufeff"), with_last=not prefix):
        line = line.removesuffix("\r")
        if line.startswith("#"):
            ud_comments = ud_comments or _UD_COMMENT.match(line) is not None
            continue
        if not line.strip():
            continue
        fields = line.split("\t")
        word_id = fields[0]
        is_id = (word_id.isdigit() and word_id.isascii()) or _MULTIWORD_OR_EMPTY_NODE_ID.fullmatch(word_id)
        matching += len(fields) == N_FIELDS and bool(is_id)
        checked += 1
        if checked == _LINES_TO_SNIFF:
            break
    if checked == 0:
        return prefix and ud_comments
    return 2 * matching > checked


def _leading_lines(text: str, with_last: bool = True) -> Iterator[str]:
    """The LF-separated lines of ``text`` one by one, without splitting all of a large text;
    without the text after the last LF unless ``with_last``."""
    begin = 0
    while begin <= len(text):
        end = text.find("\n", begin)
        if end < 0:
            if not with_last:
                return
            end = len(text)
        yield text[begin:end]
        begin = end + 1


def conllu_hint(path: Path | str) -> str:
    """The message for a CoNLL-U file given to the plain CoNLL reader (for a WintrainError)."""
    return (
        f"{path} looks like CoNLL-U (10 tab-separated fields, integer first field); "
        "name it *.conllu or set data.format: conllu (data.format: conll reads it as columns anyway)"
    )


# --------------------------------------------------------------------------- chunks of a stream

# A line :func:`conllu_blocks` accepts: a comment, a word line (10 fields, an ID of the three kinds) or a
# blank line (empty or whitespace, but not with exactly 9 TABs: that is a word line without an ID).
_BAD_LINE = re.compile(
    r"^(?!#"
    r"|[0-9]+(?:-[0-9]+|\.[0-9]+)?(?:\t[^\t\n]*){9}$"
    r"|(?![^\S\n\t]*(?:\t[^\S\n\t]*){9}$)[^\S\n]*$)",
    re.MULTILINE,
)
_SENTENCE_END = re.compile(r"\S[^\S\n]*\n[^\S\n]*\n")  # a line with something on it, then a blank line


def check_lines(text: str, name: str, first_line: int = 1) -> tuple[int, WintrainError] | None:
    """The first line of CoNLL-U ``text`` that :func:`conllu_forms` would refuse, as (its offset in ``text``,
    the error it raises), or None.  One regex search: a cheap check of a chunk before it is handed on."""
    match = _BAD_LINE.search(text)
    if match is None:
        return None
    begin = match.start()
    end = text.find("\n", begin)
    number = first_line + text.count("\n", 0, begin)
    try:
        conllu_forms(text[begin:] if end < 0 else text[begin:end + 1], name=name, first_line=number)
    except WintrainError as error:
        return begin, error
    return None  # pragma: no cover - the regex and the parser agree


def sentence_ends(text: str) -> list[int]:
    """Offsets in CoNLL-U ``text`` (whole lines) just after each blank line that follows a non-blank one:
    where a chunk may end without cutting a sentence."""
    return [match.end() for match in _SENTENCE_END.finditer(text)]


def sentence_blocks(lines: Iterable[str], sentences: int) -> Iterator[tuple[int, str]]:
    """CoNLL-U ``lines`` (each with its line end, as a file yields them) in blocks of ``sentences``
    sentences, each cut after the blank line that ends its last sentence: (number of its first line, its
    text).  Concatenated, the blocks are the input."""
    block: list[str] = []
    first_line = number = 1
    ended = 0
    in_sentence = False
    for line in lines:
        block.append(line)
        number += 1
        if line.strip():
            in_sentence = True
        elif in_sentence:
            in_sentence = False
            ended += 1
            if ended >= sentences:
                yield first_line, "".join(block)
                block, first_line, ended = [], number, 0
    if block:
        yield first_line, "".join(block)


# --------------------------------------------------------------------------- writing back


def replace_field(text: str, tag_field: str, new_tags: Sequence[str], *, name: str = "<text>",
                  first_line: int = 1) -> str:
    """Return CoNLL-U ``text`` with the ``tag_field`` of every syntactic word set to a new value.

    Args:
        text: the original file text (e.g. from :func:`wintrain.data.reader.read_utf8`).
        tag_field: a key of :data:`TAG_FIELDS` (``upos``, ``xpos``, ``feats``, ``deprel``, ``misc``).
        new_tags: (N,) one value per syntactic word (integer ID) in file order, i.e. the flattened
            :func:`conllu_forms` order; no TAB, line break or empty value.
        name: the file the text came from, for error messages.
        first_line: the number of the first line of ``text`` in that file.

    Only that field of the word lines changes: comments, multiword ranges, empty nodes, blank
    lines, the other fields, a leading BOM and the line ends (LF or CRLF, final newline or not)
    are kept byte for byte.

    Raises:
        WintrainError: an unknown ``tag_field``, a malformed line, a count of ``new_tags`` that
            differs from the number of words, or a value that would break the line.
    """
    column = _tag_column(tag_field, name)
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    word_lines = [index for block in conllu_blocks(body, name, first_line) for index in block.word_indices]
    if len(word_lines) != len(new_tags):
        raise WintrainError(
            f"{name}: got {len(new_tags)} new {FIELD_NAMES[column]} values for {len(word_lines)} syntactic words; "
            "give one value per syntactic word (integer ID), in file order"
        )
    lines = body.split("\n")
    for index, value in zip(word_lines, new_tags, strict=True):
        if not value or "\t" in value or "\n" in value or "\r" in value:
            raise WintrainError(
                f"{name}:{index + first_line}: cannot write {FIELD_NAMES[column]} {value!r} (empty, TAB or line "
                "break); write '_' for no value"
            )
        line = lines[index]
        line_end = "\r" if line.endswith("\r") else ""
        fields = line.removesuffix("\r").split("\t")
        fields[column] = value
        lines[index] = "\t".join(fields) + line_end
    return bom + "\n".join(lines)
