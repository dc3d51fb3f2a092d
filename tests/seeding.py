"""A Longplay seed session on a background thread, shared by the mirror and interop tests."""

from __future__ import annotations

import threading
from pathlib import Path

from longplay.mirror.session import MirrorSession, SessionConfig

LOOP = "127.0.0.1:0"


class Seeder:
    """A Longplay seed session on a thread, for the length of a test."""

    def __init__(self, directory: Path, **config: object):
        self.session = MirrorSession(
            directory, SessionConfig("seed", listen_interface=LOOP, **config)
        )  # type: ignore[arg-type]
        self.session.start()
        assert self.session.session is not None
        self.port = self.session.session.listen_port()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.session.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
