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


NODES: Registry[object] = Registry("node")


@NODES.register("label")
class Label:
    """Like an activation: ``name`` is supplied by the code (a node name), never by a config."""

    def __init__(self, size: int, name: str = "node") -> None:
        self.size, self.name = size, name


def test_name_is_never_a_user_parameter_and_none_is_said_so():
    assert NODES.parameters("label") == {}
    message = error_of(NODES.build, "label", {"bogus": 1}, "cfg.yaml: node", size=2)
    assert message == "cfg.yaml: node.bogus: unknown parameter for node 'label'; its parameters are: none"
    built = NODES.build("label", {}, "", size=2, name="hidden1.label")
    assert isinstance(built, Label) and built.name == "hidden1.label"


def test_the_real_activations_list_only_their_settable_parameters():
    from wintrain.nn.activations import ACTIVATIONS

    assert list(ACTIVATIONS.parameters("tanh")) == [] and list(ACTIVATIONS.parameters("leaky_relu")) == ["alpha"]
    message = error_of(ACTIVATIONS.check_params, "leaky_relu", {"bogus": 1}, "cfg.yaml: model.activation")
    assert message.endswith("unknown parameter for activation 'leaky_relu'; its parameters are: alpha")


def test_section_keys_are_suggested_and_listed_after_the_parameters():
    expected = ("cfg.yaml: shape.colr: unknown parameter for shape 'square' — did you mean 'color'?; "
                "its parameters are: side, filled; other keys of the section: color, z")
    # declared by the caller (a config section's declared_keys), when checking and when building
    assert error_of(SHAPES.check_params, "square", {"colr": 1}, "cfg.yaml: shape", ["color", "z"]) == expected
    assert error_of(SHAPES.build, "square", {"colr": 1}, "cfg.yaml: shape", ["color", "z"]) == expected
