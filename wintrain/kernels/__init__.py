"""The fast kernels: every speed trick of wintrain, each the named twin of one textbook function or layer.

The lecture's model lives in its textbook form in :mod:`wintrain.nn`, :mod:`wintrain.training.optimizers`,
:mod:`wintrain.evaluation.decode` and :mod:`wintrain.data.vectors`: ``np.add.at`` for the lookup gradient,
the row-max softmax, one optimizer update per parameter with m̂ and v̂ written out, the SLL forward algorithm
and Viterbi in log space over padded sentences, the character CNN as a plain convolution.  This package holds
a *drop-in twin* for each of them that computes the same thing with less work (a sorted scatter, one shift for
the whole batch, flat parameter buffers, scaled probabilities, …).  Each twin is registered with
:func:`twin_of`, so that

* ``train.kernels: fast | textbook`` (and ``--kernels`` for ``eval`` / ``predict``, ``kernels=`` for the
  ``Tagger``) picks one set or the other everywhere, through :func:`pick`;
* one parametrised test (``tests/kernels/test_twins.py``) runs every registered pair on the same random inputs
  and checks them equal — bit for bit where the arithmetic is the same, to a stated tolerance where it is
  reordered — and fails when a twin has no case;
* ``wintrain graph`` shows which kernel each node runs.

The modules of this package sit in the pipeline stage of what they twin (``kernels.vectors`` with the data,
``kernels.layers``, ``kernels.chars``, ``kernels.sll`` and ``kernels.inference`` with the network,
``kernels.decode`` with evaluation, ``kernels.optimizers`` with training); this file only keeps the register.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

Kernels = Literal["fast", "textbook"]
KERNELS: tuple[Kernels, ...] = ("fast", "textbook")

T = TypeVar("T")

_TWINS: dict[Any, Any] = {}  # textbook function or class → its fast twin


def twin_of(textbook: Any) -> Callable[[T], T]:
    """Register the decorated function or class as the fast twin of ``textbook`` (one twin each)."""

    def register(fast: T) -> T:
        if textbook in _TWINS:
            raise ValueError(f"{_name(textbook)} already has a fast twin, {_name(_TWINS[textbook])}")
        _TWINS[textbook] = fast
        setattr(fast, "textbook_twin", textbook)  # noqa: B010 (works for functions and classes alike)
        return fast

    return register


def pick(textbook: T, kernels: str) -> T:
    """``textbook`` itself, or with ``kernels == "fast"`` its registered fast twin (the module that
    defines the twin must have been imported; each builder imports the kernel modules it uses)."""
    if kernels == "textbook":
        return textbook
    if kernels != "fast":
        raise ValueError(f"kernels must be one of {', '.join(KERNELS)}, got {kernels!r}")
    try:
        return _TWINS[textbook]
    except KeyError:
        raise LookupError(f"{_name(textbook)} has no fast twin registered (is its kernel module imported?)") from None


def twins() -> dict[Any, Any]:
    """Every registered pair, textbook → fast (a copy)."""
    return dict(_TWINS)


def kernel_name(obj: Any) -> str:
    """How ``wintrain graph`` names the kernel an object runs: ``fast: SortedScatterEmbedding`` for a twin,
    ``textbook: Embedding`` for a textbook class that has one, the bare class name for a node that has a
    single form (``Affine``)."""
    cls = obj if isinstance(obj, type) else type(obj)
    if getattr(cls, "textbook_twin", None) is not None:
        return f"fast: {cls.__name__}"
    return f"textbook: {cls.__name__}" if cls in _TWINS else cls.__name__


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or repr(obj)
