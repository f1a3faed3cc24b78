"""Registries: a config value maps to exactly one class; names and parameters are checked."""

from __future__ import annotations

import pytest

from wintrain.registry import Registry, did_you_mean

from conftest import error_of

SHAPES: Registry[object] = Registry("shape")


@SHAPES.register("square")
class Square:
    def __init__(self, side: float = 1.0, filled: bool = False) -> None:
        if side <= 0:
            raise ValueError(f"side must be > 0, got {side}")
        self.side, self.filled = side, filled


@SHAPES.register("circle")
class Circle:
    def __init__(self, colour: str, radius: int = 2) -> None:
        self.colour, self.radius = colour, radius


def test_names_lookup_and_duplicates():
    assert SHAPES.names() == ["square", "circle"] and "circle" in SHAPES
    assert SHAPES.get("square") is Square
    with pytest.raises(ValueError, match="registered twice"):
        SHAPES.register("square")(Circle)


def test_unknown_name_suggests_and_lists_the_valid_ones():
    message = error_of(SHAPES.get, "sqare", "cfg.yaml: model.shape")
    assert message == ("cfg.yaml: model.shape: unknown shape 'sqare' — did you mean 'square'?; "
                       "valid names: square, circle")
    assert did_you_mean("zzz", ["square"]) == ""


def test_parameters_are_the_keyword_arguments_with_defaults():
    assert list(SHAPES.parameters("square")) == ["side", "filled"]
    assert list(SHAPES.parameters("circle")) == ["radius"]  # colour is supplied by the code


def test_build_converts_checks_and_reports_values():
    square = SHAPES.build("square", {"side": "2.5", "filled": "yes"}, "cfg.yaml: shape")
    assert isinstance(square, Square) and square.side == 2.5 and square.filled is True
    circle = SHAPES.build("circle", {"radius": 3}, "", colour="red")
    assert isinstance(circle, Circle) and (circle.colour, circle.radius) == ("red", 3)
    assert "shape.sid: unknown parameter for shape 'square' — did you mean 'side'?" in error_of(
        SHAPES.build, "square", {"sid": 1}, "shape")
    assert "shape.side: " in error_of(SHAPES.build, "square", {"side": "wide"}, "shape")
    message = error_of(SHAPES.build, "square", {"side": -1}, "cfg.yaml: shape")
    assert message == "cfg.yaml: shape: side must be > 0, got -1.0"
