"""Tag new text with a trained checkpoint: the :class:`Tagger` and the output formats of ``wintrain predict``.

::

    from wintrain import Tagger
    tagger = Tagger.load("runs/x/best.npz")
    tagger.tag("Angela Merkel visited Paris.")
    # {"text": "Angela Merkel visited Paris.",
    #  "tokens": [{"text": "Angela", "start": 0, "end": 6, "tag": "B-PER"}, ...],
    #  "entities": [{"text": "Angela Merkel", "type": "PER", "start": 0, "end": 13}, ...]}

A text is tokenized as the training data was (:mod:`wintrain.data.tokenize`, Penn-Treebank
style), split into sentences, and every sentence of a batch is tagged in one pass of the model.
:meth:`Tagger.tag_stream` tags an iterable of any length chunk by chunk, in bounded memory
(:mod:`wintrain.evaluation.stream` does the same for files and pipes).
Offsets are character offsets into the text (``end`` exclusive); ``entities`` are the chunks of
B-/I-/E-/S- tags read under the checkpoint's scheme (empty for POS-style tag sets).  A Tagger
is loaded once and called many times, from several threads if need be: tokenizing and encoding
run in parallel, the model's passes one at a time (its layers reuse buffers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

import numpy as np

from wintrain.checkpoint import Checkpoint, load_checkpoint
from wintrain.config import TAG_FIELDS
from wintrain.data.chunk_tokenize import TokenizedTexts, split_whitespace_texts, tokenize_texts
from wintrain.data.conllu import conllu_forms, replace_field, sentence_blocks
from wintrain.data.feature_memo import FeatureMemo
from wintrain.data.load import corpus_format
from wintrain.data.reader import sentence_starts, split_at
from wintrain.data.tags import chunk_spans
from wintrain.data.tokenize import Token
from wintrain.errors import WintrainError
from wintrain.evaluation.decode import resolve_decode
from wintrain.evaluation.evaluate import predict_ids
from wintrain.evaluation.tokenizer import Piece, Tokenizer, words_and_ranges
from wintrain.nn.ensemble import Model

DEFAULT_CHUNK = 2000
"""Texts (or CoNLL-U sentences) tagged together by :meth:`Tagger.tag_stream` and ``wintrain predict``."""


@dataclass(frozen=True)
class TaggedText:
    """One input text, its sentences of tagged units (with offsets into ``text``) and their tags.

    The units are the syntactic words.  With a learned tokenizer a *multiword token* (French ``du``) is
    tagged as its words (``de``, ``le``): each word carries the token's span, and ``multiword`` lists per
    sentence the ``(first, stop)`` word ranges of the multiword tokens.
    """

    text: str
    sentences: list[list[Token]]
    tags: list[list[str]]
    multiword: list[list[tuple[int, int]]] = field(default_factory=list)

    def to_json(self, scheme: str | None) -> dict[str, Any]:
        """``{"text", "tokens": [{"text", "start", "end", "tag"}], "entities": [{"text", "type", "start", "end"}]}``;
        entities only when ``scheme`` (a chunk tag set's scheme) is given.  With multiword tokens, their words'
        entries have ``"multiword": k`` and ``"multiword_tokens"[k]`` is ``{"text", "start", "end", "words": [i, …]}``
        (indices into ``tokens``)."""
        tokens = [token for sentence in self.sentences for token in sentence]
        tags = [tag for sentence in self.tags for tag in sentence]
        entities = []
        if scheme is not None:
            for sentence, sentence_tags in zip(self.sentences, self.tags):
                for first, stop, kind in chunk_spans(sentence_tags, scheme):
                    start, end = sentence[first].start, sentence[stop - 1].end
                    entities.append({"text": self.text[start:end], "type": kind, "start": start, "end": end})
        entries = [{"text": t.text, "start": t.start, "end": t.end, "tag": tag} for t, tag in zip(tokens, tags)]
        result: dict[str, Any] = {"text": self.text, "tokens": entries, "entities": entities}
        if any(self.multiword):
            joined: list[dict[str, Any]] = []
            offset = 0
            for sentence, ranges in zip(self.sentences, self.multiword):
                for first, stop in ranges:
                    token = sentence[first]
                    for index in range(offset + first, offset + stop):
                        entries[index]["multiword"] = len(joined)
                    joined.append({"text": self.text[token.start:token.end], "start": token.start, "end": token.end,
                                   "words": list(range(offset + first, offset + stop))})
                offset += len(sentence)
            result["multiword_tokens"] = joined
        return result


class TaggedChunk(Sequence[TaggedText]):
    """The :class:`TaggedText` of many texts tagged together (what :meth:`Tagger.tag_texts` returns),
    kept as the chunk's flat arrays.

    It is a sequence of :class:`TaggedText` like any other: they are made the first time one is asked
    for.  :func:`format_text` and :func:`format_conll` write a chunk straight from its arrays, without
    a Python object per token, to the same text (tested against the general path)."""

    def __init__(self, texts: list[str], tokenized: TokenizedTexts, tags: list[str]) -> None:
        self.texts = texts
        self.tokenized = tokenized
        self.flat_tags = tags  # (N,) the tag of every token, in order
        self._results: list[TaggedText] | None = None

    @property
    def n_tokens(self) -> int:
        return len(self.flat_tags)

    def results(self) -> list[TaggedText]:
        """Every text's :class:`TaggedText`."""
        if self._results is None:
            tokenized = self.tokenized
            tags = split_at(self.flat_tags, tokenized.sentence_starts)
            groups = tokenized.text_sentences.tolist()
            self._results = [TaggedText(text, parts, tags[begin:end]) for text, parts, begin, end
                             in zip(self.texts, tokenized.text_token_sentences(), groups[:-1], groups[1:])]
        return self._results

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index: Any) -> Any:
        return self.results()[index]

    def __iter__(self) -> Iterator[TaggedText]:
        return iter(self.results())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TaggedChunk({len(self.texts)} texts, {self.n_tokens} tokens)"

    def lines(self, separator: str, ends: np.ndarray) -> list[str]:
        """``token<separator>TAG`` per token, a newline added to the last line before each of ``ends``."""
        lines = list(map(separator.join, zip(self.tokenized.tokens, self.flat_tags)))
        for end in ends.tolist():
            lines[end - 1] += "\n"
        return lines


class Tagger:
    """A checkpoint ready to tag: the rebuilt model, its encoder, its tag scheme and its decoder; raw text is
    split by ``tokenizer`` (a :class:`~wintrain.evaluation.tokenizer.Tokenizer` trained from CoNLL-U, or a path
    to one), else by the rule tokenizer of :mod:`wintrain.data.tokenize`.

    ``kernels`` picks the textbook nodes or their fast twins (:mod:`wintrain.kernels`): the tags are the
    same up to float rounding."""

    def __init__(self, checkpoint: Checkpoint, decode: str | None = None, max_sentence_tokens: int = 100,
                 kernels: str = "fast", tokenizer: Tokenizer | str | Path | None = None) -> None:
        if checkpoint.config.task != "tag":
            raise WintrainError(
                f"{checkpoint.path}: a tokenizer (task: {checkpoint.config.task}), not a tagger; give a tagger's "
                "checkpoint, and this one as the tokenizer (--tokenizer, Tagger.load(..., tokenizer=...))"
            )
        self.checkpoint = checkpoint
        self.tokenizer = tokenizer if isinstance(tokenizer, Tokenizer) or tokenizer is None \
            else Tokenizer.load(tokenizer, kernels)
        self.kernels = kernels
        self.model: Model = checkpoint.build(kernels)
        self.tag_scheme = checkpoint.scheme
        self.decode = resolve_decode(decode or checkpoint.config.evaluation.decode, self.model.sentence_level,
                                     self.tag_scheme.chunks)
        self.max_sentence_tokens = max_sentence_tokens
        # the scheme of the tags it returns (the data's), for entity spans in JSON; None for flat tags (POS)
        self.span_scheme = self.tag_scheme.data if self.tag_scheme.chunks else None
        self._model_lock = threading.Lock()
        self._tag_names = np.array(self.tags, dtype=object)  # data tag id → tag string, for one gather
        self._features = FeatureMemo(checkpoint.encoder)

    @classmethod
    def load(cls, path: str | Path, decode: str | None = None, kernels: str = "fast",
             tokenizer: Tokenizer | str | Path | None = None) -> Tagger:
        """Load a checkpoint written by training (``best.npz`` or ``last.npz``); ``tokenizer``: a tokenizer
        checkpoint (or a loaded :class:`~wintrain.evaluation.tokenizer.Tokenizer`) that splits raw text."""
        return cls(load_checkpoint(path), decode, kernels=kernels, tokenizer=tokenizer)

    @property
    def tags(self) -> list[str]:
        """The tags it returns (the data's; a model that learned IOBES predicts them in IOBES)."""
        return self.tag_scheme.data_tagset(self.checkpoint.encoder.tagset.tags)

    # ------------------------------------------------------------------ tagging
    def tag_ids(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """(N,) tag ids of all tokens of ``sentences`` (flat, in order), into :attr:`tags`."""
        return self.flat_tag_ids(list(chain.from_iterable(sentences)), sentence_starts(sentences))

    def flat_tag_ids(self, tokens: Sequence[str], starts: np.ndarray) -> np.ndarray:
        """(N,) tag ids of N tokens whose sentences start at the (S+1,) offsets ``starts``.  Each word
        form's features are worked out once for the tagger's life (:class:`FeatureMemo`)."""
        encoder, config = self.checkpoint.encoder, self.checkpoint.config
        if len(tokens) == 0:
            return np.zeros(0, dtype=np.int64)
        encoded = self._features.encode(tokens, starts)
        with self._model_lock:
            return predict_ids(self.model, encoder, encoded, self.tag_scheme, self.decode,
                               config.train.eval_batch_size, self.kernels)

    def tag_tokens(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Tags of pre-tokenized sentences: one list of tags per sentence.

        The way to tag many sentences at once: all of them are encoded together and scored in
        large batches (the CoNLL-2003 test text, 46,435 tokens, is one call)."""
        flat = self._tag_names[self.tag_ids(sentences)].tolist()
        return split_at(flat, sentence_starts(sentences))

    def tag_texts(self, texts: Iterable[str], pretokenized: bool = False) -> Sequence[TaggedText]:
        """Split every text into sentences of words -- with the learned tokenizer (multiword tokens expanded),
        the rule tokenizer (Penn-Treebank style), or at whitespace when ``pretokenized`` -- and tag them, all
        sentences in one pass of the model: one :class:`TaggedText` per text.

        Without a learned tokenizer the texts are tokenized together (:mod:`wintrain.data.chunk_tokenize`:
        the tokens and sentences of :func:`~wintrain.data.tokenize.tokenize_sentences`, with little work per
        token) and the result is a :class:`TaggedChunk`."""
        texts = list(texts)
        if self.tokenizer is not None and not pretokenized:
            return self._tag_tokenized(texts, self.tokenizer.tokenize_texts(texts))
        if pretokenized:
            tokenized = split_whitespace_texts(texts)
        else:
            tokenized = tokenize_texts(texts, self.max_sentence_tokens)
        ids = self.flat_tag_ids(tokenized.tokens, tokenized.sentence_starts)
        return TaggedChunk(texts, tokenized, self._tag_names[ids].tolist())

    def tag_stream(self, texts: Iterable[str], pretokenized: bool = False,
                   chunk: int = DEFAULT_CHUNK) -> Iterator[TaggedText]:
        """:meth:`tag_texts` over an iterable of any length (a file, a generator), ``chunk`` texts at a
        time: texts are read only as results are asked for, and memory holds one chunk."""
        iterator = iter(texts)
        while batch := list(islice(iterator, max(1, chunk))):
            yield from self.tag_texts(batch, pretokenized)

    def tag_conllu(self, text: str, field: str | None = None, name: str = "<text>", first_line: int = 1) -> str:
        """CoNLL-U ``text`` with the predicted tag in ``field`` (default: the model's) of every syntactic
        word, byte for byte otherwise; ``name`` and ``first_line`` place error messages."""
        forms = conllu_forms(text, name=name, first_line=first_line)
        tags = [tag for row in self.tag_tokens(forms) for tag in row]
        return replace_field(text, self.conllu_field(field), tags, name=name, first_line=first_line)

    def tag_conllu_stream(self, lines: Iterable[str], field: str | None = None, chunk: int = DEFAULT_CHUNK,
                          name: str = "<stream>") -> Iterator[str]:
        """:meth:`tag_conllu` over CoNLL-U ``lines`` of any number (each with its line end, as an open file
        yields them), about ``chunk`` sentences at a time: the tagged text block by block, in order."""
        for first_line, block in sentence_blocks(lines, max(1, chunk)):
            yield self.tag_conllu(block, field, name, first_line)

    def _tag_tokenized(self, texts: list[str], pieces: list[list[list[Piece]]]) -> list[TaggedText]:
        """Tag the words of texts a learned tokenizer split (each word with its token's span)."""
        units, ranges = [], []
        for text_sentences in pieces:
            words, spans = words_and_ranges(text_sentences)
            units.append(words)
            ranges.append(spans)
        tagged = iter(self.tag_tokens([[token.text for token in sentence] for parts in units for sentence in parts]))
        return [TaggedText(text, parts, [next(tagged) for _ in parts], spans)
                for text, parts, spans in zip(texts, units, ranges)]

    def tag(self, text: str, pretokenized: bool = False) -> dict[str, Any]:
        """One text → ``{"text", "tokens", "entities"}`` (as one JSON line of ``wintrain predict``)."""
        return self.tag_batch([text], pretokenized)[0]

    def tag_batch(self, texts: Iterable[str], pretokenized: bool = False) -> list[dict[str, Any]]:
        """Many texts at once (faster than one by one): one dict per text."""
        return [result.to_json(self.span_scheme) for result in self.tag_texts(texts, pretokenized)]

    def conllu_field(self, field: str | None, default: str | None = None) -> str:
        """The CoNLL-U field predictions go into: ``field``, else the one the model was trained on, else
        ``default`` (a model trained on plain columns has none of its own)."""
        if field is not None:
            if field not in TAG_FIELDS:
                raise WintrainError(f"--field {field}: tags go into one of the CoNLL-U fields {', '.join(TAG_FIELDS)}")
            return field
        data = self.checkpoint.config.data
        if isinstance(data.tag_column, str):
            return data.tag_column
        if data.tag_column is None and corpus_format(data.train, data) == "conllu":
            return "upos"  # a CoNLL-U training file's default field
        if default is not None:
            return default
        raise WintrainError(
            "this model was trained on CoNLL columns, not a CoNLL-U field: choose the field its tags go "
            f"into with --field ({', '.join(TAG_FIELDS)})"
        )


# --------------------------------------------------------------------------- output formats
def format_text(results: Sequence[TaggedText]) -> str:
    """``token TAG`` lines, a blank line after each text; a token containing a space is written
    ``token<TAB>TAG`` instead, which the column reader splits at the TAB (so the output reads back)."""
    if isinstance(results, TaggedChunk):
        return _chunk_text(results)  # the rule tokenizer's tokens hold no space
    blocks = []
    for result in results:
        pairs = zip((t for s in result.sentences for t in s), (g for s in result.tags for g in s))
        blocks.append("".join(f"{token.text}{chr(9) if ' ' in token.text else ' '}{tag}\n"
                              for token, tag in pairs) + "\n")
    return "".join(blocks)


def format_conll(results: Sequence[TaggedText]) -> str:
    """``token<TAB>TAG`` lines with a blank line after every sentence: the layout of training data."""
    if isinstance(results, TaggedChunk):
        chunk_lines = results.lines("\t", results.tokenized.sentence_starts[1:])
        return "\n".join(chunk_lines) + "\n" if chunk_lines else ""
    lines: list[str] = []
    for result in results:
        for sentence, tags in zip(result.sentences, result.tags):
            lines.extend(f"{token.text}\t{tag}" for token, tag in zip(sentence, tags))
            lines.append("")
    return "".join(line + "\n" for line in lines)


def _chunk_text(chunk: TaggedChunk) -> str:
    """:func:`format_text` of a chunk from its arrays."""
    tokenized = chunk.tokenized
    text_ends = tokenized.sentence_starts[tokenized.text_sentences]  # (T+1,) where each text's tokens start
    sizes = np.diff(text_ends)
    lines = chunk.lines(" ", text_ends[1:][sizes > 0])
    if not sizes.all():  # a text without tokens is a blank line of its own
        bounds = text_ends.tolist()
        lines = [line for begin, end in zip(bounds[:-1], bounds[1:]) for line in (lines[begin:end] or [""])]
    return "\n".join(lines) + "\n" if lines else ""


def format_json(results: Sequence[TaggedText], scheme: str | None) -> str:
    """One JSON object per text per line (see :meth:`TaggedText.to_json`)."""
    return "".join(json.dumps(result.to_json(scheme), ensure_ascii=False) + "\n" for result in results)


CONLLU_COLUMNS = {"upos": 3, "xpos": 4, "feats": 5, "deprel": 7}


def format_conllu(results: Sequence[TaggedText], field: str) -> str:
    """CoNLL-U of tagged raw text: ``# sent_id`` and ``# text`` comments, then per word ID, FORM and the tag
    in ``field``'s column (``misc``: ``Tag=...`` in MISC), ``_`` in every other field (HEAD and DEPREL
    too: a tagger has no parse).  A multiword token gets its range line (``3-4  du``) before its words;
    ``SpaceAfter=No`` goes into the MISC of the token (the range line of a multiword token) where no space
    follows it in the input."""
    lines: list[str] = []
    sentence_id = 0
    for result in results:
        ranges_of = result.multiword or [[] for _ in result.sentences]
        for sentence, tags, ranges in zip(result.sentences, result.tags, ranges_of):
            sentence_id += 1
            first, last = sentence[0].start, sentence[-1].end
            lines += [f"# sent_id = {sentence_id}", f"# text = {' '.join(result.text[first:last].split())}"]
            starts = {begin: stop for begin, stop in ranges}
            inside = {index for begin, stop in ranges for index in range(begin, stop)}
            for number, (token, tag) in enumerate(zip(sentence, tags), start=1):
                space_after_no = token.end < len(result.text) and not result.text[token.end].isspace()
                if number - 1 in starts:
                    stop = starts[number - 1]
                    misc_range = "SpaceAfter=No" if space_after_no else "_"
                    lines.append("\t".join([f"{number}-{stop}", result.text[token.start:token.end]] + ["_"] * 7
                                           + [misc_range]))
                fields = [str(number), token.text] + ["_"] * 8
                misc = []
                if field in CONLLU_COLUMNS:
                    fields[CONLLU_COLUMNS[field]] = tag
                else:
                    misc.append(f"Tag={tag}")
                if space_after_no and number - 1 not in inside:
                    misc.append("SpaceAfter=No")
                fields[9] = "|".join(misc) or "_"
                lines.append("\t".join(fields))
            lines.append("")
    return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------- files and streams
def predict_source(
    checkpoint: str | Path,
    source: str,
    output_format: str = "text",
    pretokenized: bool = False,
    field: str | None = None,
    decode: str | None = None,
    stdin: IO[bytes] | None = None,
    kernels: str = "fast",
    input_format: str = "auto",
    tokenizer: str | Path | None = None,
) -> str:
    """``wintrain predict`` into a string: tag ``source`` (a text file, ``-`` for ``stdin``, or CoNLL-U,
    recognised by its name or first lines, whose FORMs are tagged as they are) and return it in
    ``output_format`` (text, json, conll, conllu).

    CoNLL-U in and CoNLL-U out writes the input back with only ``field`` replaced, byte for byte
    otherwise; any other input gets CoNLL-U made from its tokens.  (The command itself streams:
    :mod:`wintrain.evaluation.stream`.)
    """
    import io

    from wintrain.evaluation.stream import STDIN, Input, OutputSpec, Pipeline, Task
    from wintrain.evaluation.workers import LocalExecutor

    tagger = Tagger.load(checkpoint, decode, kernels, tokenizer)
    output = OutputSpec(output_format, tagger.conllu_field(field) if output_format == "conllu" else field)
    buffer = io.StringIO()
    pipeline = Pipeline(LocalExecutor(tagger, output), input_format, pretokenized, stream=buffer,
                        stdin=stdin)
    pipeline.run([Task(STDIN if source == "-" else Input(source, Path(source)))])
    return buffer.getvalue()


def _pretokenized_result(forms: Sequence[str], tags: list[str]) -> TaggedText:
    """A sentence of given tokens as a text: the tokens joined by single spaces, with their offsets."""
    tokens, offset = [], 0
    for form in forms:
        tokens.append(Token(form, offset, offset + len(form)))
        offset += len(form) + 1
    return TaggedText(" ".join(forms), [tokens], [tags])
