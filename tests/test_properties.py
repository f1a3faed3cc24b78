"""Property-based tests: whatever bytes a user feeds the config loader or the data reader,
the only exception that comes out is the project's own error type."""


import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wintrain.config import load_config
from wintrain.data.reader import read_conll
from wintrain.errors import WintrainError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

keys = st.sampled_from(["seed", "data", "train", "dev", "model", "window_size", "hidden", "optimizer", "name", "lr",
                        "schedule", "embeddings", "path", "dim", "loss", "l2", "features", "casing", "output", "x"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(keys, inner, max_size=5)), max_leaves=20)


def only_our_error(function, *args):
    try:
        function(*args)
    except WintrainError as error:
        assert "\n" not in str(error)


@FAST
@given(document=documents)
def test_config_documents_raise_only_wintrain_errors(tmp_path_factory, document):
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    only_our_error(load_config, path)


@FAST
@given(raw=st.binary(max_size=300))
def test_config_bytes_raise_only_wintrain_errors(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_bytes(raw)
    only_our_error(load_config, path)


@FAST
@given(document=st.dictionaries(keys, documents, max_size=4), overrides=st.lists(st.text(max_size=20), max_size=3))
def test_overrides_raise_only_wintrain_errors(tmp_path_factory, document, overrides):
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(yaml.safe_dump({"data": {"train": "t.txt"}, **document}), encoding="utf-8")
    only_our_error(load_config, path, overrides)


noise = st.text(alphabet=" \t\r\x0bAbc-OI\u00e9#", max_size=12)
lines = st.lists(st.one_of(st.just(""), st.just("-DOCSTART- O"), noise),
                 max_size=20)


@FAST
@given(text_lines=lines, token_column=st.integers(-3, 3), tag_column=st.integers(-3, 3))
def test_reader_text_raises_only_wintrain_errors(tmp_path_factory, text_lines, token_column, tag_column):
    path = tmp_path_factory.mktemp("data") / "d.txt"
    path.write_text("\n".join(text_lines), encoding="utf-8")
    only_our_error(read_conll, path, token_column, tag_column)


@FAST
@given(raw=st.binary(max_size=400))
def test_reader_bytes_raise_only_wintrain_errors(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("data") / "d.txt"
    path.write_bytes(raw)
    only_our_error(read_conll, path)
