"""The character-level word feature of CharWNN (dos Santos & Zadrozny 2014).

For word u with n = lengths[u] characters, laid out as :mod:`wintrain.data.chars` does it
(h = (width − 1)/2 ``<pad>`` ids on each side of the characters, then right padding)::

    x_{u,p} = [E[ids[u, p]], E[ids[u, p+1]], …, E[ids[u, p+width−1]]]   ∈ R^{width·dim},  0 ≤ p < n
    r_u     = max_{0 ≤ p < n} (x_{u,p} W) + b                              ∈ R^{filters}  (max per filter)

Window p is centred on character p, so every character is the centre of one window.  Only
the n windows of the word enter the max: a window centred on padding never does, so a word
gives exactly the same vector whatever padding its batch has.  Row j·dim + e of W belongs
to window offset j (0 = leftmost) and embedding dimension e.

Why it is computed this way (U words, N = Σ_u lengths[u] real windows, C characters):

* A window's score is a sum over its offsets, x_{u,p} W = Σ_o E[ids[u, p+o]] W_o, where W_o
  is the (dim, F) block of W for offset o.  E[c] W_o depends only on (c, o), so forward first
  computes the (width, C, F) table of all of them with one small product (C is ~100) and then
  scores the N real windows with ``width`` row gathers and adds: no (N, width·dim) im2col
  matrix and no product over it.  Windows centred on padding are never scored.
* The max works on words sorted by length: the words of one length are one (count, n, F)
  block, so it takes one ``max`` and one ``equal`` per distinct length (about 15 on
  CoNLL-2003) instead of a cost per word.  The ``equal`` marks each word's winning window
  per filter; ties (identical windows, e.g. "ana" twice in "banana") keep the first.
* Backward: the gradient of a max goes to its winning window, dz = dout repeated over the
  word's windows × the winner mask; then ∂/∂(E[c] W_o) = Σ of dz over windows with character
  c at offset o (one ``scatter_rows`` per offset, C rows), from which dW_o = Eᵀ ∂(E W_o) and
  dE = Σ_o ∂(E W_o) W_oᵀ are small products; db = Σ_u dout.

On the CoNLL-2003 reference model with batch 256 (about 690 distinct forms and 3,900
characters a batch; float32, one BLAS thread): forward 0.9 ms and forward + backward
1.5 ms, against 1.1 ms and 2.8 ms with an im2col product and a −inf padded max.
* The ``<pad>`` row (id 0) is a constant zero vector: it is zeroed at construction and
  never gets a gradient (its row is left out of ``table.rows``).  Masked windows cannot
  send gradient anywhere anyway — they never win the max.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wintrain.data.chars import CharBatch
from wintrain.nn.layers import Layer, Parameter, scatter_rows

PAD_ID = 0


class CharCNN(Layer):
    """Character embeddings → convolution over windows of ``width`` characters → max over
    positions: ids (U, L), lengths (U,) → (U, filters).  See the module docstring.

    table: (n_chars, dim) character embeddings (row 0 = ``<pad>``, set to zero here, in
    place); weight: (width·dim, filters); bias: (filters,).  All arrays share the table's
    dtype (float32 for training, float64 for gradient checks).
    """

    def __init__(self, table: np.ndarray, weight: np.ndarray, bias: np.ndarray, width: int,
                 name: str = "chars") -> None:
        if width < 1 or width % 2 == 0:
            raise ValueError(f"the character window width must be odd and >= 1, got {width}")
        if table.ndim != 2 or len(table) < 2:
            raise ValueError(f"the character table must be (n_chars >= 2, dim), got shape {table.shape}")
        dim = table.shape[1]
        if weight.ndim != 2 or weight.shape[0] != width * dim:
            raise ValueError(f"the weight must be ({width * dim}, filters) for width {width} and dim {dim}, "
                             f"got shape {weight.shape}")
        if bias.shape != (weight.shape[1],):
            raise ValueError(f"the bias must be ({weight.shape[1]},), got shape {bias.shape}")
        if not (table.dtype == weight.dtype == bias.dtype):
            raise ValueError(f"table, weight and bias must share one dtype, got {table.dtype}, {weight.dtype}, "
                             f"{bias.dtype}")
        table[PAD_ID] = 0
        self.table = Parameter(f"embed.{name}", table, decay=False, sparse=True)
        self.weight = Parameter(f"{name}.W", weight, decay=True)
        self.bias = Parameter(f"{name}.b", bias, decay=False)
        self.width = width
        self.half = (width - 1) // 2

    def parameters(self) -> list[Parameter]:
        return [self.table, self.weight, self.bias]

    @property
    def dim(self) -> int:
        return int(self.table.value.shape[1])

    @property
    def output_dim(self) -> int:
        return int(self.weight.value.shape[1])

    def forward(self, ids: np.ndarray, lengths: np.ndarray, train: bool = False) -> np.ndarray:  # type: ignore[override]
        """ids: (U, L) int character ids, lengths: (U,) int (1 ≤ lengths ≤ L − width + 1) →
        (U, filters).  Columns outside a word's characters must be ``<pad>`` (0)."""
        words, columns = ids.shape
        positions = columns - self.width + 1
        filters = self.output_dim
        if positions < 1:
            raise ValueError(f"character ids need at least width = {self.width} columns, got {columns}")
        if lengths.shape != (words,):
            raise ValueError(f"lengths must be ({words},), got shape {lengths.shape}")
        dtype = self.table.value.dtype
        if words == 0:
            self.cache = None
            return np.empty((0, filters), dtype)
        if int(lengths.min()) < 1 or int(lengths.max()) > positions:
            raise ValueError(f"character lengths must lie in [1, {positions}] for {columns} columns")
        order = None if np.all(lengths[1:] >= lengths[:-1]) else np.argsort(lengths, kind="stable")
        if order is not None:  # the max below works on words grouped by length
            ids, lengths = ids[order], lengths[order]
        is_character = np.arange(positions) < lengths[:, None]  # (U, P): window centred on a character
        window_ids = sliding_window_view(ids, self.width, axis=1)[is_character]  # (N, width)
        projections = self._projections()  # (width·n_chars, F)
        n_chars = len(self.table.value)
        scores = np.take(projections, window_ids[:, 0], axis=0)  # (N, F)
        for offset in range(1, self.width):
            scores += np.take(projections, window_ids[:, offset] + offset * n_chars, axis=0)
        best = _max_by_length(scores, lengths)  # (U, F)
        self.cache = (window_ids, scores, best, lengths, order)
        out = best + self.bias.value
        if order is not None:
            unsorted = np.empty_like(out)
            unsorted[order] = out
            return unsorted
        return out

    def _projections(self) -> np.ndarray:
        """(width·n_chars, F): row o·n_chars + c is E[c] W_o, the contribution of character c at
        window offset o — a convolution over one-hot characters is a sum of table lookups."""
        width, dim, filters = self.width, self.dim, self.output_dim
        per_offset = self.weight.value.reshape(width, dim, filters)  # W_o
        stacked = self.table.value @ per_offset.transpose(1, 0, 2).reshape(dim, width * filters)  # (C, width·F)
        return stacked.reshape(-1, width, filters).transpose(1, 0, 2).reshape(width * len(self.table.value), filters)

    def backward(self, dout: np.ndarray) -> None:
        """dout: (U, filters).  Sets the gradients of W, b and the used table rows; returns
        nothing (character ids have no gradient)."""
        if self.cache is None:
            self.weight.grad[...] = 0
            self.bias.grad[...] = 0
            self.table.rows = np.zeros(0, np.int64)
            self.table.grad = np.zeros((0, self.dim), self.table.value.dtype)
            return None
        window_ids, scores, best, lengths, order = self.cache
        winners = _winners_by_length(scores, best, lengths)  # (N, F): the first maximum of each word
        dout = np.asarray(dout, dtype=self.table.value.dtype)
        np.sum(dout, axis=0, out=self.bias.grad)
        if order is not None:
            dout = dout[order]
        dscores = np.repeat(dout, lengths, axis=0)  # the gradient goes to each word's winning window
        dscores *= winners

        # ∂/∂(E[c] W_o) = Σ of dscores over the windows with character c at offset o
        width, dim, filters, n_chars = self.width, self.dim, self.output_dim, len(self.table.value)
        dprojections = np.zeros((width, n_chars, filters), dscores.dtype)
        for offset in range(width):
            rows, sums = scatter_rows(window_ids[:, offset], dscores, n_chars)
            dprojections[offset, rows] = sums
        table = self.table.value
        dweight = table.T @ dprojections.transpose(1, 0, 2).reshape(n_chars, width * filters)  # (dim, width·F)
        self.weight.grad[...] = dweight.reshape(dim, width, filters).transpose(1, 0, 2).reshape(width * dim, filters)
        per_offset = self.weight.value.reshape(width, dim, filters)
        dtable = np.einsum("ocf,odf->cd", dprojections, per_offset)  # Σ_o dT_o W_oᵀ: (C, dim)
        used = np.flatnonzero(np.bincount(window_ids.reshape(-1), minlength=n_chars))
        used = used[used != PAD_ID]
        self.table.rows, self.table.grad = used, dtable[used]
        return None


def _max_by_length(scores: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """scores: (N, F), the windows of U words of non-decreasing ``lengths`` (U,) back to back →
    each word's maximum over its windows (U, F).

    Words of one length are one (count, n, F) block, so each step is one reduction per distinct
    length: ``np.maximum.reduceat`` and ``argmax`` over the middle axis pay per word and would
    take several times longer."""
    best = np.empty((len(lengths), scores.shape[1]), scores.dtype)
    for rows, words, length in _length_blocks(lengths):
        np.max(scores[rows].reshape(words.stop - words.start, length, -1), axis=1, out=best[words])
    return best


def _winners_by_length(scores: np.ndarray, best: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The (N, F) mask of each word's winning window per filter (``scores`` == its word's max
    ``best``), the first where windows tie (a word that repeats a window of characters).
    Arguments as for :func:`_max_by_length`; only backward needs it."""
    winners = np.empty(scores.shape, bool)
    for rows, words, length in _length_blocks(lengths):
        count = words.stop - words.start
        top = best[words]
        mask = winners[rows].reshape(count, length, -1)
        np.equal(scores[rows].reshape(count, length, -1), top[:, None, :], out=mask)
        if length > 1 and np.count_nonzero(mask) > top.size:  # ties: keep the first winner of each
            mask &= np.cumsum(mask, axis=1, dtype=np.int16) == 1
    return winners


def _length_blocks(lengths: np.ndarray) -> list[tuple[slice, slice, int]]:
    """For non-decreasing ``lengths`` (U,): per distinct length n, the slice of its windows
    (rows of the (N, F) scores), the slice of its words, and n."""
    values, counts = np.unique(lengths, return_counts=True)
    blocks, row, word = [], 0, 0
    for length, count in zip(values.tolist(), counts.tolist()):
        blocks.append((slice(row, row + length * count), slice(word, word + count), length))
        row += length * count
        word += count
    return blocks


class CharFeature(Layer):
    """The character feature at every window position: a :class:`CharBatch` → (B, w, filters).

    The convolution (:class:`CharCNN`) runs once per distinct word form of the batch (U of them);
    its (U, filters) vectors are then gathered into the window positions, and a position outside
    the sentence gets zeros.  Backward sums the gradients of all positions of the same form
    (``scatter_rows``) before one backward pass of the convolution.  Used inside
    :class:`~wintrain.nn.layers.WindowConcat` like an :class:`~wintrain.nn.layers.Embedding`.
    """

    trainable = True

    def __init__(self, cnn: CharCNN) -> None:
        self.cnn = cnn

    def parameters(self) -> list[Parameter]:
        return self.cnn.parameters()

    @property
    def table(self) -> Parameter:
        """The character embedding table (saved with the model like the other tables)."""
        return self.cnn.table

    @property
    def dim(self) -> int:
        return self.cnn.output_dim

    def forward(self, batch: CharBatch, train: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """batch: local ids (B, w) and the characters of its U forms → (B, w, filters), into ``out`` when given."""
        vectors = self.cnn.forward(batch.ids, batch.lengths, train)  # (U, F)
        padded = np.empty((len(vectors) + 1, vectors.shape[1]), vectors.dtype)
        padded[0] = 0.0
        padded[1:] = vectors
        self.cache = (batch.local, len(vectors))
        return np.take(padded, batch.local, axis=0, out=out)

    def backward(self, dout: np.ndarray) -> None:
        """dout: (B, w, filters).  Sets the convolution's gradients; returns nothing."""
        local, count = self.cache
        rows, sums = scatter_rows(local.reshape(-1), dout.reshape(-1, dout.shape[-1]), count + 1)
        dvectors = np.zeros((count, dout.shape[-1]), dout.dtype)
        keep = rows > 0
        dvectors[rows[keep] - 1] = sums[keep]
        self.cnn.backward(dvectors)
