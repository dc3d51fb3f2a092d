"""The server's swarm: one libtorrent session that fetches tracks the archive does not hold.

    track id ──manifests──▶ (torrent, path) ──add torrent, only that file wanted──▶ PieceReader
                                                 save path ARCHIVE/cache/swarm/NAME/...

Started on the first request that needs it. Torrents come from ARCHIVE/torrents/ (checked by
`safety.read_torrent` and matched to torrents.json); peers from their trackers, the
`torrent_trackers` and `peers` settings and `serve --peer`. No DHT, LSD, UPnP or NAT-PMP.
A fetched file stays in the cache and is seeded while it is there; once complete it is checked
against its manifest SHA-256. The cache is kept under `swarm_cache_size`, least recently played
first out; files under files/ (what the mirror chose to hold) are never touched. A partial file
survives a restart: libtorrent re-checks what is on disk when the torrent is added again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import libtorrent as lt

from longplay.archive import Archive
from longplay.errors import InputError, LongplayError
from longplay.mirror.piecewindow import PieceReader, SwarmUnavailable
from longplay.mirror.safety import layout, read_torrent
from longplay.mirror.session import SessionConfig, _settings_pack, parse_peer
from longplay.mirror.swarmcache import (
    AVAILABILITY_TTL,
    SEEN_TTL,
    Place,
    SwarmCache,
    Torrent,
    places,
)
from longplay.pack.listing import read_listing
from longplay.pack.publish import LISTING

log = logging.getLogger("longplay.swarm")
PEER_RETRY = 5.0  # seconds between attempts to reach configured peers
# Bytes/s a probing torrent may download: enough for handshakes and bitfields (a limit of a
# few bytes starves even those: the rate limit counts protocol bytes), little payload.
PROBE_RATE = 8192
ALERT_QUEUE = 100_000  # libtorrent's default of 2000 drops alerts under load

__all__ = ["Place", "Swarm", "SwarmUnavailable", "places"]


class Swarm(SwarmCache):
    """One libtorrent session for the server; thread-safe; started on first use."""

    def __init__(self, archive: Archive, peers: tuple[tuple[str, int], ...] = ()) -> None:
        s = archive.settings
        self.archive = archive
        self.timeout = float(s.swarm_timeout)
        self.cache_bytes = int(s.swarm_cache_size)
        configured = tuple(parse_peer(p.strip()) for p in s.peers.split(",") if p.strip())
        self.peers = configured + tuple(peers)
        self.config = SessionConfig.from_settings(archive, "fetch")
        self.cache_dir = archive.root / "cache" / "swarm"
        self.index_path = self.cache_dir / "index.json"
        self.wake = threading.Condition()
        self._lock = threading.RLock()
        self._session: Any = None
        self._torrents: dict[str, Torrent] = {}
        self._places: dict[int, Place] | None = None
        self._places_stamp = -1.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._played: dict[str, float] = self._read_index()
        self._verified: set[str] = set()
        self._mismatch: dict[str, int] = {}
        self._reads: dict[tuple[str, int], list[tuple[list[Any], threading.Event]]] = {}

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._session is not None

    def start(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            pack = _settings_pack(self.config)
            pack["alert_queue_size"] = ALERT_QUEUE
            # A torrent that wants few files keeps its connections to seeds: their bitfields
            # are how availability is known.
            pack["close_redundant_connections"] = False
            mask: Any = pack["alert_mask"]
            pack["alert_mask"] = mask | lt.alert.category_t.piece_progress_notification
            ses = lt.session(pack)  # type: ignore[call-overload]
            everyone = lt.ip_filter()
            everyone.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
            everyone.add_rule(
                "::",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                1 << lt.session.global_peer_class_id,
            )
            ses.set_peer_class_filter(everyone)
            self._session = ses
            self._thread = threading.Thread(target=self._run, name="lp-swarm", daemon=True)
            self._thread.start()
            log.info("swarm session listening on %s", self.config.listen_interface)

    def listen_port(self) -> int:
        self.start()
        deadline = time.monotonic() + 10
        while not self._session.listen_port() and time.monotonic() < deadline:
            time.sleep(0.05)
        return int(self._session.listen_port())

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            if self._session is not None:
                self._session.pause()
                for t in self._torrents.values():
                    with contextlib.suppress(RuntimeError):
                        self._session.remove_torrent(t.handle)
                self._session = None
            self._torrents.clear()
        self._write_index()

    def _run(self) -> None:
        """Alerts wake readers (pieces finished); peers are retried; finished files checked."""
        last_peers = 0.0
        while not self._stop.is_set():
            ses = self._session
            if ses is None:
                return
            ses.wait_for_alert(200)
            alerts = ses.pop_alerts()
            if any(isinstance(a, lt.piece_finished_alert) for a in alerts):
                with self.wake:
                    self.wake.notify_all()
            for a in alerts:
                if isinstance(a, lt.read_piece_alert):
                    self._piece_read(a)
                elif isinstance(a, lt.file_error_alert | lt.torrent_error_alert):
                    log.warning("swarm: %s", a.message())
                elif isinstance(a, lt.torrent_checked_alert):
                    # A torrent refuses peers while it checks: connect the moment it is ready,
                    # not at the next retry (that wait would count against the first byte).
                    for peer in self.peers:
                        with contextlib.suppress(RuntimeError):
                            a.handle.connect_peer(peer)
            with self._lock:
                probing = list(self._torrents.values())
            for t in probing:  # bitfields seen while connected: kept for SEEN_TTL
                self._observe(t)
            now = time.monotonic()
            if now - last_peers > PEER_RETRY:
                last_peers = now
                self._connect_peers()
                self._check_finished()

    def _connect_peers(self) -> None:
        with self._lock:
            handles = [t.handle for t in self._torrents.values()]
        for h in handles:
            for peer in self.peers:
                with contextlib.suppress(RuntimeError):
                    h.connect_peer(peer)

    # -- places and torrents --------------------------------------------------------------
    def place(self, track_id: int) -> Place | None:
        """The published place of ``track_id`` (manifests re-read when torrents/ changes)."""
        try:
            stamp = (self.archive.torrents_dir / LISTING).stat().st_mtime
        except FileNotFoundError:
            stamp = 0.0
        with self._lock:
            if self._places is None or stamp != self._places_stamp:
                self._places, self._places_stamp = places(self.archive), stamp
            return self._places.get(track_id)

    def has_places(self) -> bool:
        """Whether any torrent of torrents.json carries a track."""
        self.place(-1)
        return bool(self._places)

    def _torrent(self, name: str, want: tuple[str, ...] = ()) -> Torrent:
        with self._lock:
            if name in self._torrents:
                return self._torrents[name]
            self.start()
            listing = read_listing(self.archive.torrents_dir / LISTING).by_name()
            entry = listing.get(name)
            if entry is None:
                raise InputError(f"torrent {name!r} is not in torrents.json")
            checked = read_torrent(self.archive.torrents_dir / entry.file)
            if checked.name != name or (checked.info_hash_v1, checked.info_hash_v2) != (
                entry.info_hash_v1,
                entry.info_hash_v2,
            ):
                raise InputError(f"{entry.file}: does not match its torrents.json entry")
            atp = lt.add_torrent_params()
            atp.ti = checked.info
            atp.save_path = str(self.cache_dir)
            atp.trackers = list(self.config.trackers)
            # Known peers go in with the torrent: it connects to them the moment its check
            # ends. connect_peer afterwards waits for the session's next tick (~1 s measured).
            atp.peers = list(self.peers)
            # Every file wanted goes in with the torrent, so it starts downloading and connects
            # at once; wanting a file later costs a wait for the next tick. A torrent with
            # nothing wanted (probed for availability) would be finished from the start.
            files = layout(checked.info)
            index = {files.file_path(i): i for i in range(files.num_files())}
            wanted = {
                index[rel]
                for rel in (*self._played, *want)
                if rel in index
                and (rel in want or (self.cache_dir / rel).is_file())  # the cache kept it
            }
            atp.file_priorities = [1 if i in wanted else 0 for i in range(files.num_files())]
            # Both flags: clearing auto_managed alone leaves the torrent paused (measured).
            atp.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
            handle = self._session.add_torrent(atp)
            t = Torrent(name, handle, checked.info)
            t.wanted = wanted
            if not t.wanted:
                self._probe_mode(t, True)
            self._torrents[name] = t
        for peer in self.peers:
            with contextlib.suppress(RuntimeError):
                handle.connect_peer(peer)
        return t

    @staticmethod
    def _probe_mode(t: Torrent, on: bool) -> None:
        """A torrent that wants nothing is finished, and peers drop finished connections
        (both sides upload-only), so its peers' bitfields would stay unknown. Probing wants one
        file at a trickle instead: the connections stay, little is downloaded. A whole file,
        not a piece: a piece of an unwanted file goes to libtorrent's part file, and wanting
        that file later failed to move it ("file too short", measured)."""
        t.probing = on
        t.handle.set_download_limit(PROBE_RATE if on else 0)
        if on and t.probe_file is None:
            files = layout(t.handle.torrent_file())
            sizes = [(files.file_size(i), i) for i in range(files.num_files())]
            pad = lt.file_storage.flag_pad_file
            real = [(n, i) for n, i in sizes if n > 0 and not files.file_flags(i) & pad]
            if real:
                t.probe_file = min(real)[1]
                t.handle.file_priority(t.probe_file, 1)
        elif not on and t.probe_file is not None:
            if t.probe_file not in t.wanted:
                t.handle.file_priority(t.probe_file, 0)
            t.probe_file = None

    def probe(self, torrent: str) -> None:
        """Add ``torrent`` (nothing wanted) so that its peers' bitfields become known."""
        try:
            self._torrent(torrent)
        except LongplayError as exc:
            log.warning("swarm: cannot add %s: %s", torrent, exc)

    # -- reading --------------------------------------------------------------------------
    def open(self, place: Place) -> PieceReader:
        """A reader of ``place``'s file; the file becomes wanted and is kept in the cache."""
        rel = f"{place.torrent}/{place.path}"
        t = self._torrent(place.torrent, (rel,))
        index = t.index.get(rel)
        if index is None:
            raise LongplayError(f"{place.torrent}.torrent has no file {place.path!r}")
        with self._lock:
            if index not in t.wanted:
                t.wanted.add(index)
                t.handle.file_priority(index, 1)
            if t.probing:
                self._probe_mode(t, False)
            t.readers += 1
            self._played[rel] = time.time()
        path = self.archive.resolve_inside(rel, self.cache_dir)

        def closed(reader: PieceReader) -> None:
            with self._lock:
                t.readers -= 1
            self._write_index()

        reader = PieceReader(
            t.handle,
            index,
            path,
            timeout=self.timeout,
            wake=self.wake,
            read_piece=self.read_piece,
            on_close=closed,
        )
        self._evict(keep=rel)
        return reader

    def read_piece(self, handle: Any, piece: int) -> bytes:
        """A verified piece's bytes through libtorrent's disk subsystem (its write buffers
        included): the alert thread hands them over; asked again if an alert was lost."""
        key = (str(handle.info_hashes().get_best()), piece)
        for _ in range(3):
            slot: list[Any] = []
            done = threading.Event()
            with self._lock:
                self._reads.setdefault(key, []).append((slot, done))
            handle.read_piece(piece)
            if done.wait(max(self.timeout, 5.0)):
                error, data = slot[0]
                if error:
                    raise LongplayError(f"piece {piece} could not be read: {error}")
                return bytes(data)
            with self._lock:
                waiting = self._reads.get(key, [])
                if (slot, done) in waiting:
                    waiting.remove((slot, done))
        raise SwarmUnavailable(f"not available right now: piece {piece} could not be read back")

    def _piece_read(self, a: Any) -> None:
        key = (str(a.handle.info_hashes().get_best()), int(a.piece))
        with self._lock:
            waiting = self._reads.pop(key, [])
        error = a.error.message() if a.error.value() else ""
        data = bytes(a.buffer) if not error else b""
        for slot, done in waiting:
            slot.append((error, data))
            done.set()

    def available(self, place: Place) -> bool | None:
        """Whether a peer seen lately (or the cache) has every piece of ``place``'s file;
        None while the session has not tried this torrent yet."""
        with self._lock:
            t = self._torrents.get(place.torrent)
        if t is None:
            return None
        index = t.index.get(f"{place.torrent}/{place.path}")
        if index is None:
            return False
        self._observe(t)
        seen, counts = t.available
        fresh = time.monotonic() - seen < SEEN_TTL
        files = layout(t.handle.torrent_file())
        plen = t.handle.torrent_file().piece_length()
        first = files.file_offset(index) // plen
        last = (files.file_offset(index) + max(files.file_size(index) - 1, 0)) // plen
        return all(
            (fresh and p < len(counts) and counts[p] > 0) or t.handle.have_piece(p)
            for p in range(first, last + 1)
        )

    def _observe(self, t: Torrent) -> None:
        """Remember what the connected peers have. Peers drop a connection once both sides
        have all they want, so the last bitfields seen count for ``SEEN_TTL``."""
        now = time.monotonic()
        if now - t.observed < AVAILABILITY_TTL:
            return
        t.observed = now
        counts = list(t.handle.piece_availability())
        if any(counts):
            t.available = (now, counts)
        elif t.probing and now - t.available[0] > SEEN_TTL and t.handle.status().is_finished:
            # Its probe file came whole and the seeds left: probe with another.
            t.probe_file = None
            self._probe_mode(t, True)
