"""Character ids of words, for the character-level feature of CharWNN (dos Santos & Zadrozny 2014).

CharWNN gives each word a vector built from its characters: the characters are embedded,
a convolution slides over windows of ``width`` characters, and a max over the positions
keeps one value per filter (see :mod:`wintrain.nn.chars`).  This module only turns words
into the integer matrix that layer reads.

Layout of one word of n kept characters, h = (width − 1) / 2 (width is odd)::

    ids[u] = [<pad>]*h + [c_1, …, c_n] + [<pad>]*h + [<pad>]* (right padding of the batch)
    lengths[u] = n

so the window starting at column p (0 ≤ p < n) is centred on character p: every character
is the centre of exactly one window, as in CharWNN.  All rows share one width
L = max_u lengths[u] + 2h (≥ width).

Choices:

* Characters are those of the *original* word form (case kept), so the character feature
  sees capitalisation even when the word lookup is lowercased.
* Only the first ``max_length`` characters of a longer word are kept.
* An empty string gets length 1 and a single ``<pad>`` character.  With the ``<pad>``
  embedding fixed at zero its feature is the convolution bias alone — a constant "no
  characters" vector (use it for the sentence-boundary word of the window, not the literal
  string "<pad>").
* ``encode`` is vectorised: one ``str.join``, one UTF-32 encode read with
  ``np.frombuffer``, a table lookup from code point to id and one scatter into the padded
  matrix — so encoding a whole vocabulary once and gathering rows later (:func:`take_words`)
  is cheap (see ``benchmarks/README.md``).

A :class:`CharVocab` is stored in a checkpoint as one plain array: the UTF-8 bytes of its
characters (ids 2, 3, …) joined by nothing; ``<pad>`` and ``<unk>`` are implicit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from wintrain.errors import WintrainError

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1


def check_width(width: int) -> int:
    """The padding h = (width − 1) / 2 on each side of a word; ``width`` must be odd and ≥ 1."""
    if width < 1 or width % 2 == 0:
        raise WintrainError(
            f"character window width must be an odd number >= 1 (got {width}): each character is the centre "
            "of one window; use e.g. 3 or 5"
        )
    return (width - 1) // 2


@dataclass
class CharVocab:
    """Characters in id order: ``chars[0] == "<pad>"``, ``chars[1] == "<unk>"`` (characters
    never seen in training, or seen fewer than ``min_count`` times), then one entry per
    character."""

    chars: list[str]
    index: dict[str, int] = field(init=False, repr=False, compare=False)
    _lookup: np.ndarray = field(init=False, repr=False, compare=False)

    pad_id = PAD_ID
    unk_id = UNK_ID

    def __post_init__(self) -> None:
        if self.chars[:2] != [PAD, UNK]:
            raise ValueError("a character vocabulary starts with <pad>, <unk>")
        if any(len(char) != 1 for char in self.chars[2:]):
            raise ValueError("every character vocabulary entry after <pad>, <unk> is one character")
        self.index = {char: i for i, char in enumerate(self.chars)}
        if len(self.index) != len(self.chars):
            raise ValueError("a character vocabulary has no duplicate entries")
        self._lookup = self._code_point_lookup()

    def _code_point_lookup(self) -> np.ndarray:
        """(top + 2,) int32: id of every code point up to the largest one in the vocabulary;
        the last entry is ``<unk>`` and stands for every larger code point."""
        codes = _code_points("".join(self.chars[2:]))
        top = int(codes.max(initial=0))
        lookup = np.full(top + 2, UNK_ID, dtype=np.int32)
        lookup[codes] = np.arange(2, len(self.chars), dtype=np.int32)
        return lookup

    @classmethod
    def build(cls, words: Iterable[str], min_count: int = 1) -> CharVocab:
        """Characters of ``words`` (as written, case kept) seen at least ``min_count`` times,
        most frequent first (ties: first seen).  Every occurrence counts: pass the training
        tokens for corpus frequencies, or distinct words for type frequencies."""
        if min_count < 1:
            raise WintrainError(f"character min_count must be >= 1 (got {min_count})")
        counts = Counter("".join(words))
        return cls([PAD, UNK] + [char for char, count in counts.most_common() if count >= min_count])

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, words: Sequence[str], max_length: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """words (U strings) → ids: (U, L) int32, lengths: (U,) int32, laid out as in the module
        docstring: h = (width − 1)/2 ``<pad>`` on each side of the first ``max_length``
        characters, right-padded with ``<pad>`` to L = max(lengths) + 2h; lengths ≥ 1 (an
        empty word is one ``<pad>``); unknown characters → ``<unk>`` (1)."""
        if max_length < 1:
            raise WintrainError(f"character max_length must be >= 1 (got {max_length})")
        half = check_width(width)
        count = len(words)
        full_lengths = np.fromiter(map(len, words), dtype=np.int64, count=count)
        kept = np.minimum(full_lengths, max_length)
        lengths = np.maximum(kept, 1).astype(np.int32)
        columns = int(lengths.max(initial=1)) + 2 * half
        ids = np.zeros((count, columns), dtype=np.int32)
        codes = _code_points("".join(words))
        if codes.size == 0:
            return ids, lengths
        char_ids = self._lookup[np.minimum(codes, len(self._lookup) - 1)]
        word_starts = np.cumsum(full_lengths) - full_lengths
        # flat position in ids of every character: row u, column half + (index within the word)
        row_offsets = np.arange(count, dtype=np.int64) * columns + half - word_starts
        destination = np.repeat(row_offsets, full_lengths) + np.arange(codes.size, dtype=np.int64)
        if int(full_lengths.max()) > max_length:
            within_word = np.arange(codes.size, dtype=np.int64) - np.repeat(word_starts, full_lengths)
            keep = within_word < max_length
            destination, char_ids = destination[keep], char_ids[keep]
        ids.reshape(-1)[destination] = char_ids
        return ids, lengths

    def to_array(self) -> np.ndarray:
        """The characters (ids 2, 3, …) as one UTF-8 byte array, for a checkpoint (no pickle)."""
        return np.frombuffer("".join(self.chars[2:]).encode("utf-8", "surrogatepass"), dtype=np.uint8)

    @classmethod
    def from_array(cls, data: np.ndarray) -> CharVocab:
        """Inverse of :meth:`to_array`.  data: (n_bytes,) uint8."""
        try:
            text = np.asarray(data, dtype=np.uint8).tobytes().decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as error:
            raise WintrainError(
                "the checkpoint's character vocabulary is not valid UTF-8: the file is damaged or not a wintrain "
                "checkpoint; train again or use another checkpoint"
            ) from error
        if len(set(text)) != len(text):
            raise WintrainError(
                "the checkpoint's character vocabulary repeats a character: the file is damaged or not a wintrain "
                "checkpoint; train again or use another checkpoint"
            )
        return cls([PAD, UNK] + list(text))


def take_words(ids: np.ndarray, lengths: np.ndarray, rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``rows`` of an encoded word list, trimmed to the longest of them.

    ids: (U, L), lengths: (U,), rows: (B,) int → ids (B, L_B), lengths (B,) with
    L_B = max(lengths[rows]) + 2h: a batch of short words does not pay for the longest word
    of the vocabulary.  Use it to gather a batch's words from the whole vocabulary encoded
    once.
    """
    half = check_width(width)
    batch_lengths = lengths[rows]
    columns = min(int(batch_lengths.max(initial=1)) + 2 * half, ids.shape[1])
    return np.take(ids[:, :columns], rows, axis=0), batch_lengths


def _code_points(text: str) -> np.ndarray:
    """(len(text),) uint32 code points (lone surrogates kept as their code point)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


@dataclass(frozen=True)
class CharBatch:
    """The character input of one batch of windows.

    Attributes:
        local: (B, w) int32 — for each window position, 1 + the row of its word in ``ids``, or 0
            where the position is outside the sentence (no word there).
        ids, lengths: (U, L) and (U,) character ids of the batch's U distinct word forms.
    """

    local: np.ndarray
    ids: np.ndarray
    lengths: np.ndarray


@dataclass(frozen=True)
class CharWindows:
    """The character feature of a data set: every window position's word form, and the characters
    of every distinct form, encoded once.

    Attributes:
        forms: (N, w) int32 — 1 + the form's row in ``ids``, 0 outside the sentence.
        ids, lengths: (F, L) and (F,) character ids of the F distinct forms of the data set.
        width: the convolution width the ids are padded for.

    Indexing (``windows[index]``) gives the :class:`CharBatch` of those windows: its distinct
    forms found with one ``np.unique``, their rows gathered and trimmed to the longest of them,
    so the convolution runs once per distinct word of a batch, not once per window position.
    """

    forms: np.ndarray
    ids: np.ndarray
    lengths: np.ndarray
    width: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.forms.shape)

    def __len__(self) -> int:
        return len(self.forms)

    def __getitem__(self, index: np.ndarray | slice) -> CharBatch:
        forms = self.forms[index]
        distinct, local = np.unique(forms, return_inverse=True)
        local = local.reshape(forms.shape).astype(np.int32)
        if distinct.size and distinct[0] == 0:  # 0 (no word) keeps local id 0
            distinct = distinct[1:]
        else:  # every position holds a word: shift so that 0 stays free
            local += 1
        ids, lengths = take_words(self.ids, self.lengths, distinct - 1, self.width)
        return CharBatch(local, ids, lengths)


def char_windows(
    vocab: CharVocab,
    tokens: Sequence[str],
    positions: np.ndarray,
    max_length: int,
    width: int,
    types: tuple[list[str], np.ndarray] | None = None,
) -> CharWindows:
    """The :class:`CharWindows` of ``tokens`` (N,) laid out by ``positions`` (N, w) from
    :func:`wintrain.data.windows.window_positions` (N = the padding slot).

    ``types``: the distinct strings of ``tokens`` in order of first occurrence and each token's
    index among them (:func:`wintrain.data.dataset.token_types`), when the caller has them already.
    """
    if types is None:
        distinct: dict[str, int] = {}
        form_ids = np.fromiter((distinct.setdefault(token, len(distinct) + 1) for token in tokens), dtype=np.int32,
                               count=len(tokens))
        forms = list(distinct)
    else:
        forms, of_token = types
        form_ids = (of_token + 1).astype(np.int32, copy=False)
    ids, lengths = vocab.encode(forms, max_length, width)
    # number the forms shortest first, so a batch's distinct forms (in id order) come sorted by
    # length, the order the convolution's max wants them in
    by_length = np.argsort(lengths, kind="stable")
    renumbered = np.empty(len(by_length) + 1, np.int32)
    renumbered[0] = 0
    renumbered[by_length + 1] = np.arange(1, len(by_length) + 1, dtype=np.int32)
    padded = np.append(renumbered[form_ids], np.int32(0))
    return CharWindows(padded[positions], ids[by_length], lengths[by_length], width)
