"""wintrain: train, evaluate and tune window-based word classifiers in NumPy.

From Python::

    import wintrain
    config = wintrain.load_config("configs/quickstart.yaml", ["train.epochs=3"])
    summary = wintrain.train(config, "runs/mine")          # trains, writes the run folder
    metrics = wintrain.evaluate("runs/mine/best.npz", "data/synthetic/test.txt")
    tagger = wintrain.Tagger.load("runs/mine/best.npz")
    tagger.tag("Angela Merkel visited Paris.")              # tokens, tags, offsets, entities
    tokenizer = wintrain.Tokenizer.load("runs/tok/best.npz")  # trained with task: tokenize
    wintrain.Tagger.load("runs/pos/best.npz", tokenizer=tokenizer).tag("Il va au marché.")

The names below are imported on first use, so that ``import wintrain`` stays cheap and the
command line can fix NumPy's thread count before numpy loads.
"""

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_config": ("wintrain.config", "load_config"),
    "train": ("wintrain.training.run", "train"),
    "resume": ("wintrain.training.run", "resume"),
    "evaluate": ("wintrain.evaluation.evaluate", "evaluate_checkpoint"),
    "load_checkpoint": ("wintrain.checkpoint", "load_checkpoint"),
    "Tagger": ("wintrain.evaluation.tagger", "Tagger"),
    "Tokenizer": ("wintrain.evaluation.tokenizer", "Tokenizer"),
    "WintrainError": ("wintrain.errors", "WintrainError"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wintrain' has no attribute {name!r}")
    from importlib import import_module

    module, attribute = _EXPORTS[name]
    return getattr(import_module(module), attribute)
