"""A normalized tag record, read from and written to Vorbis comments, ID3v2 and MP4 atoms.

Only the fields below are *managed*: `write_tags` sets each of them (removing it when the record
has no value) and leaves every other tag in the file alone. Values that cannot be parsed (a
track number of "x", a malformed ISRC or MusicBrainz ID, a date that is not a date) are dropped
and reported as problems, so a scan can log them as value rejects and keep the file.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field, fields
from typing import Any

import mutagen
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TPOS, TRCK, TSRC, TXXX, UFID
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from longplay.catalog.identifiers import isrc_problem, normalize_isrc
from longplay.errors import LongplayError

_DATE = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?")
MB_OWNER = "http://musicbrainz.org"  # UFID owner of the recording ID in ID3 (as Picard writes it)


@dataclass(frozen=True)
class TagRecord:
    """The tags Longplay reads and writes; tuples hold multi-valued fields in credit order."""

    title: str | None = None
    artists: tuple[str, ...] = ()
    album: str | None = None
    album_artists: tuple[str, ...] = ()
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    disc_total: int | None = None
    date: str | None = None  # ISO 8601, possibly partial: 1999, 1999-03, 1999-03-07
    isrc: str | None = None
    genres: tuple[str, ...] = ()
    mb_recording_id: str | None = None
    mb_release_id: str | None = None
    mb_artist_ids: tuple[str, ...] = ()
    mb_album_artist_ids: tuple[str, ...] = ()
    has_cover: bool = False  # read only: an embedded picture is present

    def as_row(self) -> dict[str, Any]:
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
            for f in fields(self)
        }


@dataclass
class TagReading:
    record: TagRecord
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, what is wrong)


# Vorbis comment key, ID3 frame (or TXXX description), MP4 atom, per managed text field.
_VORBIS = {
    "title": "TITLE",
    "artists": "ARTIST",
    "album": "ALBUM",
    "album_artists": "ALBUMARTIST",
    "date": "DATE",
    "isrc": "ISRC",
    "genres": "GENRE",
    "mb_recording_id": "MUSICBRAINZ_TRACKID",
    "mb_release_id": "MUSICBRAINZ_ALBUMID",
    "mb_artist_ids": "MUSICBRAINZ_ARTISTID",
    "mb_album_artist_ids": "MUSICBRAINZ_ALBUMARTISTID",
}
_ID3_TXXX = {
    "mb_release_id": "MusicBrainz Album Id",
    "mb_artist_ids": "MusicBrainz Artist Id",
    "mb_album_artist_ids": "MusicBrainz Album Artist Id",
}
_MP4 = {
    "title": "©nam",
    "artists": "©ART",
    "album": "©alb",
    "album_artists": "aART",
    "date": "©day",
    "genres": "©gen",
}
_MP4_FREE = {
    "isrc": "ISRC",
    "mb_recording_id": "MusicBrainz Track Id",
    "mb_release_id": "MusicBrainz Album Id",
    "mb_artist_ids": "MusicBrainz Artist Id",
    "mb_album_artist_ids": "MusicBrainz Album Artist Id",
}
_FREEFORM = "----:com.apple.iTunes:"


def parse_file(path: str) -> Any:
    """``mutagen.File``, with every failure to parse a MutagenError.

    Its parsers raise IndexError and the like on malformed files too (fuzzing found a mutated
    Ogg page list doing so), and the files are untrusted: held files come from torrents.
    """
    try:
        return mutagen.File(path)
    except (mutagen.MutagenError, OSError):
        raise
    except Exception as exc:
        raise mutagen.MutagenError(f"malformed file ({type(exc).__name__}: {exc})") from exc


def _open(path: str) -> Any:
    f = parse_file(path)
    if f is None:
        raise LongplayError(f"{path}: not a file whose tags Longplay can read")
    if not isinstance(f, FLAC | OggVorbis | OggOpus | MP3 | MP4):
        raise LongplayError(f"{path}: tags of {type(f).__name__} files are not supported")
    return f


def _texts(values: Any) -> list[str]:
    out = []
    for v in values if isinstance(values, list | tuple) else [values]:
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        # No NULs, and valid UTF-8 (mutagen may hand back lone surrogates from broken tags).
        s = str(v).replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
        if s:
            out.append(s)
    return out


MAX_NUMBER = 9999  # a track or disc number (or total) above this is junk, not a number


def _int(text: str) -> int:
    value = int(text.strip())
    if not 0 <= value <= MAX_NUMBER:
        raise ValueError(text)
    return value


def _pair(text: str) -> tuple[int | None, int | None]:
    """Parse '3', '03', '3/12' into (3, None) / (3, 12); ValueError otherwise."""
    num, _, total = text.partition("/")
    return _int(num), (_int(total) if total.strip() else None)


class _Parser:
    """Collects raw strings per field, then normalizes them, noting what it had to drop."""

    def __init__(self) -> None:
        self.raw: dict[str, list[str]] = {}
        self.problems: list[tuple[str, str]] = []

    def put(self, name: str, values: Any) -> None:
        vals = _texts(values)
        if vals:
            self.raw.setdefault(name, []).extend(vals)

    def _one(self, name: str) -> str | None:
        vals = self.raw.get(name)
        return vals[0] if vals else None

    def _number(self, name: str, total_name: str) -> tuple[int | None, int | None]:
        text = self._one(name)
        num = total = None
        if text is not None:
            try:
                num, total = _pair(text)
            except ValueError:
                self.problems.append((name, f"{name} {text!r} is not a number"))
        total_text = self._one(total_name)
        if total_text is not None:
            try:
                total = _int(total_text)
            except ValueError:
                self.problems.append((total_name, f"{total_name} {total_text!r} is not a number"))
        return num, total

    def _date(self) -> str | None:
        text = self._one("date")
        if text is None:
            return None
        m = _DATE.match(text)
        if not m or not (1000 <= int(m.group(1)) <= 2999):
            self.problems.append(("date", f"date {text!r} is not a date"))
            return None
        year, month, day = m.group(1), m.group(2), m.group(3)
        if month and 1 <= int(month) <= 12:
            if day and 1 <= int(day) <= 31:
                return f"{year}-{int(month):02d}-{int(day):02d}"
            return f"{year}-{int(month):02d}"
        return year

    def _mbids(self, name: str) -> tuple[str, ...]:
        out = []
        for text in self.raw.get(name, []):
            for part in re.split(r"[;/,]\s*|\s+", text):
                try:
                    out.append(str(uuid.UUID(part)))
                except ValueError:
                    self.problems.append((name, f"{name} {part!r} is not a MusicBrainz ID"))
        return tuple(out)

    def record(self, has_cover: bool) -> TagReading:
        isrc = self._one("isrc")
        if isrc is not None:
            isrc = normalize_isrc(isrc)
            if (problem := isrc_problem(isrc)) is not None:
                self.problems.append(("isrc", problem))
                isrc = None
        track, track_total = self._number("track_number", "track_total")
        disc, disc_total = self._number("disc_number", "disc_total")
        rec_ids, release_ids = self._mbids("mb_recording_id"), self._mbids("mb_release_id")
        rec = TagRecord(
            title=self._one("title"),
            artists=tuple(self.raw.get("artists", ())),
            album=self._one("album"),
            album_artists=tuple(self.raw.get("album_artists", ())),
            track_number=track,
            track_total=track_total,
            disc_number=disc,
            disc_total=disc_total,
            date=self._date(),
            isrc=isrc,
            genres=tuple(self.raw.get("genres", ())),
            mb_recording_id=rec_ids[0] if rec_ids else None,
            mb_release_id=release_ids[0] if release_ids else None,
            mb_artist_ids=self._mbids("mb_artist_ids"),
            mb_album_artist_ids=self._mbids("mb_album_artist_ids"),
            has_cover=has_cover,
        )
        return TagReading(rec, self.problems)


def read_tags(path: str) -> TagReading:
    """Read the managed fields of a FLAC, Ogg Vorbis, Ogg Opus, MP3 or MP4 file."""
    f = _open(path)
    p = _Parser()
    tags = f.tags
    has_cover = False
    if isinstance(f, FLAC | OggVorbis | OggOpus):
        if tags is not None:
            lower = {k.lower(): v for k, v in tags.as_dict().items()}
            for name, key in _VORBIS.items():
                p.put(name, lower.get(key.lower(), []))
            p.put("track_number", lower.get("tracknumber", []))
            p.put("track_total", lower.get("tracktotal", lower.get("totaltracks", [])))
            p.put("disc_number", lower.get("discnumber", []))
            p.put("disc_total", lower.get("disctotal", lower.get("totaldiscs", [])))
            if "date" not in lower:
                p.put("date", lower.get("year", []))
            has_cover = "metadata_block_picture" in lower or "coverart" in lower
        has_cover = has_cover or bool(getattr(f, "pictures", None))
    elif isinstance(f, MP3):
        if tags is not None:
            for name, frame in (
                ("title", "TIT2"),
                ("artists", "TPE1"),
                ("album", "TALB"),
                ("album_artists", "TPE2"),
                ("track_number", "TRCK"),
                ("disc_number", "TPOS"),
                ("date", "TDRC"),
                ("isrc", "TSRC"),
                ("genres", "TCON"),
            ):
                for fr in tags.getall(frame):
                    p.put(name, fr.genres if frame == "TCON" else [str(t) for t in fr.text])
            for name, desc in _ID3_TXXX.items():
                for fr in tags.getall(f"TXXX:{desc}"):
                    p.put(name, list(fr.text))
            for fr in tags.getall(f"UFID:{MB_OWNER}"):
                p.put("mb_recording_id", fr.data)
            has_cover = bool(tags.getall("APIC"))
    else:  # MP4
        if tags is not None:
            for name, atom in _MP4.items():
                p.put(name, tags.get(atom, []))
            for name, desc in _MP4_FREE.items():
                p.put(name, [bytes(v) for v in tags.get(_FREEFORM + desc, [])])
            for name, total_name, atom in (
                ("track_number", "track_total", "trkn"),
                ("disc_number", "disc_total", "disk"),
            ):
                for num, total in tags.get(atom, [])[:1]:
                    if num:
                        p.put(name, str(num))
                    if total:
                        p.put(total_name, str(total))
            has_cover = bool(tags.get("covr"))
    return p.record(has_cover)


def _numtext(num: int | None, total: int | None) -> str | None:
    if num is None:
        return None
    return f"{num}/{total}" if total else str(num)


def write_tags(path: str, record: TagRecord, cover: bytes | None = None) -> None:
    """Set every managed field of ``path`` to ``record`` (in place); other tags stay as they are.

    ``cover`` (JPEG or PNG bytes), when given, replaces the embedded front cover.
    """
    f = _open(path)
    if f.tags is None:
        f.add_tags()
    values = {k: v for k, v in record.as_row().items() if k != "has_cover"}
    if isinstance(f, FLAC | OggVorbis | OggOpus):
        _write_vorbis(f, values, cover)
    elif isinstance(f, MP3):
        assert f.tags is not None  # added above
        _write_id3(f.tags, values, cover)
    else:
        _write_mp4(f.tags, values, cover)
    # ID3v1 is only rewritten when one is already there (mutagen's default), never added.
    f.save()


def _picture(cover: bytes) -> Picture:
    pic = Picture()
    pic.type = 3  # front cover
    pic.mime = "image/png" if cover.startswith(b"\x89PNG") else "image/jpeg"
    pic.desc = ""
    pic.data = cover
    return pic


def _write_vorbis(f: Any, values: dict[str, Any], cover: bytes | None) -> None:
    tags = f.tags
    extra = {
        "track_number": ("TRACKNUMBER", values["track_number"]),
        "track_total": ("TRACKTOTAL", values["track_total"]),
        "disc_number": ("DISCNUMBER", values["disc_number"]),
        "disc_total": ("DISCTOTAL", values["disc_total"]),
    }
    for old in ("TOTALTRACKS", "TOTALDISCS"):
        _drop(tags, old)
    for name, key in _VORBIS.items():
        _set_vorbis(tags, key, values[name])
    for key, value in extra.values():
        _set_vorbis(tags, key, None if value is None else str(value))
    if cover is not None:
        if isinstance(f, FLAC):
            f.clear_pictures()
            f.add_picture(_picture(cover))
        else:
            _drop(tags, "COVERART")
            tags["METADATA_BLOCK_PICTURE"] = [
                base64.b64encode(_picture(cover).write()).decode("ascii")
            ]


def _set_vorbis(tags: Any, key: str, value: Any) -> None:
    vals = _texts(value) if value is not None else []
    if vals:
        tags[key] = vals
    else:
        _drop(tags, key)


def _drop(tags: Any, key: str) -> None:
    # Vorbis comment dicts are lists underneath: their pop() is list.pop, hence no pop(key, None).
    if key in tags:
        del tags[key]


def _write_id3(tags: ID3, values: dict[str, Any], cover: bytes | None) -> None:
    def text(frame_cls: Any, key: str, value: Any) -> None:
        tags.delall(key)
        vals = _texts(value) if value is not None else []
        if vals:
            tags.add(frame_cls(encoding=3, text=vals))

    text(TIT2, "TIT2", values["title"])
    text(TPE1, "TPE1", values["artists"])
    text(TALB, "TALB", values["album"])
    text(TPE2, "TPE2", values["album_artists"])
    text(TRCK, "TRCK", _numtext(values["track_number"], values["track_total"]))
    text(TPOS, "TPOS", _numtext(values["disc_number"], values["disc_total"]))
    text(TDRC, "TDRC", values["date"])
    text(TSRC, "TSRC", values["isrc"])
    text(TCON, "TCON", values["genres"])
    for name, desc in _ID3_TXXX.items():
        tags.delall(f"TXXX:{desc}")
        vals = _texts(values[name]) if values[name] is not None else []
        if vals:
            tags.add(TXXX(encoding=3, desc=desc, text=vals))
    tags.delall(f"UFID:{MB_OWNER}")
    if values["mb_recording_id"]:
        tags.add(UFID(owner=MB_OWNER, data=values["mb_recording_id"].encode("ascii")))
    if cover is not None:
        tags.delall("APIC")
        pic = _picture(cover)
        tags.add(APIC(encoding=3, mime=pic.mime, type=3, desc="", data=cover))


def _write_mp4(tags: Any, values: dict[str, Any], cover: bytes | None) -> None:
    for name, atom in _MP4.items():
        vals = _texts(values[name]) if values[name] is not None else []
        if vals:
            tags[atom] = vals
        else:
            tags.pop(atom, None)
    for name, desc in _MP4_FREE.items():
        vals = _texts(values[name]) if values[name] is not None else []
        if vals:
            tags[_FREEFORM + desc] = [MP4FreeForm(v.encode("utf-8")) for v in vals]
        else:
            tags.pop(_FREEFORM + desc, None)
    for atom, num, total in (
        ("trkn", values["track_number"], values["track_total"]),
        ("disk", values["disc_number"], values["disc_total"]),
    ):
        if num is not None:
            tags[atom] = [(num, total or 0)]
        else:
            tags.pop(atom, None)
    if cover is not None:
        fmt = MP4Cover.FORMAT_PNG if cover.startswith(b"\x89PNG") else MP4Cover.FORMAT_JPEG
        tags["covr"] = [MP4Cover(cover, imageformat=fmt)]


def read_cover(path: str) -> bytes | None:
    """The embedded front cover (or first picture) of a file, or None."""
    f = _open(path)
    tags = f.tags
    if isinstance(f, FLAC) and f.pictures:
        return bytes(f.pictures[0].data)
    if isinstance(f, FLAC | OggVorbis | OggOpus) and tags is not None:
        for b64 in tags.get("METADATA_BLOCK_PICTURE", []):
            try:
                return bytes(Picture(base64.b64decode(b64)).data)
            except Exception:
                continue
        return None
    if isinstance(f, MP3) and tags is not None:
        apics = tags.getall("APIC")
        return bytes(apics[0].data) if apics else None
    if isinstance(f, MP4) and tags is not None and tags.get("covr"):
        return bytes(tags["covr"][0])
    return None
