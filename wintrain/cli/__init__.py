"""The ``wintrain`` command line: parses arguments, calls library functions, prints.

One module per group of commands (``train``; ``tag``: eval and predict; ``tune``: sweeps;
``inspect``: check, graph, gradcheck, plot, config files; ``report``: the HTML report), all on
one typer ``app``.  User
mistakes raise :class:`~wintrain.errors.WintrainError` (and bad arguments a usage error);
:func:`main` catches both once and prints one line (exit 2).  ``--debug`` shows the
traceback instead.  Libraries are imported inside each command, after the BLAS thread count
is fixed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from wintrain import __version__
from wintrain.errors import WintrainError

app = typer.Typer(
    name="wintrain",
    help="Train, evaluate and tune window-based word classifiers (CS224n lectures 3-4) in NumPy.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
PIPED_WIDTH = 200


def _console(stderr: bool = False) -> Console:
    """A rich console; into a pipe or file (no terminal, no ``COLUMNS``) it is ``PIPED_WIDTH``
    wide, so tables such as a 17-tag confusion matrix are not cut to rich's default of 80."""
    console = Console(stderr=stderr)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = PIPED_WIDTH
    return console


stdout = _console()
stderr = _console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(help="YAML experiment config, e.g. configs/quickstart.yaml.")]
CheckpointArg = Annotated[Path, typer.Argument(help="A checkpoint written by training, e.g. runs/x/best.npz.")]
SetOption = Annotated[
    list[str], typer.Option("--set", help="Override a config key: --set optimizer.lr=0.01 (repeatable).")
]

# typer may bundle its own copy of click: take the exception classes from typer's public BadParameter
_USAGE_ERROR: type[Exception] = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")
_CLICK_EXCEPTION: type[Exception] = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")


def use_blas_threads(default: int) -> None:
    """Fix NumPy's BLAS thread count before numpy is first imported (WINTRAIN_THREADS overrides).

    Training runs many small matrix products: one thread per process, because on a shared
    machine a second BLAS thread spin-waits for a busy core (the README's "Threads" section has
    the measurement).  Tagging runs a few large ones: all cores.
    """
    threads = os.environ.get("WINTRAIN_THREADS", str(default))
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, threads)


CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command stopped by a closed pipe


def quiet_after_closed_pipe() -> None:
    """Point standard output at /dev/null, so the interpreter's final flush into a pipe whose reader went
    away does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


@contextmanager
def closed_pipe_exits_141() -> Iterator[None]:
    """A command's own guard for a closed pipe: click turns an ``EPIPE`` raised inside a command into exit
    1 before :func:`main` sees it, so a command that writes as it goes stops here, quietly, with 141."""
    try:
        yield
    except BrokenPipeError:
        quiet_after_closed_pipe()
        raise typer.Exit(CLOSED_PIPE) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wintrain {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks (for bug reports).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version.")] = False,
) -> None:
    """(``--debug`` is read by :func:`main` before the command runs.)"""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line on stderr and exit 2 for user errors and bad arguments."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="wintrain", standalone_mode=False)
    except WintrainError as error:
        if debug:
            raise
        stderr.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except _USAGE_ERROR as error:  # a bad option or argument: one line, like every user error
        usage: Any = error
        if type(usage).__name__ == "NoArgsIsHelpError":  # plain `wintrain`: the help
            usage.show()
            sys.exit(0)
        hint = f"; see {usage.ctx.command_path} --help" if usage.ctx is not None else ""
        message = " ".join(usage.format_message().split()).rstrip(".")
        stderr.print(f"error: {message}{hint}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except _CLICK_EXCEPTION as error:
        other: Any = error
        other.show()
        sys.exit(other.exit_code)
    except typer.Abort:
        stderr.print("aborted", highlight=False)
        sys.exit(130)
    except BrokenPipeError:  # the reader went away (`wintrain eval ... | head`): stop quietly, like cat
        quiet_after_closed_pipe()
        sys.exit(CLOSED_PIPE)
    sys.exit(code if isinstance(code, int) else 0)


# each module registers its commands on app, in the order --help lists them
from wintrain.cli import train, tag, tune, inspect, report  # noqa: E402,F401,I001
