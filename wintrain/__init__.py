"""wintrain: window-based word classifiers in NumPy."""

__version__ = "0.1.0"

