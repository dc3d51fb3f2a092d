"""A pool of worker processes that run one picklable function, as a concurrent.futures Executor.

Why not ``ProcessPoolExecutor``: its fork start method copies the caller's threads' locks
(DuckDB, progress bars), and spawn/forkserver re-run the caller's ``__main__`` script in every
child, which breaks scripts without an ``if __name__ == "__main__"`` guard in confusing ways. A
library cannot ask that of its callers, so each worker here is a fresh ``python -c`` that
imports only the function's module, reading length-prefixed pickles on stdin and answering on
stdout. One dispatcher thread per worker feeds it from a shared queue.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import IO, Any

_HEADER = struct.Struct(">Q")
_SERVE = "import sys; from longplay.pack.workers import serve; serve(sys.stdin.buffer, sys.stdout.buffer)"


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """A worker's loop: (function, argument) in, ("ok", result) or ("error", exception) out."""
    # Ctrl-C reaches the whole process group; the parent decides, and closes our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            fn, arg = _receive(requests)
        except EOFError:
            return
        try:
            reply: tuple[str, object] = ("ok", fn(arg))
        except Exception as exc:  # sent back to the caller's future
            reply = ("error", exc)
        _send(replies, reply)


class ProcessPool(Executor):
    """``workers`` Python processes; ``submit(fn, arg)`` with a module-level ``fn``."""

    def __init__(self, workers: int):
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[Any], Any], Any] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._closed = False
        # The child must import this package even when it was put on sys.path at run time.
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._procs = [
            subprocess.Popen(
                [sys.executable, "-c", _SERVE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            for _ in range(workers)
        ]
        self._threads = [
            threading.Thread(
                target=self._dispatch, args=(p,), daemon=True, name=f"longplay-worker-{p.pid}"
            )
            for p in self._procs
        ]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if kwargs or len(args) != 1:
            raise TypeError("ProcessPool.submit takes a function and exactly one argument")
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a pool that was shut down")
            self._queue.put((future, fn, args[0]))
        return future

    def _dispatch(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        while (item := self._queue.get()) is not None:
            future, fn, arg = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                _send(proc.stdin, (fn, arg))
                status, value = _receive(proc.stdout)
            except (EOFError, OSError):
                future.set_exception(
                    RuntimeError(
                        f"hashing worker process {proc.pid} died (exit status {proc.poll()})"
                    )
                )
                self._fail_rest()
                return
            if status == "ok":
                future.set_result(value)
            else:
                future.set_exception(value)

    def _fail_rest(self) -> None:
        """A dead worker fails the whole pool: fail every queued task rather than hang."""
        sentinels = 0
        with self._lock:
            self._closed = True
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    sentinels += 1
                else:
                    item[0].set_exception(RuntimeError("a hashing worker process died"))
            for _ in range(sentinels):
                self._queue.put(None)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for t in self._threads:
                t.join()
        for p in self._procs:
            if p.stdin:
                p.stdin.close()
            if wait:
                p.wait()
            if p.stdout:
                p.stdout.close()
