"""Runs that survive: exact resume after SIGKILL or SIGINT, atomic checkpoints, early stopping."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from wintrain.checkpoint import load_checkpoint
from wintrain.config import load_config
from wintrain.training.events import RunDone
from wintrain.training.run import resume, train

from conftest import REPO

SYNTHETIC = REPO / "tests" / "configs" / "synthetic.yaml"
SETTINGS = ["train.epochs=5", "train.checkpoint_every_steps=37", "model.hidden=[40]"]


def start_training(out, *extra):
    args = [sys.executable, "-m", "wintrain", "train", str(SYNTHETIC), "--out", str(out), "--force"]
    for setting in SETTINGS + list(extra):
        args += ["--set", setting]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    process = start_training(out)
    assert process.wait(timeout=120) == 0, process.stderr.read()
    return load_checkpoint(out / "last.npz")


def finish_resumed(out):
    events = list(resume(out))
    assert isinstance(events[-1], RunDone)
    return load_checkpoint(out / "last.npz")


@pytest.mark.slow
def test_sigkill_at_a_random_point_then_resume_is_bit_identical(tmp_path, uninterrupted):
    rng = np.random.default_rng(int(time.time()))
    for attempt in range(6):
        out = tmp_path / f"run{attempt}"
        process = start_training(out)
        # wait for the first checkpoint, then kill at a random moment of the remaining run
        deadline = time.time() + 60
        while not (out / "last.npz").exists() and process.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.0))
        if process.poll() is not None:
            continue  # finished before the kill; try again
        process.send_signal(signal.SIGKILL)
        process.wait()
        resumed = finish_resumed(out)
        assert_same_arrays(resumed.model_arrays, uninterrupted.model_arrays)
        assert_same_arrays(resumed.optimizer_arrays, uninterrupted.optimizer_arrays)
        rows = (out / "metrics.jsonl").read_text().splitlines()
        assert len(rows) == 5
        return
    pytest.fail("training always finished before it could be killed")


@pytest.mark.slow
def test_sigint_saves_prints_how_to_resume_and_exits_130(tmp_path, uninterrupted):
    out = tmp_path / "run"
    process = start_training(out)
    deadline = time.time() + 60
    while not (out / "last.npz").exists() and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("training finished before SIGINT arrived")
    assert process.returncode == 130, stderr
    assert f"wintrain train --resume {out}" in stdout
    assert "Traceback" not in stderr
    assert_same_arrays(finish_resumed(out).model_arrays, uninterrupted.model_arrays)


@pytest.mark.slow
def test_sigkill_while_writing_checkpoints_leaves_them_loadable(tmp_path):
    config = load_config(SYNTHETIC, ["model.hidden=[40]"])
    train(config, tmp_path / "seed")
    script = (
        "import sys\n"
        "from wintrain.checkpoint import load_checkpoint, save_checkpoint\n"
        "from wintrain.training.trainer import prepare\n"
        "saved = load_checkpoint(sys.argv[1])\n"
        "prepared = prepare(saved.config, saved)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    save_checkpoint(sys.argv[2], saved.config, saved.encoder, prepared.model,\n"
        "                    prepared.optimizer.state_arrays())\n"
    )
    target = tmp_path / "last.npz"
    rng = np.random.default_rng(0)
    for _ in range(12):
        process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "seed" / "last.npz"), str(target)],
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if target.exists():
            assert load_checkpoint(target).encoder.vocab.words  # still a complete checkpoint
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert all(p.name.startswith(".last.npz.") for p in leftovers)


def test_early_stopping_keeps_the_best_checkpoint(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=40", "train.patience=2", "train.min_delta=0.5"])
    summary = train(config, tmp_path / "run")
    assert summary["stopped_early"] is True
    assert summary["epochs"] == summary["best_epoch"] + 2
    assert (tmp_path / "run" / "best.npz").is_file()


def test_skip_batch_policy_skips_non_finite_batches(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["optimizer.name=sgd", "optimizer.lr=1e38", "model.activation=relu",
                                               "train.on_nonfinite=skip_batch", "train.epochs=2"])
    summary = train(config, tmp_path / "run")
    rows = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 2 and '"skipped_batches"' in rows[-1]
    assert summary["epochs"] == 2


def test_resume_refuses_a_folder_without_checkpoint(tmp_path):
    from wintrain.errors import WintrainError

    with pytest.raises(WintrainError, match="not a run folder"):
        list(resume(tmp_path))


def test_resume_refuses_a_finished_run(tiny_data, tmp_path):
    from wintrain.errors import WintrainError

    train(load_config(tiny_data["config"], ["train.epochs=1"]), tmp_path / "run")
    with pytest.raises(WintrainError, match="already finished"):
        list(resume(tmp_path / "run"))


def test_force_starts_afresh(tiny_data, tmp_path):
    config = load_config(tiny_data["config"], ["train.epochs=1"])
    train(config, tmp_path / "run")
    (tmp_path / "run" / "best.npz").write_bytes(b"old")
    from wintrain.runfolder import RunFolder

    RunFolder.create(tmp_path / "run", force=True)
    assert not (tmp_path / "run" / "best.npz").exists() and not (tmp_path / "run" / "metrics.csv").exists()


def test_early_stop_is_kept_when_the_last_epoch_is_interrupted(tiny_data, tmp_path):
    from wintrain.training.events import EpochDone, RunDone, RunInterrupted, StopRequest
    from wintrain.training.run import run

    config = load_config(tiny_data["config"], ["train.epochs=40", "train.patience=1", "train.min_delta=0.5"])
    stop = StopRequest()
    events = []
    for event in run(config, tmp_path / "run", stop=stop):
        events.append(event)
        if isinstance(event, EpochDone) and event.record["epoch"] == 2:
            stop(2)  # SIGINT arrives as patience runs out
    assert isinstance(events[-1], RunDone) and not any(isinstance(e, RunInterrupted) for e in events)
    assert events[-1].summary["stopped_early"] is True


@pytest.mark.parametrize("scheme", ["auto", "iob2"])
def test_a_flat_tag_set_resumes_exactly_with_the_scheme_it_was_saved_with(tiny_data, tmp_path, scheme):
    """A flat tag set keeps ``auto`` in config.yaml and the checkpoints; a run folder written with a
    scheme (as earlier versions did) keeps it, and both resume to the uninterrupted run's weights."""
    import yaml

    from conftest import train_whole_and_interrupted

    for split in ("train", "dev", "test"):
        path = tiny_data[split]
        path.write_text(path.read_text().replace("B-PER", "NOUN").replace("B-LOC", "PROPN").replace(" O\n", " X\n"))
    whole, cut = train_whole_and_interrupted(tiny_data["config"], [f"data.scheme={scheme}"], tmp_path)
    for folder in (whole, cut):
        assert yaml.safe_load((folder / "config.yaml").read_text())["data"]["scheme"] == scheme
        assert load_checkpoint(folder / "last.npz").config.data.scheme == scheme
    assert_same_arrays(load_checkpoint(whole / "last.npz").model_arrays, load_checkpoint(cut / "last.npz").model_arrays)


def test_a_model_learning_iobes_resumes_exactly(tiny_data, tmp_path):
    from conftest import train_whole_and_interrupted

    whole, cut = train_whole_and_interrupted(tiny_data["config"], ["data.model_scheme=iobes"], tmp_path)
    assert "S-PER" in load_checkpoint(whole / "last.npz").encoder.tagset.tags
    assert_same_arrays(load_checkpoint(whole / "last.npz").model_arrays, load_checkpoint(cut / "last.npz").model_arrays)
    assert (whole / "metrics.jsonl").read_text().count("\n") == (cut / "metrics.jsonl").read_text().count("\n")
