"""From tokens to model input: per-token feature ids gathered through windows.

An :class:`Encoder` holds everything needed to turn tokens into arrays — the vocabulary,
the tag set, the window size and the feature switches — and is saved in every checkpoint,
so that evaluation and prediction encode text exactly as training did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from wintrain.data.casing import CASING_CLASSES, CATEGORIES, casing_ids, category_ids
from wintrain.data.chars import CharBatch, CharVocab, CharWindows, char_windows
from wintrain.data.reader import Corpus, sentence_rows, sentence_starts
from wintrain.data.vocab import TagSet, Vocab
from wintrain.data.windows import gather_windows, window_positions
from wintrain.errors import WintrainError, listed

Feature = np.ndarray | CharWindows
"""A data set's feature: (N, w) window ids, or the character feature's :class:`CharWindows`."""
FeatureBatch = np.ndarray | CharBatch
"""A batch's feature: (B, w) window ids, or a :class:`CharBatch`."""


@dataclass
class Encoded:
    """A data set ready for the model.

    features: one entry per feature, in :attr:`Encoder.feature_names` order: (N, w) int32 ids of
    the word, casing and affix features, then :class:`CharWindows` when characters are on;
    targets: (N,) int32 tag ids, or None for untagged text;
    sentence_starts: (S+1,) offsets of the sentences (whole-sentence batches for the sll loss).
    """

    features: list[Feature]
    targets: np.ndarray | None
    sentence_starts: np.ndarray

    def __len__(self) -> int:
        return int(self.features[0].shape[0])

    def batch(self, index: np.ndarray | slice) -> tuple[list[FeatureBatch], np.ndarray | None]:
        """The windows ``index`` of every feature (and their targets)."""
        targets = None if self.targets is None else self.targets[index]
        return [f[index] for f in self.features], targets

    def subset(self, sentences: np.ndarray) -> Encoded:
        """The data set of the sentences numbered ``sentences`` (their windows are theirs alone)."""
        rows, starts = sentence_rows(self.sentence_starts, sentences)
        features: list[Feature] = [
            CharWindows(f.forms[rows], f.ids, f.lengths, f.width) if isinstance(f, CharWindows) else f[rows]
            for f in self.features
        ]
        return Encoded(features, None if self.targets is None else self.targets[rows], starts)

    def sentence_lengths(self, index: np.ndarray) -> np.ndarray:
        """(S_b,) lengths of the whole sentences that the token indices ``index`` (B,) cover, in order."""
        sentence = np.searchsorted(self.sentence_starts, index, side="right") - 1
        changes = np.flatnonzero(np.diff(sentence)) + 1
        return np.diff(np.concatenate(([0], changes, [len(index)])))


TokenTypes = tuple[list[str], np.ndarray]
"""The distinct strings of a token list (first seen first) and, per token, the index of its string (N,) intp."""


def token_types(tokens: Sequence[str]) -> TokenTypes:
    """The distinct strings of ``tokens`` in order of first occurrence, and each token's index
    among them: features of a string are then worked out once, however often it occurs (the
    CoNLL-2003 test text has 46,435 tokens but 9,488 distinct strings)."""
    forms = list(dict.fromkeys(tokens))
    index = dict(zip(forms, range(len(forms))))
    of_token = np.fromiter(map(index.__getitem__, tokens), dtype=np.intp, count=len(tokens))
    return forms, of_token


DIGITS = str.maketrans("0123456789", "0000000000")
APOSTROPHES = "\u2019\u2018\u02bc"  # ’ ‘ ʼ
STRAIGHT_APOSTROPHES = str.maketrans(APOSTROPHES, "'" * len(APOSTROPHES))


def normalise_digits(token: str) -> str:
    """Every digit → 0, so "1996" and "2003" share one word vector ("0000")."""
    return token.translate(DIGITS)


def lookup_forms(tokens: Sequence[str], lowercase: bool, digits: bool) -> list[str]:
    """The forms ``tokens`` are looked up under: lowercased when ``lowercase``, every digit → 0 when ``digits``."""
    if digits:
        return [normalise_digits(t.lower()) if lowercase else normalise_digits(t) for t in tokens]
    return [t.lower() for t in tokens] if lowercase else list(tokens)


def affix(token: str, kind: str, length: int) -> str:
    """The lowercased prefix or suffix of ``length`` characters (the whole word when shorter)."""
    token = token.lower()
    return token[:length] if kind == "prefix" else token[-length:]


def parse_affix_name(name: str) -> tuple[str, int]:
    """"suffix3" → ("suffix", 3)."""
    kind = name.rstrip("0123456789")
    return kind, int(name[len(kind):])


@dataclass
class Encoder:
    """Turns tokens into per-feature ids.  Features, in order: the word (lowercased and/or
    digit-normalised when configured), its casing class, and each configured affix
    (``prefix2``, ``suffix3``, … — lowercased, with its own vocabulary from the training data)."""

    vocab: Vocab
    tagset: TagSet
    window_size: int
    lowercase: bool = True
    casing: bool = True
    digits: bool = False  # normalise digits to 0 before the word lookup
    affixes: dict[str, Vocab] = field(default_factory=dict)
    chars: CharVocab | None = None  # the character feature (None: off)
    char_max_length: int = 20
    char_width: int = 3
    category: bool = False  # the Unicode category of each token's first character

    @property
    def feature_names(self) -> list[str]:
        names = ["word"] + (["casing"] if self.casing else []) + (["category"] if self.category else [])
        names += list(self.affixes)
        return names + (["chars"] if self.chars is not None else [])

    @property
    def feature_sizes(self) -> list[int]:
        """Rows of each feature's table (the character table for ``chars``)."""
        sizes = [len(self.vocab)] + ([len(CASING_CLASSES)] if self.casing else [])
        sizes += [len(CATEGORIES)] if self.category else []
        sizes += [len(v) for v in self.affixes.values()]
        return sizes + ([len(self.chars)] if self.chars is not None else [])

    def lookup_forms(self, tokens: Sequence[str]) -> list[str]:
        """The forms the vocabulary is searched for (see :func:`lookup_forms`)."""
        return lookup_forms(tokens, self.lowercase, self.digits)

    def word_ids(self, forms: Sequence[str]) -> np.ndarray:
        """(F,) vocabulary ids of distinct token strings.  A form unseen in training that holds an apostrophe
        is looked up once more in the other spelling -- straight (') for a curly (’ ‘) or modifier-letter
        (ʼ) one, the curly ’ for a straight one -- so ``aujourd’hui`` and ``aujourd'hui`` share the row of
        whichever spelling training had."""
        lookup = self.lookup_forms(forms)
        ids = self.vocab.encode(lookup)
        unk = self.vocab.unk_id
        for position in np.flatnonzero(ids == unk).tolist():
            form = lookup[position]
            if "'" in form:
                ids[position] = self.vocab.index.get(form.replace("'", "\u2019"), unk)
            elif any(mark in form for mark in APOSTROPHES):
                ids[position] = self.vocab.index.get(form.translate(STRAIGHT_APOSTROPHES), unk)
        return ids

    def form_features(self, forms: Sequence[str]) -> list[np.ndarray]:
        """One (F,) id array per id feature (word, casing, category, affixes) of F distinct token strings."""
        per_form = [self.word_ids(forms)]
        if self.casing:
            per_form.append(casing_ids(forms))
        if self.category:
            per_form.append(category_ids(forms))
        for name, vocab in self.affixes.items():
            kind, length = parse_affix_name(name)
            per_form.append(vocab.encode([affix(t, kind, length) for t in forms]))
        return per_form

    def token_features(self, tokens: Sequence[str], types: TokenTypes | None = None) -> list[np.ndarray]:
        """One (N,) id array per feature.  Every feature is worked out once per distinct token
        string (``types``, found here when not given) and spread to the tokens with one gather."""
        forms, of_token = types if types is not None else token_types(tokens)
        return [ids[of_token] for ids in self.form_features(forms)]

    def encode_tokens(self, tokens: Sequence[str], sentence_starts: np.ndarray,
                      form_features: Callable[[Sequence[str]], list[np.ndarray]] | None = None) -> list[Feature]:
        """tokens (N,) flat, sentence_starts (S+1,) → one (N, w) window id array per feature, then
        the :class:`CharWindows` of the character feature when it is on.  ``form_features`` gives the
        distinct forms' ids (default :meth:`form_features`; a :class:`~wintrain.data.feature_memo.FeatureMemo`
        remembers them across calls)."""
        positions = window_positions(sentence_starts, self.window_size)
        types = token_types(tokens)
        forms, of_token = types
        per_form = (form_features or self.form_features)(forms)
        features: list[Feature] = [gather_windows(ids[of_token], positions) for ids in per_form]
        if self.chars is not None:
            features.append(char_windows(self.chars, tokens, positions, self.char_max_length, self.char_width,
                                         types))
        return features

    def encode_tags(self, corpus: Corpus) -> np.ndarray:
        """(N,) int32 tag ids; a tag outside the tag set is an error naming file and line."""
        index = self.tagset.index
        try:
            return np.fromiter((index[tag] for tag in corpus.tags), dtype=np.int32, count=len(corpus.tags))
        except KeyError as error:
            tag = error.args[0]
            line = int(corpus.lines[corpus.tags.index(tag)])
            raise WintrainError(
                f"{corpus.path}:{line}: tag {tag!r} is not one of the model's {len(self.tagset):,} tags "
                f"({listed(self.tagset.tags)}); "
                "fix the file, or when training list every tag in data.tags"
            ) from None

    def encode(self, corpus: Corpus) -> Encoded:
        features = self.encode_tokens(corpus.tokens, corpus.sentence_starts)
        return Encoded(features, self.encode_tags(corpus), corpus.sentence_starts)

    def encode_sentences(self, sentences: Sequence[Sequence[str]]) -> Encoded:
        """Untagged sentences (lists of tokens) → windows, for prediction."""
        tokens = list(chain.from_iterable(sentences))
        starts = sentence_starts(sentences)
        return Encoded(self.encode_tokens(tokens, starts), None, starts)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The encoder as plain arrays for a checkpoint (no pickle).  The vocabulary is stored as
        its words joined by newlines in UTF-8 bytes: a fixed-width unicode array of 400k GloVe
        words would take ~100 MB."""
        arrays = {
            "encoder/vocab": words_to_bytes(self.vocab.words),
            "encoder/tags": np.array(self.tagset.tags, dtype=str),
            "encoder/settings": np.array([self.window_size, int(self.lowercase), int(self.casing), int(self.digits),
                                          int(self.category)], dtype=np.int64),
        }
        arrays.update({f"encoder/affix/{name}": words_to_bytes(v.words) for name, v in self.affixes.items()})
        if self.chars is not None:
            arrays["encoder/chars"] = self.chars.to_array()
            arrays["encoder/char_settings"] = np.array([self.char_max_length, self.char_width], dtype=np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Encoder:
        window_size, lowercase, casing, digits, *more = (int(v) for v in arrays["encoder/settings"])
        category = bool(more[0]) if more else False  # written since checkpoint format 5
        affixes = {key.removeprefix("encoder/affix/"): Vocab(bytes_to_words(value))
                   for key, value in sorted(arrays.items()) if key.startswith("encoder/affix/")}
        chars, max_length, width = None, 20, 3
        if "encoder/chars" in arrays:
            chars = CharVocab.from_array(arrays["encoder/chars"])
            max_length, width = (int(v) for v in arrays["encoder/char_settings"])
        return cls(
            Vocab(bytes_to_words(arrays["encoder/vocab"])),
            TagSet([str(t) for t in arrays["encoder/tags"]]),
            window_size,
            bool(lowercase),
            bool(casing),
            bool(digits),
            affixes,
            chars,
            max_length,
            width,
            category,
        )


def words_to_bytes(words: list[str]) -> np.ndarray:
    """Words joined by newlines as UTF-8 bytes (words never contain whitespace)."""
    return np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)


def bytes_to_words(data: np.ndarray) -> list[str]:
    return data.tobytes().decode("utf-8").split("\n")
