"""The one error type for user mistakes.

Anything the user can fix (a bad config key, a missing file, a malformed data line, a
diverging loss) raises :class:`WintrainError` with a single-line message that names the
file / key / line and says what to do.  The CLI catches it once, prints the line and exits
with status 2.  Every other exception is a bug and may show a traceback (``--debug``).
"""

from __future__ import annotations

from collections.abc import Sequence


class WintrainError(Exception):
    """A user-facing error: ``str(error)`` is one line that says what is wrong and what to do."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class TrainingDiverged(WintrainError):
    """The loss or a gradient became non-finite; checkpoints written so far stay intact (exit 1)."""

    exit_code = 1


class CannotWrite(WintrainError):
    """A run could not save (full disk, quota, read-only or forbidden folder); what was saved
    before stays intact and the message says how to resume (exit 1)."""

    exit_code = 1


def shown(value: object, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters with ``…`` (a value quoted in a message)."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def listed(items: Sequence[object], limit: int = 6) -> str:
    """``"a, b, c"``, or the first ``limit`` items and the count of the rest: ``"a, b, … and 2,993 more"``.

    Every message that lists things (tags, keys, names, files) goes through here, so no error
    line grows with the data."""
    shown = ", ".join(str(item) for item in items[:limit])
    rest = len(items) - limit
    return f"{shown}, … and {rest:,} more" if rest > 0 else shown
