"""Name → class registries for the choices a config makes (activations, initializers,
optimizers, schedules).

Each family has exactly one :class:`Registry`; a config value maps to exactly one class.
An unknown name, or an unknown / mistyped parameter of a known name, is a
:class:`~wintrain.errors.WintrainError` that lists the valid choices.  The parameters an
entry accepts are the keyword arguments of its ``__init__`` (each with a default, so a name
alone works); their annotations are used to check and convert config values.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

import pydantic

from wintrain.errors import WintrainError, listed, shown
from wintrain.kernels import pick

T = TypeVar("T")


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    """Return ``" — did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


class Registry(Generic[T]):
    """A named family of classes, e.g. ``OPTIMIZERS = Registry("optimizer")``."""

    INTERNAL: ClassVar[frozenset[str]] = frozenset({"self", "name"})
    """Keyword arguments never set from a config: in a config ``name`` picks the entry itself, so an
    entry's own ``name`` argument (an activation's node name) is always supplied by the code."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, type[T]] = {}

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def add(cls: type[T]) -> type[T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._entries[name] = cls
            return cls

        return add

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str, where: str = "") -> type[T]:
        """The class registered as ``name``; ``where`` prefixes the error (e.g. ``"cfg.yaml: optimizer.name"``)."""
        if name not in self._entries:
            prefix = f"{where}: " if where else ""
            raise WintrainError(
                f"{prefix}unknown {self.kind} {name!r}{did_you_mean(name, self._entries)}; "
                f"valid names: {listed(list(self._entries), limit=12)}"
            )
        return self._entries[name]

    def parameters(self, name: str) -> dict[str, inspect.Parameter]:
        """The user-settable parameters of an entry (its keyword arguments with defaults, but ``name``)."""
        signature = inspect.signature(self.get(name).__init__)
        return {
            p.name: p
            for p in signature.parameters.values()
            if p.name not in self.INTERNAL and p.default is not inspect.Parameter.empty
        }

    def check_params(
        self, name: str, params: dict[str, Any], where: str = "", section_keys: typing.Sequence[str] = ()
    ) -> dict[str, Any]:
        """Validate ``params`` against the entry's signature; return them converted to the annotated types.

        ``section_keys`` are the other keys of the config section (e.g. the optimizer's ``lr``, from
        :meth:`wintrain.config.Choice.declared_keys`), offered too when a mistyped parameter is closer to
        one of them and listed after the entry's parameters."""
        cls = self.get(name, where)
        accepted = self.parameters(name)
        hints = typing.get_type_hints(cls.__init__)
        prefix = f"{where}." if where else ""
        others = [key for key in section_keys if key not in accepted]
        checked: dict[str, Any] = {}
        for key, value in params.items():
            if key not in accepted:
                valid = listed(list(accepted), limit=12) or "none"
                also = f"; other keys of the section: {listed(others, limit=12)}" if others else ""
                raise WintrainError(
                    f"{prefix}{key}: unknown parameter for {self.kind} {name!r}"
                    f"{did_you_mean(key, [*accepted, *others])}; its parameters are: {valid}{also}"
                )
            annotation = hints.get(key, Any)
            try:
                checked[key] = pydantic.TypeAdapter(annotation).validate_python(value, strict=False)
            except pydantic.ValidationError as error:
                reason = error.errors()[0]["msg"]
                raise WintrainError(f"{prefix}{key}: {reason} (got {shown(value)})") from None
        return checked

    def build(self, name: str, params: dict[str, Any] | None = None, where: str = "",
              section_keys: typing.Sequence[str] = (), kernels: str = "textbook", /, **fixed: Any) -> T:
        """Instantiate ``name`` with user ``params`` (checked) plus ``fixed`` arguments from the code;
        with ``kernels="fast"`` the entry's fast twin (:func:`wintrain.kernels.pick`) is built instead.

        The first five arguments are positional-only, so ``fixed`` may use any keyword."""
        checked = self.check_params(name, {} if params is None else params, where, section_keys)
        try:
            return pick(self.get(name, where), kernels)(**fixed, **checked)
        except ValueError as error:  # an entry rejecting a value range, e.g. momentum >= 1
            raise WintrainError(f"{where}: {error}" if where else str(error)) from None
