"""MusicBrainz documents to flat track records plus a residual per document (docs/sources.md).

A release document becomes one flat row per track (media ``tracks``, ``pregap``, ``data-tracks``)
with its album inline, or one album-only row when it lists no tracks. Values that the catalog
tables hold exactly, and that only this document writes, are *popped* from the document; what
is left is the residual, stored in ``source_records`` and merged back with the rows on export
(``rebuild``). The rule for every popped key: it is popped only when the stored column will
equal it, and a column is non-NULL only when its key was present, so "key absent from the
residual and column non-NULL" means "fill it in". Wrong types of mapped keys and missing
identifying keys reject the whole document; keys MusicBrainz does not document are kept in the
residual and counted (the dump schema grows; nothing is lost).
"""

from __future__ import annotations

from typing import Any

import orjson

from longplay.catalog.identifiers import normalize_isrc, normalize_upc, upc_problem
from longplay.catalog.sources.musicbrainz.columns import Columns
from longplay.catalog.sources.musicbrainz.schema import (
    DATE,
    INT32,
    INT64,
    ISRC,
    KNOWN,
    KNOWN_RECORDING,
    KNOWN_TRACK,
    SMALL,
    UUID,
    Below,
    Problem,
    opt,
    uuid,
    want,
)


class Batch(Columns):
    """Maps dump lines into its columns, a document at a time (a bad one is rolled back whole)."""

    # -- documents -------------------------------------------------------------------------
    def add(self, kind: str, line_no: int, line: bytes) -> None:
        """Map one dump line; a bad line becomes a reject, never an exception."""
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.strip():
                return  # blank lines are not records
            self.read += 1
            self.reject(line_no, f"malformed JSON: {exc}")
            return
        self.read += 1
        if type(doc) is not dict:
            self.reject(line_no, f"a JSON {type(doc).__name__}, not an object")
            return
        mark = self._mark()
        try:
            if kind == "release":
                self._release(doc, line_no)
            else:
                self._entity(kind, doc, line_no)
        except Problem as exc:
            self._rollback(mark)
            self.reject(line_no, str(exc))

    def _entity(self, kind: str, doc: dict[str, Any], line: int) -> None:
        key = uuid(doc.get("id"), "id")
        name_key = "name" if kind == "artist" else "title"
        opt(doc.get(name_key), str, name_key, "a string")
        if doc.get(name_key) is None:
            raise Problem(f"missing key {name_key!r}")
        extra = doc.keys() - KNOWN[kind]
        if extra:
            self.note_unknown(extra, kind, line)
        del doc["id"]
        self._keep(kind, key, line, doc)

    def _credits(
        self,
        ac: Any,
        out: tuple[list[Any], list[Any], list[Any], list[Any]] | None,
        artists: dict[str, Any],
    ) -> int:
        """Append an artist credit's structs to ``out`` and compact it in place.

        With ``out`` None the credit has no link rows (recordings, release groups): it is only
        checked and compacted. Hot path: a bad value raises ``Below`` with the path relative to
        the credit list; the caller names the list.
        """
        if ac is None:
            return 0
        if type(ac) is not list:
            raise Below("", "a list", ac)
        sort_names = self.sort_names  # (no other set-up: most credit lists hold one credit)
        for i, c in enumerate(ac):
            if type(c) is not dict:
                raise Below(f"[{i}]", "an object", c)
            art = c.get("artist")
            credited = c.get("name")
            join = c.get("joinphrase")
            if (type(credited) is not str and credited is not None) or (
                type(join) is not str and join is not None
            ):
                bad = "name" if type(credited) is not str and credited is not None else "joinphrase"
                raise Below(f"[{i}].{bad}", "a string", c[bad])
            aid = name = None
            if art is not None:
                if type(art) is not dict:
                    raise Below(f"[{i}].artist", "an object", art)
                aid = art.get("id")
                name = art.get("name")
                if type(name) is not str and name is not None:
                    raise Below(f"[{i}].artist.name", "a string", name)
                # A key of sort_names passed the check already (artists recur in every credit).
                if aid is not None and (
                    type(aid) is not str or (aid not in sort_names and not _uuid_ok(aid))
                ):
                    aid = None  # kept in the residual; the artist is keyed by name
                if aid is not None:
                    sort = art.get("sort-name")
                    if type(sort) is str:
                        sort_names[aid] = sort
            name = name or credited
            # A link row exists when the name is not blank (keyed by MBID, else by name).
            linked = out is not None and name and name.strip()
            if aid is not None:
                first = artists.get(aid)
                if first is None:
                    artists[aid] = dict(art)  # type: ignore[arg-type]
                    if linked:
                        del art["id"]  # type: ignore[union-attr]
                elif first == art:
                    c["artist"] = aid  # the same artist object as earlier in the document
            if linked:
                if type(join) is str:
                    del c["joinphrase"]
                elif "joinphrase" not in c:
                    c["joinphrase"] = False  # absent: the link row's '' must not be filled in
            if out is not None:
                out[0].append(aid)
                out[1].append(name)
                out[2].append(aid)
                out[3].append(join)
        return len(ac)

    def _release(self, doc: dict[str, Any], line: int) -> None:
        rid = uuid(doc.get("id"), "id")
        title = doc.get("title")
        if type(title) is not str:
            raise want("title", "a string", title)
        media = doc.get("media")
        if type(media) is not list and media is not None:
            raise want("media", "a list", media)
        extra = doc.keys() - KNOWN["release"]
        if extra:
            self.note_unknown(extra, "release", line)
        doc_no = len(self.pos)
        pos = f"line {line}"
        a = self.album
        # album columns: key, title, type, date, label, upc, total, mbid, genres
        date = opt(doc.get("date"), str, "date", "a string")
        barcode = opt(doc.get("barcode"), str, "barcode", "a string")
        rg = opt(doc.get("release-group"), dict, "release-group", "an object")
        album_type = None
        genres: list[str] = []
        if rg is not None:
            sec = rg.get("secondary-types")
            primary = rg.get("primary-type")
            if type(sec) is list and "Compilation" in sec:
                album_type = "compilation"
            elif type(primary) is str:
                album_type = primary.lower()
            genres.extend(_genre_names(rg.get("genres")))
        genres.extend(_genre_names(doc.get("genres")))
        label = None
        li = doc.get("label-info")
        if type(li) is list and li and type(li[0]) is dict and type(li[0].get("label")) is dict:
            label = li[0]["label"].get("name") if type(li[0]["label"].get("name")) is str else None
        total: int | None = 0
        for col, value in zip(
            a,
            (rid, title, album_type, date, label, barcode or None, None, rid, genres or None),
            strict=True,
        ):
            col.append(value)
        artists: dict[str, Any] = {}
        credit = doc.get("artist-credit")
        rg_walk = False
        if rg is not None:  # its credit: usually the release's (popped), else compacted below
            had = "artist-credit" in rg
            rg_walk = not _same(rg, "artist-credit", credit) and had
        try:
            self.alb_off.append(self.alb_off[-1] + self._credits(credit, self.alb_art, artists))
        except Below as exc:
            raise exc.at("artist-credit") from None
        if rg_walk:
            try:
                self._credits(rg["artist-credit"], None, artists)
            except Below as exc:
                raise exc.at("release-group.artist-credit") from None
        self.pos.append(pos)

        seen: set[str] = set()
        tracks = 0
        for mi, med in enumerate(media or ()):
            where = f"media[{mi}]"
            if type(med) is not dict:
                raise want(where, "an object", med)
            extra = med.keys() - KNOWN["medium"]
            if extra:
                self.note_unknown(extra, "media[]", line)
            disc = med.get("position")
            if type(disc) is not int and disc is not None:
                raise want(f"{where}.position", "an integer", disc)
            disc_col = disc
            if disc is not None and not -INT32 <= disc <= INT32:
                self.too_large(line, "disc_number", disc)
                disc_col = None
            count = med.get("track-count")
            total = total + count if type(count) is int and total is not None else None
            before = tracks
            for list_key in ("pregap", "tracks", "data-tracks"):
                tl = med.get(list_key)
                if tl is None:
                    continue
                if list_key == "pregap":
                    tl = [tl]
                elif type(tl) is not list:
                    raise want(f"{where}.{list_key}", "a list", tl)
                self._tracks(tl, mi, list_key, disc_col, doc_no, seen, line, artists)
                tracks += len(tl)
            if tracks > before and disc is not None and 0 <= disc <= SMALL:
                del med["position"]
        if total is not None and not -INT32 <= total <= INT32:
            self.too_large(line, "total_tracks", total)
            total = None
        a[6][-1] = total if media else None
        if tracks == 0:  # an album that lists no tracks: one album-only row
            for col in self._track_columns():
                col.append(None)
            self.doc_of_row.append(doc_no)
            self.album_only.append(True)
            self.art_off.append(self.art_off[-1])
        # popped album values (the album row is keyed by this document only)
        del doc["id"], doc["title"]
        if date is not None and DATE.fullmatch(date):
            del doc["date"]
        if barcode and normalize_upc(barcode) == barcode and upc_problem(barcode) is None:
            del doc["barcode"]
        self._keep("release", rid, line, doc)

    def _tracks(
        self,
        tl: list[Any],
        mi: int,
        list_key: str,
        disc: int | None,
        doc_no: int,
        seen: set[str],
        line: int,
        artists: dict[str, Any],
    ) -> None:
        """The tracks of one track list: the hot loop. Column appends are bound once, columns
        constant over the list are extended once at its end (a Problem rolls them all back), and
        error paths (``_path``) are built only on errors."""
        fullmatch = UUID.fullmatch
        credits = self._credits
        isrcs_of, isrc_ok = self._isrcs, ISRC.fullmatch
        art, art_off = self.art, self.art_off
        off = art_off[-1]
        add_key, add_title, add_isrc, add_mbid = (
            self.track_key.append,
            self.title.append,
            self.isrc.append,
            self.mbid.append,
        )
        add_length, add_number, add_genres, add_off = (
            self.duration.append,
            self.number.append,
            self.genres.append,
            art_off.append,
        )
        for ti, tr in enumerate(tl):
            if type(tr) is not dict:
                raise want(_path(mi, list_key, ti), "an object", tr)
            tid = tr.get("id")
            if type(tid) is not str or not fullmatch(tid):
                raise want(f"{_path(mi, list_key, ti)}.id", "a MusicBrainz ID (UUID)", tid)
            if tid in seen:
                raise Problem(f"{_path(mi, list_key, ti)}.id {tid} appears twice in the release")
            seen.add(tid)
            title = tr.get("title")
            if type(title) is not str or not title.strip():
                raise want(f"{_path(mi, list_key, ti)}.title", "a non-empty string", title or None)
            if not KNOWN_TRACK.issuperset(tr):
                self.note_unknown(tr.keys() - KNOWN_TRACK, "media[].tracks[]", line)
            number = tr.get("position")
            if type(number) is not int and number is not None:
                raise want(f"{_path(mi, list_key, ti)}.position", "an integer", number)
            length = tr.get("length")
            if type(length) is not int and length is not None:
                raise want(f"{_path(mi, list_key, ti)}.length", "an integer", length)
            rec = tr.get("recording")
            mbid = isrc = genres = None
            credit = tr.get("artist-credit")
            rec_walk = False
            if rec is not None:
                if type(rec) is not dict:
                    raise want(f"{_path(mi, list_key, ti)}.recording", "an object", rec)
                # The recording's title, length and credit: popped when equal to the track's,
                # marked false when absent (the rebuild's rule, as _same; inlined: per track).
                value = rec.get("title")
                if type(value) is not str and value is not None:
                    raise want(f"{_path(mi, list_key, ti)}.recording.title", "a string", value)
                if value is None:
                    if "title" not in rec:
                        rec["title"] = False
                elif value == title:
                    del rec["title"]
                value = rec.get("length")
                if type(value) is not int and value is not None:
                    raise want(f"{_path(mi, list_key, ti)}.recording.length", "an integer", value)
                if value is None:
                    if "length" not in rec:
                        rec["length"] = False
                elif length is not None and value == length:
                    del rec["length"]
                if "artist-credit" not in rec:
                    rec["artist-credit"] = False
                elif credit is not None and rec["artist-credit"] == credit:
                    del rec["artist-credit"]
                else:
                    rec_walk = True
                if not KNOWN_RECORDING.issuperset(rec):
                    self.note_unknown(
                        rec.keys() - KNOWN_RECORDING, "media[].tracks[].recording", line
                    )
                rid = rec.get("id")
                if type(rid) is str and fullmatch(rid):
                    mbid = rid
                    if rid == rid.lower():
                        del rec["id"]
                isrcs = rec.get("isrcs")
                if isrcs:
                    if type(isrcs) is not list:
                        raise want(f"{_path(mi, list_key, ti)}.recording.isrcs", "a list", isrcs)
                    if len(isrcs) == 1 and type(isrcs[0]) is str:  # the usual case: _isrcs in short
                        isrc = isrcs[0]
                        if isrc_ok(isrc):
                            del rec["isrcs"]
                    else:
                        try:
                            isrc = isrcs_of(isrcs, rec, tid)
                        except Below as exc:
                            raise exc.at(f"{_path(mi, list_key, ti)}.recording.isrcs") from None
                g = rec.get("genres")
                if g:
                    genres = _genre_names(g) or None
            add_key(tid)
            add_title(title)
            add_isrc(isrc)
            add_mbid(mbid)
            # A number too large for its flat column goes in as NULL (the residual keeps it, so
            # the document still rebuilds); within the column's type, the value rules judge it.
            if length is not None and not -INT64 <= length < INT64:
                self.too_large(line, "duration_ms", length)
                length = None
            if number is not None and not -INT32 <= number <= INT32:
                self.too_large(line, "track_number", number)
                number = None
            add_length(length)
            add_number(number)
            add_genres(genres)
            try:
                off += credits(credit, art, artists)
            except Below as exc:
                raise exc.at(f"{_path(mi, list_key, ti)}.artist-credit") from None
            add_off(off)
            if rec_walk:
                try:
                    credits(rec["artist-credit"], None, artists)  # type: ignore[index]
                except Below as exc:
                    raise exc.at(f"{_path(mi, list_key, ti)}.recording.artist-credit") from None
            if title == title.strip():
                del tr["title"]
            if number is not None and 0 <= number <= SMALL:
                del tr["position"]
            if length is not None and 0 <= length <= INT32:
                del tr["length"]
        n = len(tl)
        self.disc.extend([disc] * n)
        self.doc_of_row.extend([doc_no] * n)
        self.album_only.extend([False] * n)

    def _isrcs(self, isrcs: list[Any], rec: dict[str, Any], tid: str) -> str:
        """The first ISRC (for tracks.isrc); the others valid ones go to track_isrcs."""
        ok = ISRC.fullmatch
        for i, x in enumerate(isrcs):
            if type(x) is not str:
                raise Below(f"[{i}]", "a string", x)
        good = [x for x in isrcs if ok(x)]
        if len(good) == len(isrcs) and len(set(good)) == len(good):
            del rec["isrcs"]  # exactly [tracks.isrc, *track_isrcs by position]
            extras = good[1:]
        else:
            first = normalize_isrc(isrcs[0])
            extras = [
                n
                for n in dict.fromkeys(normalize_isrc(x) for x in isrcs[1:])
                if ok(n) and n != first
            ]
        for p, x in enumerate(extras, 2):
            self.isrc_extra[0].append(tid)
            self.isrc_extra[1].append(x)
            self.isrc_extra[2].append(p)
        return isrcs[0]


_uuid_ok = UUID.fullmatch


def _same(obj: dict[str, Any], key: str, sibling: Any) -> bool:
    """Pop ``obj[key]`` when it equals ``sibling`` (a value the rebuild has before it); mark an
    absent key ``false`` (never a valid value of these keys) so the rebuild does not fill it."""
    if key not in obj:
        obj[key] = False
        return False
    if sibling is not None and obj[key] == sibling:
        del obj[key]
        return True
    return False


def _genre_names(value: Any) -> list[str]:
    if type(value) is not list:
        return []
    return [g["name"] for g in value if type(g) is dict and type(g.get("name")) is str]


def _path(mi: int, list_key: str, ti: int) -> str:
    """Where a track is in its release, for error messages."""
    return f"media[{mi}].pregap" if list_key == "pregap" else f"media[{mi}].{list_key}[{ti}]"
