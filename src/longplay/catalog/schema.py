"""The catalog schema (documented in docs/schema.md) and the flat interchange record.

Every source adapter produces *flat records*: one row per track with its artists, album and
album artists inline (``FLAT_COLUMNS``). The ingest stage validates them and normalizes them into
the tables below with set operations. IDs are stable across generations and machines:
``stable_id(source || ':' || kind || ':' || source_key)``.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

ARTIST_STRUCT = "STRUCT(key VARCHAR, name VARCHAR, mbid VARCHAR, join_phrase VARCHAR)"

# Field name -> DuckDB type of the flat interchange record (JSONL, Parquet, tabular mappings).
FLAT_COLUMNS: dict[str, str] = {
    "track_key": "VARCHAR",
    "title": "VARCHAR",
    "isrc": "VARCHAR",
    "mbid": "VARCHAR",
    "duration_ms": "BIGINT",
    "disc_number": "INTEGER",
    "track_number": "INTEGER",
    "explicit": "BOOLEAN",
    "popularity": "INTEGER",
    "listen_count": "BIGINT",
    "user_count": "BIGINT",
    "genres": "VARCHAR[]",
    "license": "VARCHAR",
    "artists": f"{ARTIST_STRUCT}[]",
    "album_key": "VARCHAR",
    "album_title": "VARCHAR",
    "album_type": "VARCHAR",
    "release_date": "VARCHAR",
    "label": "VARCHAR",
    "upc": "VARCHAR",
    "total_tracks": "INTEGER",
    "album_mbid": "VARCHAR",
    "album_genres": "VARCHAR[]",
    "album_artists": f"{ARTIST_STRUCT}[]",
}

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE IF NOT EXISTS artists (
    artist_id BIGINT NOT NULL,          -- stable_id(source:artist:source_key)
    name VARCHAR NOT NULL,
    sort_name VARCHAR,
    mbid VARCHAR,                       -- MusicBrainz artist ID
    source VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    generation INTEGER NOT NULL         -- generation that last wrote the row
);

CREATE TABLE IF NOT EXISTS albums (
    album_id BIGINT NOT NULL,
    title VARCHAR NOT NULL,
    album_type VARCHAR,                 -- album, single, ep, compilation, ...
    release_date VARCHAR,               -- ISO 8601, possibly partial: 1999, 1999-03, 1999-03-07
    release_year SMALLINT,
    label VARCHAR,
    upc VARCHAR,                        -- normalized, check digit verified
    total_tracks INTEGER,
    mbid VARCHAR,                       -- MusicBrainz release ID
    source VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    generation INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS tracks (
    track_id BIGINT NOT NULL,
    album_id BIGINT,
    title VARCHAR NOT NULL,
    disc_number SMALLINT,
    track_number SMALLINT,
    duration_ms INTEGER,
    explicit BOOLEAN,
    isrc VARCHAR,                       -- normalized, format checked
    mbid VARCHAR,                       -- MusicBrainz recording ID
    popularity SMALLINT,                -- 0..100
    listen_count BIGINT,
    user_count BIGINT,
    recording_id BIGINT,                -- identity group: tracks sharing an ISRC or recording MBID
    is_canonical BOOLEAN,               -- one track per recording_id
    license VARCHAR,                    -- e.g. cc-by-4.0, cc0, public-domain, own-rip (NULL: unknown)
    source VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    generation INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS track_artists (
    track_id BIGINT NOT NULL, artist_id BIGINT NOT NULL,
    position SMALLINT NOT NULL, join_phrase VARCHAR
);

CREATE TABLE IF NOT EXISTS album_artists (
    album_id BIGINT NOT NULL, artist_id BIGINT NOT NULL,
    position SMALLINT NOT NULL, join_phrase VARCHAR
);

CREATE TABLE IF NOT EXISTS genres (genre_id BIGINT NOT NULL, name VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS track_genres (track_id BIGINT NOT NULL, genre_id BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS album_genres (album_id BIGINT NOT NULL, genre_id BIGINT NOT NULL);

-- ISRCs of a track beyond tracks.isrc (a recording may carry several); identity links by all.
CREATE TABLE IF NOT EXISTS track_isrcs (
    track_id BIGINT NOT NULL, isrc VARCHAR NOT NULL, position SMALLINT NOT NULL  -- 2, 3, ...
);

-- Source records, kept where a source must be rebuildable record for record: for MusicBrainz the
-- residual of each document (what the tables above cannot hold; docs/sources.md), kind = entity.
CREATE TABLE IF NOT EXISTS source_records (
    source VARCHAR NOT NULL, kind VARCHAR NOT NULL, source_key VARCHAR NOT NULL,
    record VARCHAR NOT NULL, generation INTEGER NOT NULL
);

-- One row per finished resumable unit of every ingest that built this catalog.
CREATE TABLE IF NOT EXISTS ingest_log (
    generation INTEGER NOT NULL, source VARCHAR NOT NULL, unit VARCHAR NOT NULL,
    records_read BIGINT NOT NULL, records_kept BIGINT NOT NULL, records_rejected BIGINT NOT NULL,
    values_rejected BIGINT NOT NULL, finished_at TIMESTAMP NOT NULL
);
"""

# Tables a release carries (export) and their row keys, in dependency order.
RELEASE_TABLES: tuple[str, ...] = (
    "artists",
    "albums",
    "tracks",
    "track_artists",
    "album_artists",
    "track_isrcs",
    "genres",
    "track_genres",
    "album_genres",
    "source_records",
    "ingest_log",
    "meta",
)
