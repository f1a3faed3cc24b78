"""Every user mistake ends in one line on stderr naming the file/key/line, exit 2, no traceback,
and nothing earlier overwritten.  One row per case."""

import json
from pathlib import Path

import numpy as np
import pytest

from wintrain.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny finished run to corrupt checkpoints from."""
    import conftest

    folder = tmp_path_factory.mktemp("trained")
    conftest.write_conll(folder / "train.txt", conftest.tiny_sentences(30, 0))
    (folder / "c.yaml").write_text("data: {train: train.txt, dev: train.txt}\nmodel: {window_size: 3, hidden: [8]}\n"
                                   "embeddings: {dim: 6}\ntrain: {epochs: 1}\n")
    with pytest.raises(SystemExit) as done:
        main(["train", str(folder / "c.yaml"), "--out", str(folder / "run")])
    assert done.value.code in (0, None)
    return folder / "run"


def rewrite_checkpoint(source: Path, target: Path, change) -> Path:
    with np.load(source, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    change(arrays)
    np.savez(target, **arrays)
    return target


def other_config(arrays):
    config = json.loads(str(arrays["config"]))
    config["model"]["hidden"] = [9]
    arrays["config"] = np.array(json.dumps(config))


# Each case: (name, setup(tmp, data, trained) -> argv, substrings the one line must contain)
def config_with(tmp, data, text):
    path = tmp / "bad.yaml"
    path.write_text(data["config"].read_text() + text)
    (tmp / "train.txt").write_text(data["train"].read_text()) if not (tmp / "train.txt").exists() else None
    return path


CASES = [
    ("malformed YAML", lambda t, d, r: ["train", str(config_with(t, d, "model: {window_size: 3\n"))],
     ["bad.yaml:", "invalid YAML"]),
    ("unknown key", lambda t, d, r: ["train", str(config_with(t, d, "optimzer: {lr: 1}\n"))],
     ["optimzer", "did you mean 'optimizer'"]),
    ("wrong type", lambda t, d, r: ["train", str(d["config"]), "--set", "train.epochs=lots"], ["train.epochs"]),
    ("out of range", lambda t, d, r: ["train", str(d["config"]), "--set", "model.window_size=4"],
     ["model.window_size", "odd"]),
    ("unknown registry name", lambda t, d, r: ["train", str(d["config"]), "--set", "schedule.name=cosin"],
     ["cosin", "did you mean 'cosine'", "constant"]),
    ("unknown registry parameter", lambda t, d, r: ["train", str(d["config"]), "--set", "optimizer.betta1=0.8"],
     ["optimizer.betta1", "did you mean 'beta1'"]),
    ("missing config", lambda t, d, r: ["train", str(t / "nope.yaml")], ["nope.yaml", "not found"]),
    ("missing data file", lambda t, d, r: ["train", str(d["config"]), "--set", f"data.dev={t / 'gone.txt'}"],
     ["gone.txt"]),
    ("data path is a folder", lambda t, d, r: ["train", str(d["config"]), "--set", f"data.dev={t}"], ["{t}"]),
    ("empty data set", lambda t, d, r: (d["dev"].write_text("\n\n"), ["train", str(d["config"])])[1], ["dev.txt"]),
    ("line without a tag", lambda t, d, r: (d["train"].write_text("Alice B-PER\nvisited\n"),
                                            ["train", str(d["config"])])[1], ["train.txt:2"]),
    ("non-UTF-8 bytes", lambda t, d, r: (d["train"].write_bytes(b"Alice B-PER\nM\xfcnchen B-LOC\n"),
                                         ["train", str(d["config"])])[1], ["train.txt:2", "UTF-8"]),
    ("unknown tag in dev", lambda t, d, r: (d["dev"].write_text("Alice B-XYZ\n"), ["train", str(d["config"])])[1],
     ["dev.txt:1", "B-XYZ"]),
    ("vector rows of unequal length", lambda t, d, r: (d["vectors"].write_text("alice 1 2 3\nbob 1 2\n"),
                                                       ["train", str(d["config"]), "--set", "embeddings.dim=3"])[1],
     ["vectors.txt:2"]),
    ("vector dimension mismatch", lambda t, d, r: ["train", str(d["config"]), "--set", "embeddings.dim=50"],
     ["vectors.txt", "50"]),
    ("truncated checkpoint", lambda t, d, r: (
        (t / "cut.npz").write_bytes((r / "best.npz").read_bytes()[:3000]), ["eval", str(t / "cut.npz"), "--data",
                                                                             str(d["dev"])])[1], ["cut.npz"]),
    ("corrupt checkpoint", lambda t, d, r: ((t / "junk.npz").write_bytes(b"\x00" * 100),
                                            ["eval", str(t / "junk.npz"), "--data", str(d["dev"])])[1], ["junk.npz"]),
    ("checkpoint of another format version", lambda t, d, r: [
        "eval", str(rewrite_checkpoint(r / "best.npz", t / "v9.npz",
                                       lambda a: a.__setitem__("format_version", np.array(9)))),
        "--data", str(d["dev"])], ["v9.npz", "version 9"]),
    ("checkpoint not matching its config", lambda t, d, r: [
        "eval", str(rewrite_checkpoint(r / "best.npz", t / "mixed.npz", other_config)), "--data", str(d["dev"])],
     ["mixed.npz", "does not match"]),
    ("missing checkpoint", lambda t, d, r: ["eval", str(t / "none.npz"), "--data", str(d["dev"])], ["none.npz"]),
    ("output folder not writable", lambda t, d, r: ((t / "afile").write_text("x"),
                                                    ["train", str(d["config"]), "--out", str(t / "afile" / "run")])[1],
     ["afile"]),
    ("existing run folder", lambda t, d, r: ["train", str(d["config"]), "--out", str(r)], ["{r}", "--force"]),
    ("resume without a run", lambda t, d, r: ["train", "--resume", str(t)], ["not a run folder"]),
    ("bad --set syntax", lambda t, d, r: ["train", str(d["config"]), "--set", "optimizer.lr"], ["KEY=VALUE"]),
    ("run folder in use", lambda t, d, r: (hold(t / "busy"), ["train", str(d["config"]), "--out", str(t / "busy")])[1],
     ["busy: in use by process", "wait for it to finish"]),
    ("resume of a run in use", lambda t, d, r: (hold(r), ["train", "--resume", str(r)])[1], ["in use by process"]),
    ("tag listed twice", lambda t, d, r: ["train", str(d["config"]), "--set", "data.tags=[O, B-PER, O, B-LOC]"],
     ["data.tags", "listed more than once: O"]),
    ("unknown option", lambda t, d, r: ["train", str(d["config"]), "--epochs", "3"],
     ["No such option: --epochs", "see wintrain train --help"]),
    ("optimizer parameter meaning a section key", lambda t, d, r: ["train", str(d["config"]), "--set",
                                                                   "optimizer.lrr=0.1"],
     ["optimizer.lrr: unknown parameter for optimizer 'sparse_adam' — did you mean 'lr'?; its parameters are: "
      "beta1, beta2, eps, amsgrad; other keys of the section: lr, clip_norm, ema_decay"]),
    ("parameter of an activation without any", lambda t, d, r: ["train", str(d["config"]), "--set",
                                                                 "model.activation={name: tanh, bogus: 1}"],
     ["model.activation.bogus: unknown parameter for activation 'tanh'; its parameters are: none"]),
    ("value a registry entry rejects, in check", lambda t, d, r: ["check", str(d["config"]), "--set",
                                                                  "optimizer={name: sgd, momentum: 1.5}"],
     ["tiny.yaml: optimizer: momentum must be in [0, 1), got 1.5"]),
]

HELD = []


def hold(folder: Path) -> None:
    """Lock ``folder`` as a live run would (released after the test)."""
    from wintrain.runfolder import FolderLock

    folder.mkdir(exist_ok=True)
    HELD.append(FolderLock(folder).acquire().announce())


@pytest.fixture(autouse=True)
def release_held_locks():
    yield
    while HELD:
        HELD.pop().release()


@pytest.mark.parametrize("name, setup, needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(name, setup, needles, tiny_data, trained, tmp_path, capsys):
    before = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    argv = setup(tmp_path, tiny_data, trained)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        needle = needle.format(t=tmp_path, r=trained)
        assert needle in lines[0], (needle, lines[0])
    after = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    assert after == before  # nothing of the earlier run was touched
