"""The character-level word feature of CharWNN (dos Santos & Zadrozny 2014).

For word u with n = lengths[u] characters, laid out as :mod:`wintrain.data.chars` does it
(h = (width − 1)/2 ``<pad>`` ids on each side of the characters, then right padding)::

    x_{u,p} = [E[ids[u, p]], E[ids[u, p+1]], …, E[ids[u, p+width−1]]]   ∈ R^{width·dim},  0 ≤ p < n
    r_u     = max_{0 ≤ p < n} (x_{u,p} W) + b                              ∈ R^{filters}  (max per filter)

Window p is centred on character p, so every character is the centre of one window.  Only
the n windows of the word enter the max: a window centred on padding never does, so a word
gives exactly the same vector whatever padding its batch has.  Row j·dim + e of W belongs
to window offset j (0 = leftmost) and embedding dimension e.

Why it is computed this way (U words, N = Σ_u lengths[u] real windows, P = L − width + 1):

* Forward takes only the N real windows — ``sliding_window_view`` of the ids (no copy)
  indexed with the (U, P) "centre is a character" mask — gathers their embeddings straight
  into the (N, width·dim) im2col matrix and does one matrix product with W.  The windows
  centred on padding are never computed: with usual word lengths N is 35–60 % of U·P, and
  that share of both matrix products is saved.  The max over positions scatters the (N, F)
  scores into a −inf filled (U, P, F) array and reduces over P (faster than
  ``np.maximum.reduceat`` on short segments).
* Backward: the gradient of a max goes to its first argmax position (ties — identical
  windows, e.g. "ana" twice in "banana" — keep the first):
  dz[u,p,f] = dout[u,f]·[p = argmax], found as "score == its word's max" (a tie is
  detected by counting the winners and only then resolved).  Then dW = Xᵀ dz and
  dX = dz Wᵀ over the N real windows, db = Σ_u dout, and the window gradients are folded
  back onto the characters — each character gets the slice of every window it sits in
  (one loop over the width offsets) — before one sparse ``scatter_rows`` over the N
  characters.  Gathering only the U·F argmax windows for dW (Σ_u x_{u,argmax}·dout[u,f])
  has fewer FLOPs but was slower: for U = 1000, P = 12, width·dim = 75, F = 50 (float32,
  one thread) the dense product took 0.6 ms, the gather + einsum 1.5 ms plus 1.2 ms to
  find the argmax itself — and the dense dz is needed for dX anyway.

Measured on that batch (float32, one BLAS thread): forward ≈ 1.4 ms, backward ≈ 2.2 ms,
against 1.7 ms / 4–6 ms when every (U, P) window is computed and masked to −inf.
Memory: the max uses a (U, P, F) array, so score a whole vocabulary in chunks of a few
thousand words.
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
        is_character = np.arange(positions) < lengths[:, None]  # (U, P): window centred on a character
        window_ids = sliding_window_view(ids, self.width, axis=1)[is_character]  # (N, width)
        windows = np.take(self.table.value, window_ids, axis=0).reshape(len(window_ids), -1)  # (N, width·dim)
        scores = windows @ self.weight.value  # (N, F)
        all_positions = np.full((words, positions, filters), -np.inf, dtype)
        all_positions[is_character] = scores
        best = all_positions.max(axis=1)  # (U, F)
        self.cache = (window_ids, windows, scores, best, lengths)
        return best + self.bias.value

    def backward(self, dout: np.ndarray) -> None:
        """dout: (U, filters).  Sets the gradients of W, b and the used table rows; returns
        nothing (character ids have no gradient)."""
        if self.cache is None:
            self.weight.grad[...] = 0
            self.bias.grad[...] = 0
            self.table.rows = np.zeros(0, np.int64)
            self.table.grad = np.zeros((0, self.dim), self.table.value.dtype)
            return None
        window_ids, windows, scores, best, lengths = self.cache
        dout = np.asarray(dout, dtype=scores.dtype)
        np.sum(dout, axis=0, out=self.bias.grad)

        winners = scores == np.repeat(best, lengths, axis=0)  # (N, F)
        if np.count_nonzero(winners) != best.size:  # a tie (or a NaN): keep the first maximum only
            winners = _first_in_each_word(winners, lengths)
        dscores = np.repeat(dout, lengths, axis=0)
        dscores *= winners

        np.matmul(windows.T, dscores, out=self.weight.grad)
        dwindows = (dscores @ self.weight.value.T).reshape(len(scores), self.width, self.dim)
        dchars = self._fold(dwindows, window_ids)
        rows, grad = scatter_rows(window_ids[:, self.half], dchars, len(self.table.value))
        if rows.size and rows[0] == PAD_ID:
            rows, grad = rows[1:], grad[1:]
        self.table.rows, self.table.grad = rows, grad
        return None

    def _fold(self, dwindows: np.ndarray, window_ids: np.ndarray) -> np.ndarray:
        """dwindows: (N, width, dim), window_ids: (N, width) → (N, dim), the gradient of each
        character (character k of the batch is the centre of window k).

        Offset j of window k holds character k + j − h; windows of consecutive characters are
        consecutive rows, so offset j is one shifted slice-add.  Offsets on ``<pad>`` are
        dropped first: they would otherwise land on a neighbouring word's characters.
        """
        count = len(dwindows)
        total = np.zeros((count + 2 * self.half, self.dim), dwindows.dtype)
        for offset in range(self.width):
            part = dwindows[:, offset]
            if offset != self.half:
                part = part * (window_ids[:, offset] != PAD_ID)[:, None]
            total[offset:offset + count] += part
        return total[self.half:self.half + count]


def _first_in_each_word(winners: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """winners: (N, F) bool, the rows of word u being the lengths[u] rows after those of the
    words before it → the same with only the first True of each word and column kept."""
    running = np.cumsum(winners, axis=0, dtype=np.int32)
    starts = np.cumsum(lengths) - lengths
    before = np.zeros((len(lengths), winners.shape[1]), np.int32)
    before[1:] = running[starts[1:] - 1]
    running -= np.repeat(before, lengths, axis=0)
    return winners & (running == 1)


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
