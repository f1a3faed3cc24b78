"""Where chunks are tagged: this process, local worker processes, or a Dask cluster.

Every executor runs the same unit of work, :func:`wintrain.evaluation.stream.tag_chunk` (a chunk of
texts or CoNLL-U sentences in, its formatted text and token count out), so where a chunk ran never
changes its bytes.  The parent reads and writes; workers only tag.

* :class:`LocalExecutor` tags in this process.
* :class:`ProcessExecutor` starts ``jobs`` worker processes with the ``spawn`` method: each sets
  one BLAS thread in its environment before numpy loads (:func:`start_worker`) and loads the
  checkpoint once.
* :class:`DaskExecutor` submits to a Dask distributed scheduler.  The workers read the checkpoint at
  the same path, or it is shipped: its bytes are scattered to every worker once, written to a
  temporary file there and loaded once per worker process.

This module imports neither numpy nor the tagger at import time: a spawned worker imports it to run
:func:`start_worker` before anything loads numpy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wintrain.errors import WintrainError

if TYPE_CHECKING:
    from wintrain.evaluation.stream import ChunkJob, ChunkOutput, OutputSpec
    from wintrain.evaluation.tagger import Tagger

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class TaggerSpec:
    """How a worker gets its tagger: the checkpoint's path (on the worker), the decoding and kernels, and the
    learned tokenizer's path when there is one; when the checkpoints are shipped, ``digest`` and
    ``tokenizer_digest`` (SHA-256 of their bytes) name the copies the worker keeps."""

    checkpoint: str
    decode: str | None = None
    kernels: str = "fast"
    digest: str | None = None
    tokenizer: str | None = None
    tokenizer_digest: str | None = None


Shipped = tuple[bytes, "bytes | None"]
"""The bytes of a shipped checkpoint and of its tokenizer (None without one)."""


_TAGGERS: dict[TaggerSpec, Tagger] = {}
_TAGGERS_LOCK = threading.Lock()


def cached_tagger(spec: TaggerSpec, shipped: Shipped | None = None) -> Tagger:
    """The tagger of ``spec``, loaded once per process (from the shipped bytes when there are some)."""
    with _TAGGERS_LOCK:
        tagger = _TAGGERS.get(spec)
        if tagger is None:
            from wintrain.evaluation.tagger import Tagger

            data, tokenizer_data = shipped if shipped is not None else (None, None)
            path = spec.checkpoint if spec.digest is None else str(_shipped_file(spec.digest, data))
            tokenizer = (spec.tokenizer if spec.tokenizer_digest is None
                         else str(_shipped_file(spec.tokenizer_digest, tokenizer_data)))
            tagger = _TAGGERS[spec] = Tagger.load(path, spec.decode, spec.kernels, tokenizer)
        return tagger


def _shipped_file(digest: str, data: bytes | None) -> Path:
    """A local file holding the shipped checkpoint ``digest`` (written once, atomically)."""
    path = Path(tempfile.gettempdir()) / f"wintrain-checkpoint-{digest[:32]}.npz"
    if path.exists():
        return path
    if data is None:
        raise WintrainError("the shipped checkpoint did not reach this worker; run again")
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path


def work(spec: TaggerSpec, job: ChunkJob, output: OutputSpec, shipped: Shipped | None = None) -> ChunkOutput:
    """A worker's task: tag one chunk with the (cached) tagger of ``spec``."""
    from wintrain.evaluation.stream import tag_chunk

    return tag_chunk(cached_tagger(spec, shipped), job, output)


def start_worker(threads: int) -> None:
    """Initializer of a spawned worker process: ``threads`` BLAS threads, fixed before numpy loads; Ctrl-C
    is the parent's to handle (it stops the workers)."""
    import signal

    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_threads() -> int:
    """BLAS threads per worker: one (``WINTRAIN_THREADS`` overrides)."""
    try:
        return max(1, int(os.environ.get("WINTRAIN_THREADS", "1")))
    except ValueError:
        return 1


# --------------------------------------------------------------------------- executors


class LocalExecutor:
    """Tags each chunk in this process when it is submitted."""

    capacity = 1

    def __init__(self, tagger: Tagger, output: OutputSpec) -> None:
        self.tagger = tagger
        self.output = output

    def submit(self, job: ChunkJob) -> Future[ChunkOutput]:
        from wintrain.evaluation.stream import tag_chunk

        future: Future[ChunkOutput] = Future()
        try:
            future.set_result(tag_chunk(self.tagger, job, self.output))
        except Exception as error:  # handed to the writer in order, like a worker's error
            future.set_exception(error)
        return future

    def close(self) -> None:
        """(Nothing to stop.)"""


class ProcessExecutor:
    """``jobs`` worker processes (``spawn``), one BLAS thread each, two chunks in flight per worker."""

    def __init__(self, spec: TaggerSpec, output: OutputSpec, jobs: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.spec = spec
        self.output = output
        self.capacity = 2 * jobs
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=start_worker, initargs=(worker_threads(),))

    def submit(self, job: ChunkJob) -> Any:
        return self._pool.submit(work, self.spec, job, self.output)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Chunks submitted to a Dask distributed cluster (a scheduler address, or a ``Client`` given), two in
    flight per worker thread.  With ``ship`` the checkpoint's bytes (and the tokenizer's) go to every worker
    once."""

    def __init__(self, scheduler: str | Any, spec: TaggerSpec, output: OutputSpec, ship: bool = False) -> None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise WintrainError('--scheduler needs dask.distributed: pip install "wintrain[distributed]"') from None
        if isinstance(scheduler, str):
            try:
                self._client = Client(scheduler, timeout=10)
            except (OSError, TimeoutError) as error:
                raise WintrainError(f"--scheduler {scheduler}: cannot connect ({error}); start the scheduler "
                                    "and its workers first (see wintrain predict --help)") from None
            self._owned = True
        else:
            self._client, self._owned = scheduler, False
        self._shipped: Any = None
        if ship:
            data = Path(spec.checkpoint).read_bytes()
            tokenizer = Path(spec.tokenizer).read_bytes() if spec.tokenizer is not None else None
            spec = replace(spec, digest=hashlib.sha256(data).hexdigest(),
                           tokenizer_digest=hashlib.sha256(tokenizer).hexdigest() if tokenizer is not None else None)
            # one future for the pair (scattering a tuple would scatter its items one by one)
            self._shipped = self._client.scatter([(data, tokenizer)], broadcast=True, hash=False)[0]
        self.spec = spec
        self.output = output
        threads = sum(self._client.nthreads().values())
        if threads == 0:
            raise WintrainError(f"--scheduler {scheduler}: the cluster has no workers; start some with "
                                "dask worker ADDRESS --nthreads 1")
        self.capacity = 2 * threads

    def submit(self, job: ChunkJob) -> Any:
        return self._client.submit(work, self.spec, job, self.output, self._shipped, pure=False)

    def close(self) -> None:
        if self._shipped is not None:
            self._shipped.release()
        if self._owned:
            self._client.close()
