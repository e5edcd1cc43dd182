"""Backends that map a function over run specs and yield results as they finish.

* ``serial``  - in this process (debugging, tiny sweeps);
* ``process`` - a local process pool (default; all cores): joblib's loky executor, which
  works from scripts without a ``__main__`` guard, from the CLI and from Jupyter notebooks
  alike, leaves the global multiprocessing start method alone, and reuses its workers
  between sweeps (they exit after a minute idle);
* ``dask``    - Dask distributed: ``Client.map`` + ``as_completed``; a ``LocalCluster``
  unless ``address`` names a running scheduler (``pip install -e ".[dask]"``);
* ``ray``     - Ray remote tasks + ``ray.wait`` (``pip install ray``).

Every backend runs the same pure function on the same specs, so results are identical;
only the order in which they finish differs (the store sorts the final table).
Workers use one BLAS thread each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from typing import Any

from govsim.experiment.spec import ExperimentError

BACKENDS = ("serial", "process", "dask", "ray")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@contextmanager
def single_threaded_blas():
    """Child processes inherit the environment: pin BLAS to one thread while they start."""
    old = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Executor:
    name = "base"

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def map_unordered(self, fn: Callable, items: Iterable) -> Iterator[Any]:  # pragma: no cover
        raise NotImplementedError


class SerialExecutor(Executor):
    name = "serial"

    def map_unordered(self, fn, items):
        for item in items:
            yield fn(item)


class ProcessExecutor(Executor):
    """A local process pool with a bounded number of tasks in flight (flat memory)."""

    name = "process"

    def __init__(self, workers: int | None = None):
        from joblib.externals.loky import get_reusable_executor

        self.workers = workers or os.cpu_count() or 1
        self.pool = get_reusable_executor(max_workers=self.workers, timeout=60,
                                          env={k: "1" for k in _THREAD_VARS})

    def map_unordered(self, fn, items):
        it = iter(items)
        window = 4 * self.workers
        pending = set()
        for item in it:
            pending.add(self.pool.submit(fn, item))
            if len(pending) >= window:
                break
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
                    nxt = next(it, None)
                    if nxt is not None:
                        pending.add(self.pool.submit(fn, nxt))
        finally:
            for fut in pending:
                fut.cancel()


class DaskExecutor(Executor):
    """Dask distributed. Without ``address`` it starts a LocalCluster of ``workers`` processes."""

    name = "dask"

    def __init__(self, workers: int | None = None, address: str | None = None, security: Any = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on extras
            raise ExperimentError('--backend dask: dask is not installed; allowed: pip install -e ".[dask]", '
                                  "or --backend serial|process") from None
        self._cluster = None
        with single_threaded_blas():
            if address:
                try:
                    self.client = Client(address, security=security, timeout="20s")
                except (OSError, TimeoutError, ValueError) as err:
                    msg = " ".join(str(err).split())[:200]
                    raise ExperimentError(f"--address {address}: cannot connect to the Dask scheduler ({msg})") from None
            else:
                n = workers or os.cpu_count() or 1
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address=None)
                self.client = Client(self._cluster)

    def map_unordered(self, fn, items):
        from dask.distributed import as_completed

        items = list(items)
        batch = max(1, 8 * len(self.client.scheduler_info().get("workers", {})) or 8)
        it = iter(items)
        first = [next(it) for _ in range(min(batch, len(items)))]
        futures = self.client.map(fn, first, pure=False)
        ac = as_completed(futures)
        for fut in ac:
            result = fut.result()
            fut.release()
            nxt = next(it, None)
            if nxt is not None:
                ac.add(self.client.submit(fn, nxt, pure=False))
            yield result

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


class RayExecutor(Executor):
    """Ray remote tasks; ``address`` joins a running cluster, else starts a local one."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None):
        try:
            import ray
        except ImportError:  # pragma: no cover - depends on extras
            raise ExperimentError('--backend ray: ray is not installed; allowed: pip install -e ".[ray]", '
                                  "or --backend serial|process|dask") from None
        self.ray = ray
        with single_threaded_blas():
            if not ray.is_initialized():
                ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                         log_to_driver=False)

    def map_unordered(self, fn, items):
        ray = self.ray
        remote = ray.remote(num_cpus=1)(fn)
        it = iter(items)
        window = 4 * int(ray.available_resources().get("CPU", 1) or 1)
        pending = [remote.remote(x) for x, _ in zip(it, range(window), strict=False)]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
            nxt = next(it, None)
            if nxt is not None:
                pending.append(remote.remote(nxt))

    def close(self) -> None:
        self.ray.shutdown()


def make_executor(backend: str = "process", workers: int | None = None, address: str | None = None,
                  security: Any = None) -> Executor:
    if workers is not None and workers < 1:
        raise ExperimentError(f"--workers {workers}: allowed: an integer >= 1")
    if backend == "serial":
        return SerialExecutor()
    if backend == "process":
        return ProcessExecutor(workers)
    if backend == "dask":
        return DaskExecutor(workers, address, security)
    if backend == "ray":
        return RayExecutor(workers, address)
    raise ExperimentError(f"--backend {backend}: unknown backend; allowed: {', '.join(BACKENDS)}")
