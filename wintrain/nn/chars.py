"""The character-level word feature of CharWNN (dos Santos & Zadrozny 2014), as a plain convolution.

For word u with n = lengths[u] characters, laid out as :mod:`wintrain.data.chars` does it
(h = (width − 1)/2 ``<pad>`` ids on each side of the characters, then right padding)::

    x_{u,p} = [E[ids[u, p]], E[ids[u, p+1]], …, E[ids[u, p+width−1]]]   ∈ R^{width·dim},  0 ≤ p < n
    r_u     = max_{0 ≤ p < n} (x_{u,p} W) + b                              ∈ R^{filters}  (max per filter)

Window p is centred on character p, so every character is the centre of one window.  Only the n
windows of the word enter the max: a window centred on padding never does, so a word gives exactly
the same vector whatever padding its batch has.  Row j·dim + e of W belongs to window offset j
(0 = leftmost) and embedding dimension e.

Backward: the gradient of a max goes to its winning window (the first, where windows tie):
∂J/∂score[u, p, f] = dout[u, f] at p = winner[u, f], else 0; then dW = Σ x_{u,p}ᵀ ∂score,
db = Σ_u dout, ∂J/∂x = ∂score Wᵀ, and each window's gradient is added back onto the characters it
covers and from there into their rows of E.  The ``<pad>`` row (id 0) is a constant zero vector: it
is zeroed at construction and never gets a gradient (its row is left out of ``table.rows``).

The fast twin (:class:`wintrain.kernels.chars.ProjectionCharCNN`) scores windows from a table of every
character's projection at every offset instead of building the (windows × width·dim) matrix.
"""

from __future__ import annotations

from collections.abc import Callable

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

    scatter: Callable[..., tuple[np.ndarray, np.ndarray]] = staticmethod(scatter_rows)

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
        self.name = name
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

    def check_input(self, ids: np.ndarray, lengths: np.ndarray) -> int:
        """The number of window positions P = L − width + 1 of ids (U, L); raises on bad shapes or lengths."""
        words, columns = ids.shape
        positions = columns - self.width + 1
        if positions < 1:
            raise ValueError(f"character ids need at least width = {self.width} columns, got {columns}")
        if lengths.shape != (words,):
            raise ValueError(f"lengths must be ({words},), got shape {lengths.shape}")
        if words and (int(lengths.min()) < 1 or int(lengths.max()) > positions):
            raise ValueError(f"character lengths must lie in [1, {positions}] for {columns} columns")
        return positions

    def forward(self, ids: np.ndarray, lengths: np.ndarray, train: bool = False) -> np.ndarray:  # type: ignore[override]
        """ids: (U, L) int character ids, lengths: (U,) int (1 ≤ lengths ≤ L − width + 1) →
        (U, filters).  Columns outside a word's characters must be ``<pad>`` (0)."""
        positions = self.check_input(ids, lengths)
        words = len(ids)
        embedded = self.table.value[ids]  # (U, L, dim)
        windows = sliding_window_view(embedded, self.width, axis=1)  # (U, P, dim, width)
        x = windows.transpose(0, 1, 3, 2).reshape(words, positions, self.width * self.dim)  # x_{u,p}
        scores = x @ self.weight.value  # (U, P, F)
        scores[np.arange(positions)[None, :] >= lengths[:, None]] = -np.inf  # windows centred on padding
        winner = scores.argmax(axis=1)  # (U, F): the first best window of each word and filter
        best = np.take_along_axis(scores, winner[:, None, :], axis=1)[:, 0]
        self.cache = (ids, x, winner)
        return best + self.bias.value

    def backward(self, dout: np.ndarray) -> None:
        """dout: (U, filters).  Sets the gradients of W, b and the used table rows; returns
        nothing (character ids have no gradient)."""
        ids, x, winner = self.cache
        words, positions, _ = x.shape
        filters, width, dim = self.output_dim, self.width, self.dim
        dout = np.asarray(dout, dtype=self.table.value.dtype)
        dscores = np.zeros((words, positions, filters), dout.dtype)
        np.put_along_axis(dscores, winner[:, None, :], dout[:, None, :], axis=1)  # the max's gradient
        self.weight.grad[...] = x.reshape(-1, width * dim).T @ dscores.reshape(-1, filters)
        self.bias.grad[...] = dout.sum(axis=0)
        dx = dscores @ self.weight.value.T  # (U, P, width·dim)
        dembedded = np.zeros(ids.shape + (dim,), dout.dtype)  # (U, L, dim)
        for offset in range(width):  # window p's offset o is character p + o
            dembedded[:, offset:offset + positions] += dx[:, :, offset * dim:(offset + 1) * dim]
        rows, grad = self.scatter(ids.reshape(-1), dembedded.reshape(-1, dim), len(self.table.value))
        real = rows != PAD_ID
        self.table.rows, self.table.grad = rows[real], grad[real]
        return None


class CharFeature(Layer):
    """The character feature at every window position: a :class:`CharBatch` → (B, w, filters).

    The convolution (:class:`CharCNN`) runs once per distinct word form of the batch (U of them);
    its (U, filters) vectors are then gathered into the window positions, and a position outside
    the sentence gets zeros.  Backward sums the gradients of all positions of the same form
    (:attr:`scatter`) before one backward pass of the convolution.  Used inside
    :class:`~wintrain.nn.layers.WindowConcat` like an :class:`~wintrain.nn.layers.Embedding`.
    """

    trainable = True
    scatter: Callable[..., tuple[np.ndarray, np.ndarray]] = staticmethod(scatter_rows)

    def __init__(self, cnn: CharCNN) -> None:
        self.cnn = cnn
        self.name = cnn.name

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
        rows, sums = self.scatter(local.reshape(-1), dout.reshape(-1, dout.shape[-1]), count + 1)
        dvectors = np.zeros((count, dout.shape[-1]), dout.dtype)
        keep = rows > 0
        dvectors[rows[keep] - 1] = sums[keep]
        self.cnn.backward(dvectors)
