"""Worker processes and a Dask cluster write the same bytes as this process."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from wintrain.evaluation.stream import STDIN, Input, OutputSpec, Pipeline, Task
from wintrain.evaluation.tagger import Tagger
from wintrain.evaluation.workers import (
    DaskExecutor,
    LocalExecutor,
    ProcessExecutor,
    TaggerSpec,
    cached_tagger,
    work,
)

import conftest

TEXTS = [f"{p} visited {q}. Yesterday {q} saw {p}!" for p in conftest.PEOPLE for q in conftest.PLACES] * 4


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ner")
    return conftest.tiny_ner_checkpoint(folder, epochs=3)


def tag_with(executor, output: OutputSpec, files: list[Path] | None = None, out_dir: Path | None = None) -> str:
    buffer = io.StringIO()
    data = "\n".join(TEXTS).encode()
    pipeline = Pipeline(executor, chunk=7, stream=buffer, stdin=io.BytesIO(data),
                        keep_going=out_dir is not None)
    tasks = [Task(STDIN)] if files is None else [
        Task(Input(str(f), f), None if out_dir is None else out_dir / f.name) for f in files]
    try:
        pipeline.run(tasks)
    finally:
        executor.close()
    return buffer.getvalue()


def test_the_worker_task_caches_one_tagger_per_spec(checkpoint):
    spec = TaggerSpec(str(checkpoint))
    assert cached_tagger(spec) is cached_tagger(spec)
    from wintrain.evaluation.stream import ChunkJob

    out = work(spec, ChunkJob("text", ["Alice visited Paris."]), OutputSpec("conll"))
    assert out.tokens == 4 and out.text.splitlines()[0].startswith("Alice\t")


@pytest.mark.slow
def test_worker_processes_equal_this_process(checkpoint, tmp_path):
    output = OutputSpec("conllu", "misc")
    local = tag_with(LocalExecutor(Tagger.load(checkpoint), output), output)
    spec = TaggerSpec(str(checkpoint))
    processes = ProcessExecutor(spec, output, jobs=2)
    assert processes._pool.submit(os.getenv, "OPENBLAS_NUM_THREADS").result() == "1"
    assert tag_with(processes, output) == local  # one input, chunks over two workers, sent_ids in order
    files = []
    for index in range(5):
        files.append(tmp_path / f"f{index}.txt")
        files[-1].write_text("\n".join(TEXTS[index::5]), encoding="utf-8")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    tag_with(LocalExecutor(Tagger.load(checkpoint), output), output, files, tmp_path / "one")
    tag_with(ProcessExecutor(spec, output, jobs=2), output, files, tmp_path / "two")
    for f in files:
        assert (tmp_path / "two" / f.name).read_bytes() == (tmp_path / "one" / f.name).read_bytes()


@pytest.mark.parametrize("ship", [False, True])
def test_a_dask_cluster_equals_this_process(checkpoint, ship):
    distributed = pytest.importorskip("dask.distributed")
    output = OutputSpec("json")
    local = tag_with(LocalExecutor(Tagger.load(checkpoint), output), output)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        executor = DaskExecutor(client, TaggerSpec(str(checkpoint)), output, ship=ship)
        assert executor.capacity == 4
        assert tag_with(executor, output) == local
