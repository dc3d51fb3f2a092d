"""Real BitTorrent clients for tests: qbittorrent-nox, aria2c, transmission-show, opentracker.

Each client runs on 127.0.0.1 only, with its own temporary profile, free ports, and DHT, LSD,
PeX, UPnP and NAT-PMP off. Every wait is bounded; every process is stopped at teardown (politely,
then killed). A missing binary skips the test with the package to install
(`make test` installs them through scripts/system-deps.sh).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from netutil import free_port, port_open, wait_for

PACKAGES = {
    "qbittorrent-nox": "qbittorrent-nox",
    "aria2c": "aria2",
    "transmission-show": "transmission-cli",
    "opentracker": "opentracker",
}


def need(binary: str) -> str:
    """The path of ``binary``, or skip the test naming the Debian package that has it."""
    path = shutil.which(binary) or (
        f"/usr/bin/{binary}" if Path(f"/usr/bin/{binary}").exists() else None
    )
    if path is None:
        pytest.skip(
            f"{binary} not installed (Debian package {PACKAGES.get(binary, binary)}; "
            f"`make test` installs it)"
        )
    return path


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the test process dies (Linux prctl)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ------------------------------------------------------------------------------ qbittorrent-nox
QBT_CONF = """\
[LegalNotice]
Accepted=true

[BitTorrent]
Session\\DHTEnabled=false
Session\\LSDEnabled=false
Session\\PeXEnabled=false
Session\\Port={port}
Session\\Interface=lo
Session\\InterfaceName=lo
Session\\InterfaceAddress=127.0.0.1
Session\\DefaultSavePath={save}
Session\\QueueingSystemEnabled=false
Session\\MultiConnectionsPerIp=true
Session\\AnonymousModeEnabled=false

[Network]
PortForwardingEnabled=false

[Preferences]
Connection\\ResolvePeerCountries=false
Connection\\UPnP=false
WebUI\\Address=127.0.0.1
WebUI\\Port={webui}
WebUI\\LocalHostAuth=false
WebUI\\CSRFProtection=false
WebUI\\HostHeaderValidation=false
WebUI\\UseUPnP=false
"""


SEEDING_STATES = ("uploading", "stalledUP", "forcedUP", "queuedUP")


def qbt_has_all(t: dict[str, Any]) -> bool:
    """qBittorrent's torrent ``t`` holds every piece: seeding, not only its progress at 100 %.
    Its progress is libtorrent's byte count, which counts blocks before their piece is checked
    and can reach 100 % early (arvidn/libtorrent#6982; our own fetch ended on it with pieces
    missing)."""
    return float(t["progress"]) >= 1.0 and t["state"] in SEEDING_STATES


class QBittorrent:
    """A headless qbittorrent-nox driven through its Web API v2 (urllib, no login needed)."""

    def __init__(self, workdir: Path):
        self.binary = need("qbittorrent-nox")
        self.profile = Path(workdir) / "qbt-profile"
        self.save_path = Path(workdir) / "qbt-downloads"
        self.port = free_port()
        self.webui = free_port()
        while self.webui == self.port:
            self.webui = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(workdir) / "qbt.log"

    def start(self, timeout: float = 60) -> QBittorrent:
        conf = self.profile / "qBittorrent" / "config" / "qBittorrent.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        self.save_path.mkdir(parents=True, exist_ok=True)
        conf.write_text(QBT_CONF.format(port=self.port, webui=self.webui, save=self.save_path))
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [self.binary, f"--profile={self.profile}", f"--webui-port={self.webui}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"qbittorrent-nox exited: {self.log.read_text()[-2000:]}")
            try:
                return bool(self.get("app/version"))
            except OSError:
                return False

        wait_for("qbittorrent-nox Web API", up, timeout)
        return self

    @property
    def version(self) -> str:
        return self.get("app/version").decode()

    def _call(
        self,
        method: str,
        data: bytes | None = None,
        content_type: str | None = None,
        timeout: float = 10,
    ) -> bytes:
        req = urllib.request.Request(f"http://127.0.0.1:{self.webui}/api/v2/{method}", data=data)
        if content_type:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return bytes(resp.read())

    def get(self, method: str, **params: str) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self._call(method + query)

    def post(self, method: str, **fields: str) -> bytes:
        return self._call(
            method, urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
        )

    def add_torrent(self, torrent: bytes, save_path: Path | None = None, **options: str) -> None:
        """torrents/add with the .torrent as a multipart file upload."""
        boundary = uuid.uuid4().hex
        fields = {"savepath": str(save_path or self.save_path), **options}
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="torrents"; '
            f'filename="t.torrent"\r\nContent-Type: application/x-bittorrent\r\n\r\n'.encode()
            + torrent
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        answer = self._call("torrents/add", body, f"multipart/form-data; boundary={boundary}")
        if answer.strip() != b"Ok.":
            raise RuntimeError(f"qbittorrent refused the torrent: {answer!r}")

    def torrents(self) -> list[dict[str, Any]]:
        return list(json.loads(self.get("torrents/info")))

    def torrent(self, info_hash_v1: str, timeout: float = 30) -> dict[str, Any]:
        """The torrent whose v1 info-hash is given, once qBittorrent lists it."""

        def find() -> dict[str, Any] | None:
            return next(
                (
                    t
                    for t in self.torrents()
                    if info_hash_v1 in (t.get("infohash_v1"), t.get("hash"))
                ),
                None,
            )

        return wait_for(f"qbittorrent to list {info_hash_v1}", find, timeout)

    def files(self, torrent_hash: str) -> list[dict[str, Any]]:
        return list(json.loads(self.get("torrents/files", hash=torrent_hash)))

    def add_peers(self, torrent_hash: str, peers: Iterable[str]) -> None:
        self.post("torrents/addPeers", hashes=torrent_hash, peers="|".join(peers))

    def wait_state(
        self,
        info_hash_v1: str,
        done: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = 120,
        nudge: Callable[[], None] | None = None,
        nudge_every: float = 2.0,
    ) -> dict[str, Any]:
        """Poll the torrent until ``done`` holds; ``nudge`` runs every few seconds meanwhile."""
        last = [0.0]

        def check() -> dict[str, Any] | None:
            t = self.torrent(info_hash_v1)
            if done(t):
                return t
            if t.get("state") in ("error", "missingFiles"):
                raise RuntimeError(f"qbittorrent: torrent in state {t['state']}")
            if nudge and time.monotonic() - last[0] > nudge_every:
                last[0] = time.monotonic()
                nudge()
            return None

        return wait_for(f"qbittorrent: {what}", check, timeout, every=0.5)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.post("app/shutdown")
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                pass
        _stop(self.proc)
        self.proc = None

    def __enter__(self) -> QBittorrent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------------------------- aria2c
ARIA2_BASE = (
    "--enable-dht=false",
    "--enable-dht6=false",
    "--bt-enable-lpd=false",
    "--enable-peer-exchange=false",
    "--disable-ipv6=true",
    "--file-allocation=none",
    "--console-log-level=warn",
    "--summary-interval=0",
    "--check-certificate=false",
    "--bt-save-metadata=false",
    "--rpc-save-upload-metadata=false",
    "--no-conf=true",
    "--bt-detach-seed-only=true",
    "--bt-max-peers=10",
)


class Aria2:
    """aria2c on one torrent, seeding (``seed=True``) or downloading; listens on a free port."""

    def __init__(self, workdir: Path, torrent: Path, data_dir: Path, seed: bool):
        self.binary = need("aria2c")
        self.port = free_port()
        self.log = Path(workdir) / f"aria2-{'seed' if seed else 'get'}-{self.port}.log"
        args = [
            self.binary,
            *ARIA2_BASE,
            f"--listen-port={self.port}",
            f"--dir={data_dir}",
            f"--log={self.log}",
            "--log-level=info",
        ]
        if seed:
            args += ["--seed-ratio=0.0", "--check-integrity=true", "--bt-seed-unverified=false"]
        else:
            args += ["--seed-time=0"]  # exit once the download is whole
        self.args = [*args, str(torrent)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Aria2:
        with open(self.log.with_suffix(".out"), "wb") as out:  # a file: a pipe could fill and block
            self.proc = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"aria2c exited {self.proc.returncode}: {self.output()}")
            return port_open(self.port)

        wait_for("aria2c to listen", listening, 30)
        return self

    def output(self) -> str:
        """The tail of aria2c's console output and log, for failure messages."""
        parts = [
            p.read_text(errors="replace")[-1500:]
            for p in (self.log.with_suffix(".out"), self.log)
            if p.exists()
        ]
        return "\n".join(parts)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"aria2c still running after {timeout}s: {self.output()}") from None

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)

    def __enter__(self) -> Aria2:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def aria2_show_files(torrent: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("aria2c"), "--show-files=true", str(torrent)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def transmission_show(torrent: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("transmission-show"), str(torrent)], capture_output=True, text=True, timeout=60
    )


# ---------------------------------------------------------------------------------- opentracker
class OpenTracker:
    """Debian's opentracker (whitelist build): serves only the v1 info-hashes it is given."""

    def __init__(self, workdir: Path, info_hashes_v1: Iterable[str]):
        self.binary = need("opentracker")
        self.port = free_port()
        self.dir = Path(workdir) / "opentracker"
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "whitelist").write_text("".join(f"{h}\n" for h in info_hashes_v1))
        # It chroots to tracker.rootdir (then drops to nobody), so the whitelist path is
        # given as seen from inside that root.
        (self.dir / "opentracker.conf").write_text(
            f"listen.tcp 127.0.0.1:{self.port}\nlisten.udp 127.0.0.1:{self.port}\n"
            f"tracker.rootdir {self.dir}\naccess.whitelist /whitelist\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def announce(self) -> str:
        return f"http://127.0.0.1:{self.port}/announce"

    def start(self) -> OpenTracker:
        self.proc = subprocess.Popen(
            [self.binary, "-f", str(self.dir / "opentracker.conf")],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"opentracker exited: {self.proc.stdout.read()!r}")  # type: ignore[union-attr]
            return port_open(self.port)

        wait_for("opentracker to listen", up, 20)
        return self

    def scrape(self, info_hash_v1: str) -> bytes:
        q = urllib.parse.quote_from_bytes(bytes.fromhex(info_hash_v1))
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/scrape?info_hash={q}", timeout=5
            ) as r:
                return bytes(r.read())
        except urllib.error.URLError as exc:
            return str(exc).encode()

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            if self.proc.stdout:
                self.proc.stdout.close()

    def __enter__(self) -> OpenTracker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
