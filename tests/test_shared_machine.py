"""Runs that share a machine: a locked run folder, full disks and other write errors, file modes."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from wintrain.checkpoint import load_checkpoint
from wintrain.cli import main

slow = pytest.mark.slow


def start_training(config: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "wintrain", "train", str(config), "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wintrain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wintrain", *args], capture_output=True, text=True, timeout=300)


def wait_for_epochs(folder: Path, count: int, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = (folder / "metrics.jsonl").read_text().splitlines() if (folder / "metrics.jsonl").exists() else []
        if len(rows) >= count:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError(f"no {count} epochs within {timeout} s")


def epochs_in(folder: Path) -> list[int]:
    return [json.loads(line)["epoch"] for line in (folder / "metrics.jsonl").read_text().splitlines()]


def one_line(result_stderr: str) -> str:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result_stderr
    return lines[0]


# --------------------------------------------------------------------------- the lock


@slow
def test_a_second_command_on_a_live_run_folder_is_refused_and_the_first_is_unharmed(tiny_data, tmp_path):
    folder = tmp_path / "run"
    first = start_training(tiny_data["config"], folder, "--set", "train.epochs=300")
    wait_for_epochs(folder, 1, first)
    first.send_signal(signal.SIGSTOP)  # hold it mid-run, lock taken
    try:
        for args in (["train", "--resume", str(folder)],
                     ["train", str(tiny_data["config"]), "--out", str(folder), "--force"]):
            result = wintrain(*args)
            assert result.returncode == 2
            line = one_line(result.stderr)
            assert f"{folder}: in use by process {first.pid} (" in line and "wintrain" in line
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=120) == 0, first.communicate()
    assert epochs_in(folder) == list(range(1, 301))  # one row per epoch
    assert json.loads((folder / "summary.json").read_text())["epochs"] == 300


@slow
def test_a_sweep_folder_in_use_is_refused(tiny_data, tmp_path):
    sweep = subprocess.Popen([sys.executable, "-m", "wintrain", "sweep", str(tiny_data["config"]), "--grid",
                              "train.epochs=200,201", "--jobs", "1", "--out", str(tmp_path / "sweep")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "sweep" / ".lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    sweep.send_signal(signal.SIGSTOP)
    try:
        result = wintrain("sweep", str(tiny_data["config"]), "--grid", "train.epochs=200,201", "--jobs", "1",
                          "--out", str(tmp_path / "sweep"))
        assert result.returncode == 2 and f"in use by process {sweep.pid}" in one_line(result.stderr)
    finally:
        sweep.send_signal(signal.SIGCONT)
    assert sweep.wait(timeout=120) == 0, sweep.communicate()


@slow
def test_kill_9_of_the_lock_holder_never_blocks_the_resume(tiny_data, tmp_path):
    folder = tmp_path / "run"
    first = start_training(tiny_data["config"], folder, "--set", "train.epochs=300")
    wait_for_epochs(folder, 3, first)
    first.kill()
    first.wait()
    result = wintrain("train", "--resume", str(folder))
    assert result.returncode == 0, result.stderr
    assert epochs_in(folder) == list(range(1, 301))


# --------------------------------------------------------------------------- write errors


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES],
                         ids=["ENOSPC", "EDQUOT", "EROFS", "EACCES"])
def test_a_failed_checkpoint_write_is_one_line_and_keeps_the_earlier_checkpoints(
        tiny_data, tmp_path, monkeypatch, capsys, code):
    import wintrain.checkpoint as checkpoint_module

    original, calls = checkpoint_module.np.savez, []

    def savez_failing_in_epoch_two(handle, **arrays):
        calls.append(1)
        if len(calls) > 2:  # epoch 1 wrote best.npz and last.npz; the next write fails
            handle.write(b"partial")
            raise OSError(code, os.strerror(code), str(tmp_path / "run" / "best.npz"))
        return original(handle, **arrays)

    monkeypatch.setattr(checkpoint_module.np, "savez", savez_failing_in_epoch_two)
    with pytest.raises(SystemExit) as stopped:
        main(["train", str(tiny_data["config"]), "--out", str(tmp_path / "run"), "--set", "train.epochs=5"])
    assert stopped.value.code == 1
    line = one_line(capsys.readouterr().err)
    assert f"cannot write best.npz ({os.strerror(code)})" in line
    assert "last.npz holds epoch 1, best.npz epoch 1 and stay intact" in line
    assert f"resume with: wintrain train --resume {tmp_path / 'run'}" in line
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")) == []
    assert load_checkpoint(tmp_path / "run" / "last.npz").trainer_arrays
    assert load_checkpoint(tmp_path / "run" / "best.npz").model_arrays
    monkeypatch.undo()
    assert wintrain("train", "--resume", str(tmp_path / "run")).returncode == 0
    assert epochs_in(tmp_path / "run") == [1, 2, 3, 4, 5]


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (skipped where this process may not mount one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): the injected-error test covers this case")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@slow
def test_a_disk_that_fills_up_mid_training(tiny_data, small_disk):
    folder = small_disk / "run"
    first = start_training(tiny_data["config"], folder, "--set", "train.epochs=400")
    wait_for_epochs(folder, 2, first)
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as stream:  # take every free byte, as another program would
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    stream.write(b"\0" * chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    _, err = first.communicate(timeout=120)
    assert first.returncode == 1, err
    line = one_line(err)
    assert "No space left on device" in line and "stay intact" in line
    assert f"resume with: wintrain train --resume {folder}" in line
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    saved = load_checkpoint(folder / "last.npz")
    done = json.loads(str(saved.trainer_arrays["state"]))["epoch"]
    assert done >= 2 and load_checkpoint(folder / "best.npz").model_arrays
    filler.unlink()
    result = wintrain("train", "--resume", str(folder))
    assert result.returncode == 0, result.stderr
    assert epochs_in(folder) == list(range(1, 401))


# --------------------------------------------------------------------------- file modes


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664)])
def test_every_file_of_a_run_folder_follows_the_umask(tiny_data, tmp_path, umask, mode):
    from wintrain.config import load_config
    from wintrain.training.run import train

    previous = os.umask(umask)
    try:
        train(load_config(tiny_data["config"], ["train.epochs=2"]), tmp_path / "run")
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir()}
    assert {"best.npz", "last.npz", "metrics.jsonl", "metrics.csv", "summary.json", "config.yaml"} <= set(modes)
    assert modes == dict.fromkeys(modes, mode)


# --------------------------------------------------------------------------- bounded messages


def test_messages_that_list_things_show_a_handful_and_the_count(tiny_data, tmp_path, capsys):
    lines = [f"w{i} T{i:04d}" for i in range(3000)]
    tiny_data["train"].write_text("\n".join(lines) + "\n")
    tiny_data["dev"].write_text("w1 UNSEEN\n")
    with pytest.raises(SystemExit) as stopped:
        main(["train", str(tiny_data["config"]), "--out", str(tmp_path / "run")])
    assert stopped.value.code == 2
    line = one_line(capsys.readouterr().err)
    assert "tag 'UNSEEN' is not one of the model's 3,000 tags (T0000, T0001, T0002, T0003, T0004, T0005, … " \
           "and 2,994 more)" in line
    assert len(line) < 400
    values = np.arange(2000).tolist()
    with pytest.raises(SystemExit):
        main(["train", str(tiny_data["config"]), "--set", f"model.hidden={values + [-1]}"])
    line = one_line(capsys.readouterr().err)
    assert "hidden layer sizes must be positive" in line and len(line) < 400
