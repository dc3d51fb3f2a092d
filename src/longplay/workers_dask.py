"""The worker seam on a Dask distributed cluster: :class:`DaskPool`, chosen by the ``cluster`` setting.

:func:`longplay.workers.pool` returns a :class:`DaskPool` when the ``cluster`` setting (or
``--cluster``) names a scheduler, ``tcp://HOST:8786`` or ``tls://HOST:8786``. Tasks are the
same module-level functions the local pool runs; each ``submit`` becomes one
``Client.submit(fn, arg, pure=False, key=...)``, and its result or error comes back as a
``concurrent.futures.Future``, so ``map_unordered`` and every caller stay as they are.

Files travel by path, never by value: a task's argument names files on storage every worker
mounts at the same absolute path, and its result carries hashes and small metadata. The
caller alone writes ledgers and databases, from the results, so a task that runs twice (a
retry, a worker lost mid-task) still lands once.

Failures map onto the local pool's: a worker that dies mid-task has its tasks rescheduled
elsewhere by the scheduler; a task that keeps killing workers (Dask's ``KilledWorker``, after
``distributed.scheduler.allowed-failures``) fails alone with :class:`WorkerDied`; losing the
scheduler fails what is left with :class:`PoolBroken`. ``distributed`` is imported only when
a pool is made, so commands start as fast without it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any

from longplay.errors import LongplayError, SettingsError
from longplay.workers import Pool, PoolBroken, WorkerDied

# Task errors are retried once: shared storage has transient failures (a stale NFS handle, a
# mount that blinked); a bad input fails twice, which costs one more read of one file.
RETRIES = 1
CONNECT_S = 20.0  # waiting for the scheduler to answer
WORKERS_S = 60.0  # waiting for a first worker to join it
SCHEMES = ("tcp", "tls")


def check_address(address: str, origin: str = "the command line") -> str:
    """``address`` if it reads as a scheduler address, else a SettingsError naming it."""
    scheme, sep, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if not sep or scheme not in SCHEMES or not host or not port.isdigit() or "/" in rest:
        raise SettingsError(
            f"setting 'cluster' from {origin}: {address!r} is not a Dask scheduler address "
            "(expected tcp://HOST:PORT or tls://HOST:PORT)"
        )
    return address


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise LongplayError(
            "the cluster setting needs Dask distributed: pip install 'longplay[cluster]'"
        ) from None
    return distributed


class DaskPool(Pool):
    """Tasks on the workers of the Dask scheduler at ``address``; ``submit(fn, arg)``."""

    def __init__(
        self,
        address: str,
        *,
        origin: str = "the command line",
        retries: int = RETRIES,
        connect_timeout: float = CONNECT_S,
        workers_timeout: float = WORKERS_S,
    ):
        self.address = check_address(address, origin)
        distributed = _distributed()
        self._killed_worker = distributed.KilledWorker
        self._wait = distributed.wait
        try:
            # set_as_default=False: this client must not capture other Dask code in the process.
            self._client = distributed.Client(
                address, timeout=connect_timeout, set_as_default=False
            )
        except (OSError, TimeoutError, ValueError) as exc:
            raise LongplayError(
                f"cannot reach the Dask scheduler at {address} (setting 'cluster' from "
                f"{origin}): {exc}"
            ) from None
        try:
            self._client.wait_for_workers(1, timeout=workers_timeout)
        except (TimeoutError, OSError):
            self._client.close()
            raise LongplayError(
                f"no Dask worker joined the scheduler at {address} within {workers_timeout:.0f} s"
            ) from None
        # The window of map_unordered: two tasks per worker thread keeps every thread fed.
        self.workers = max(1, sum(self._client.nthreads().values()))
        self._retries = retries
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}  # key -> its Dask future, until it settles
        self._closed = False
        self._broken: PoolBroken | None = None

    def _enqueue(
        self, future: Future[Any], fn: Callable[[Any], Any], arg: Any
    ) -> Callable[[], None] | None:
        # Named for the dashboard (Dask groups keys by the part before the first '-').
        key = f"{getattr(fn, '__name__', 'task')}-{uuid.uuid4().hex}"
        try:
            task = self._client.submit(fn, arg, key=key, pure=False, retries=self._retries)
        except Exception as exc:  # e.g. an argument that cannot be pickled
            future.set_exception(exc)
            return None
        self._pending[key] = task

        def link() -> None:  # outside the lock: a task already done settles at once
            # The caller cancelling (map_unordered closed early, Ctrl-C) cancels the Dask task.
            future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
            task.add_done_callback(lambda t: self._settle(future, t))

        return link

    def _settle(self, future: Future[Any], task: Any) -> None:
        """Carry a finished Dask task's value or error to its future (a client thread)."""
        if task.status in ("lost", "pending") and not future.done():
            # Its result died with a worker between finishing and this callback (a worker
            # killed mid-build, the test's SIGKILL): the scheduler computes it again for the
            # client holding it, so wait for that instead of calling the scheduler lost.
            task.add_done_callback(lambda t: self._settle(future, t))
            return
        with self._lock:
            self._pending.pop(task.key, None)
        if future.done():  # cancelled by the caller
            return
        try:
            if task.status == "finished":
                future.set_result(task.result())
            elif task.status == "error":
                error = task.exception()
                if isinstance(error, self._killed_worker):
                    error = WorkerDied(f"Dask workers kept dying while running {task.key}: {error}")
                future.set_exception(error)
            else:  # cancelled without our asking: the scheduler or the connection went away
                future.set_exception(self._lose(f"task {task.key} was {task.status}"))
        except InvalidStateError:  # the caller cancelled it meanwhile
            pass
        except Exception as exc:  # fetching the result failed: the connection went away
            if not future.done():
                future.set_exception(self._lose(f"{type(exc).__name__}: {exc}"))
        finally:
            task.release()  # the scheduler forgets the result: memory stays flat over 86M tasks

    def _lose(self, what: str) -> PoolBroken:
        with self._lock:
            if self._broken is None:
                self._broken = PoolBroken(f"lost the Dask scheduler at {self.address} ({what})")
            return self._broken

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closed and not self._pending:
                return
            self._closed = True
            pending = list(self._pending.values())
        if pending and cancel_futures:
            self._client.cancel(pending)
        elif pending and wait:
            self._wait(pending)
        self._client.close()

    def kill(self) -> None:
        """Stop now: cancel every task (tasks already running finish on their workers, unread)."""
        self.shutdown(wait=False, cancel_futures=True)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        if exc_type is not None:
            self.kill()
            return None
        return super().__exit__(exc_type, exc, tb)
