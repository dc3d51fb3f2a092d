"""The one seam for per-file work: pure tasks on a pool of worker processes that die with us.

Scan, build, pack hashing and every later per-file job (analysis, transcode) hand work to a
:class:`Pool` as *tasks*: a module-level function and one picklable argument, pure and
idempotent, so a task may run anywhere and run again. Two ways in::

    with workers.pool(n) as pool:
        future = pool.submit(fn, arg)                         # concurrent.futures style
        for arg, outcome in pool.map_unordered(fn, args):     # bounded window, any order
            outcome.result()                                  # the value, or raises its error

:func:`pool` returns the local :class:`ProcessPool`, or, when the ``cluster`` setting names a
Dask scheduler, a :class:`longplay.workers_dask.DaskPool` whose ``submit`` wraps
``distributed.Client.submit``; ``map_unordered`` and the callers are the same for both.

Why not ``ProcessPoolExecutor``: fork copies the caller's threads' locks (DuckDB, the Rich
progress bar's refresh thread), and spawn/forkserver re-run the caller's ``__main__`` in every
child. Each worker here is a fresh ``python -c`` that imports only what unpickling the task
needs, reading length-prefixed pickles on stdin and answering on a private copy of stdout (fd 1
itself goes to stderr, so a chatty task cannot corrupt the stream). One dispatcher thread per
worker feeds it from a shared queue.

A worker that dies mid-task (a decoder crash, the OOM killer) fails only that task, with
:class:`WorkerDied`, and is replaced; after ``GIVE_UP`` deaths in a row with no task finished
in between, the pool stops spawning and fails the rest with :class:`PoolBroken`.

Workers never outlive their job: each exits on stdin EOF when idle, and when the parent dies -
even mid-task - through ``PR_SET_PDEATHSIG`` (Linux; armed per dispatcher thread, which lives as
long as its worker) and a watchdog thread comparing ``os.getppid()`` with the parent's pid.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar

from longplay.errors import LongplayError

if TYPE_CHECKING:
    from longplay.settings import Settings

A = TypeVar("A")
R = TypeVar("R")

GIVE_UP = 3  # worker deaths in a row, no task finished in between, before the pool gives up
WATCH_S = 0.5  # how often an orphaned worker notices that its parent is gone
_HEADER = struct.Struct(">Q")
_SERVE = "import sys; from longplay.workers import serve; serve(int(sys.argv[1]))"
_PR_SET_PDEATHSIG = 1


class WorkerDied(LongplayError):
    """The worker process running this task died (crash, signal, ``os._exit``)."""


class PoolBroken(LongplayError):
    """Workers kept dying before finishing anything; the pool ran nothing more."""


class TaskError(Exception):
    """A task's exception (or result) that could not be pickled back, as its text."""


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What became of one task: its value, or the exception it raised (or that ended it)."""

    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def result(self) -> R:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]

    @classmethod
    def of(cls, future: Future[R]) -> Outcome[R]:
        try:
            return cls(value=future.result())
        except (Exception, CancelledError) as exc:
            return cls(error=exc)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def count(workers: int | None = None, setting: int | None = None) -> int:
    """How many workers: ``workers`` if given, else the ``workers`` setting, else one per core."""
    return max(1, workers or setting or usable_cores())


class Pool(Executor):
    """Where tasks run. Subclasses implement ``_enqueue``, ``shutdown`` and ``workers``, and
    keep ``_lock``, ``_closed`` and ``_broken`` for :meth:`submit`."""

    workers: int
    _lock: threading.Lock
    _closed: bool
    _broken: PoolBroken | None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """A future of ``fn(arg)``: failed at once when the pool is broken, refused when shut."""
        if kwargs or len(args) != 1:
            raise TypeError("Pool.submit takes a function and exactly one argument")
        future: Future[Any] = Future()
        with self._lock:
            if self._broken is not None:
                future.set_exception(self._broken)
                return future
            if self._closed:
                raise RuntimeError("cannot submit to a pool that was shut down")
            then = self._enqueue(future, fn, args[0])
        if then is not None:
            then()
        return future

    def _enqueue(
        self, future: Future[Any], fn: Callable[[Any], Any], arg: Any
    ) -> Callable[[], None] | None:
        """Queue ``fn(arg)`` for ``future`` (called under ``_lock``); what it returns runs
        after the lock is released."""
        raise NotImplementedError

    def map_unordered(
        self, fn: Callable[[A], R], items: Iterable[A], *, window: int | None = None
    ) -> Iterator[tuple[A, Outcome[R]]]:
        """(item, outcome) for every item, in completion order, at most ``window`` in flight.

        ``items`` may be huge or lazy: it is read only as the window frees up. Every task
        error comes back in its outcome, except :class:`PoolBroken`, which is raised: nothing
        more can run. Closing the iterator early cancels the tasks not yet started.
        """
        window = max(1, window or 2 * self.workers)
        done: queue.SimpleQueue[Future[R]] = queue.SimpleQueue()
        pending: dict[Future[R], A] = {}
        source = iter(items)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        item = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    future = self.submit(fn, item)
                    pending[future] = item
                    future.add_done_callback(done.put)
                if not pending:
                    return
                future = done.get()
                item = pending.pop(future)
                outcome = Outcome.of(future)
                if isinstance(outcome.error, PoolBroken):
                    raise outcome.error
                yield item, outcome
        finally:
            for future in pending:
                future.cancel()


def pool(
    workers: int | None = None, settings: Settings | None = None, *, cluster: str | None = None
) -> Pool:
    """The pool for a job: ``workers`` local processes (default: see :func:`count`), or the
    Dask cluster that ``cluster`` (default: the ``cluster`` setting) names."""
    origin = "the caller"
    if cluster is None and settings is not None:
        cluster, origin = settings.cluster, settings.origins.get("cluster", "default")
    if cluster:
        from longplay.workers_dask import DaskPool  # Dask is imported only for a cluster

        return DaskPool(cluster, origin=origin)
    return ProcessPool(count(workers, settings.workers if settings is not None else None))


# --- the worker side --------------------------------------------------------------------------


def _send(stream: IO[bytes], data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


def _die_with(parent: int) -> None:
    """Exit when ``parent`` does, even in the middle of a task."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog still runs
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="longplay-watchdog").start()


def _reply(request: bytes) -> bytes:
    try:
        fn, arg = pickle.loads(request)  # imports the task's module, once per worker
        reply: tuple[str, object] = ("ok", fn(arg))
    except Exception as exc:  # carried back to the caller's future
        reply = ("error", exc)
    try:
        return pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        what = f"{type(reply[1]).__name__}: {reply[1]}" if reply[0] == "error" else "its result"
        return pickle.dumps(("error", TaskError(f"cannot send back {what} ({exc})")))


def serve(parent: int) -> None:
    """A worker's loop: pickled (function, argument) in, ("ok"|"error", value) out."""
    _die_with(parent)
    # Ctrl-C reaches the whole process group; the parent decides, and closes our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints and C libraries' chatter go to stderr, not into the reply stream
    while True:
        try:
            request = _receive(requests)
        except EOFError:
            return
        _send(replies, _reply(request))


def _how(status: int | None) -> str:
    if status is not None and status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            pass
    return f"exit status {status}"


# --- the local process pool -------------------------------------------------------------------

_Item = tuple[Future[Any], Callable[[Any], Any], Any]


class ProcessPool(Pool):
    """``workers`` Python processes, started on first use; ``submit(fn, arg)``."""

    def __init__(self, workers: int, *, give_up: int = GIVE_UP):
        self.workers = max(1, workers)
        self._give_up = give_up
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._killing = False
        self._broken: PoolBroken | None = None
        self._deaths_in_a_row = 0
        self._procs: dict[int, subprocess.Popen[bytes]] = {}  # slot -> its current worker
        self.started: list[int] = []  # pids of every worker ever started (tests, diagnostics)
        # The child must import this package even when it was put on sys.path at run time.
        package_root = str(Path(__file__).resolve().parents[1])
        self._env = dict(os.environ)
        self._env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [package_root, self._env.get("PYTHONPATH")])
        )
        self._threads = [
            threading.Thread(
                target=self._dispatch, args=(slot,), daemon=True, name=f"longplay-worker-{slot}"
            )
            for slot in range(self.workers)
        ]
        for t in self._threads:
            t.start()

    def _enqueue(
        self, future: Future[Any], fn: Callable[[Any], Any], arg: Any
    ) -> Callable[[], None] | None:
        self._queue.put((future, fn, arg))
        return None

    def _spawn(self, slot: int) -> subprocess.Popen[bytes]:
        # Started from the dispatcher thread, which lives exactly as long as the worker is
        # needed: PR_SET_PDEATHSIG fires when the spawning *thread* exits.
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._env,
        )
        with self._lock:
            self._procs[slot] = proc
            self.started.append(proc.pid)
        return proc

    def _dispatch(self, slot: int) -> None:
        proc: subprocess.Popen[bytes] | None = None
        try:
            while (item := self._queue.get()) is not None:
                future, fn, arg = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    request = pickle.dumps((fn, arg), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as exc:
                    future.set_exception(exc)
                    continue
                if proc is None:
                    if self._killing:
                        future.set_exception(WorkerDied("not run: the pool shut down"))
                        continue
                    try:
                        proc = self._spawn(slot)
                    except OSError as exc:  # out of processes or memory: counts as a death
                        self._died(future, fn, f"a worker process could not start ({exc})")
                        continue
                proc = self._run(proc, future, fn, request)
        finally:
            if proc is not None:
                self._stop(proc)

    def _run(
        self,
        proc: subprocess.Popen[bytes],
        future: Future[Any],
        fn: Callable[[Any], Any],
        request: bytes,
    ) -> subprocess.Popen[bytes] | None:
        """Run one task on ``proc``; the worker to use next (None: it died, spawn anew)."""
        assert proc.stdin is not None and proc.stdout is not None
        try:
            _send(proc.stdin, request)
            reply = _receive(proc.stdout)
        except (EOFError, OSError):
            self._stop(proc)
            name = getattr(fn, "__qualname__", repr(fn))
            what = f"worker process {proc.pid} died while running {name} ({_how(proc.returncode)})"
            self._died(future, fn, what)
            return None
        try:
            status, value = pickle.loads(reply)
        except Exception as exc:  # e.g. an exception class that cannot be rebuilt here
            status, value = "error", TaskError(f"unreadable reply ({type(exc).__name__}: {exc})")
        with self._lock:
            self._deaths_in_a_row = 0
        if status == "ok":
            future.set_result(value)
        else:
            future.set_exception(value)
        return proc

    def _died(self, future: Future[Any], fn: Any, what: str) -> None:
        """Fail the task whose worker died (``what``); give up after too many in a row."""
        error = WorkerDied(what)
        queued: list[Future[Any]] = []
        with self._lock:
            self._deaths_in_a_row += 1
            if self._killing:
                error = WorkerDied(f"{what}: the pool was shutting down")
            elif self._deaths_in_a_row >= self._give_up and self._broken is None:
                self._broken = PoolBroken(
                    f"{self._deaths_in_a_row} worker processes in a row died before finishing "
                    f"a task (the last: {what}); run with LONGPLAY_WORKERS=1 to see the error "
                    "in the main process"
                )
                self._closed = True
                queued = self._drain(stop=True)
        # Futures are resolved outside the lock: their callbacks may call submit().
        future.set_exception(error)
        for f in queued:
            if f.set_running_or_notify_cancel():
                f.set_exception(self._broken)

    def _drain(self, stop: bool) -> list[Future[Any]]:
        """Take every queued task off the queue (under the lock); ``stop``: end the dispatchers."""
        futures, sentinels = [], 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                sentinels += 1
            else:
                futures.append(item[0])
        for _ in range(max(sentinels, len(self._threads) if stop else 0)):
            self._queue.put(None)
        return futures

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Close the worker's stdin (an idle worker exits on EOF) and reap it."""
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a broken pipe to a dead worker
                    stream.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a task ignoring the EOF
            proc.kill()
            proc.wait()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            queued = self._drain(stop=False) if cancel_futures else []
        for future in queued:
            future.cancel()
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for t in self._threads:
                t.join()

    def kill(self) -> None:
        """Stop now: cancel queued tasks and kill the workers (their tasks can simply rerun)."""
        with self._lock:
            self._killing = True
            procs = list(self._procs.values())
        self.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for t in self._threads:
            t.join()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        # On Ctrl-C or an error, do not wait for long tasks in flight: they are idempotent.
        if exc_type is not None:
            self.kill()
            return None
        return super().__exit__(exc_type, exc, tb)
