"""Layout of files into torrents: deterministic, tier-pure, sized, and safe paths."""

import duckdb

from longplay.pack import placement as layout


def _files(n: int, tiers: int = 2) -> str:
    return f"""SELECT i AS track_id, i % {tiers} AS tier, 1000 + (i * 37) % 500 AS size,
                      100 - i % 100 AS popularity, 10000 - i AS listens, 'Artist ' || (i % 7) AS artist,
                      'Album ' || (i % 13) AS album, 2000 + i % 20 AS year, 1 AS disc,
                      i % 12 + 1 AS track_number, 'Song ' || (i % 50) AS title, 'ogg' AS ext
               FROM range({n}) t(i)
               UNION ALL  -- two tracks whose paths differ only in case: must not collide
               SELECT 10000 + i, 0, 10, 100, 1, 'Same', 'Same', 2000, 1, 1, CASE i WHEN 0 THEN 'Song' ELSE 'SONG' END, 'ogg'
               FROM range(2) t(i)"""


def test_layout_is_deterministic_tier_pure_and_sized() -> None:
    con = duckdb.connect()
    a = layout.layout(con, _files(400), "lp", 20_000)
    b = layout.layout(duckdb.connect(), _files(400), "lp", 20_000)
    assert a == b and len(a) == 402
    size = {
        r[0]: r[1] for r in con.execute(f"SELECT track_id, size FROM ({_files(400)})").fetchall()
    }
    tier = {
        r[0]: r[1] for r in con.execute(f"SELECT track_id, tier FROM ({_files(400)})").fetchall()
    }
    per: dict[str, list[int]] = {}
    for p in a:
        per.setdefault(p.torrent, []).append(p.track_id)
    for name, ids in per.items():
        assert {tier[i] for i in ids} == {
            int(name.split("-t")[1].split("-")[0])
        }  # never mixes tiers
        assert sum(size[i] for i in ids) <= 20_000 + 1500  # target + one file
    assert sorted(per) == [
        f"lp-t{t}-{s:04d}"
        for t in (0, 1)
        for s in range(1, 1 + sum(1 for n in per if n.startswith(f"lp-t{t}-")))
    ]
    paths = [(p.torrent, p.path.lower()) for p in a]
    assert len(set(paths)) == len(paths)  # unique, case-insensitively
    same = sorted(p.path for p in a if p.track_id >= 10000)
    assert same == ["Same/Same (2000)/01-01 SONG [10001].ogg", "Same/Same (2000)/01-01 Song.ogg"]


def test_unsafe_names_become_safe_components() -> None:
    assert layout.safe_component("../../etc") == "_.._etc"
    assert layout.safe_component("AC/DC") == "AC_DC"
    assert layout.safe_component("  ") == "Unknown"
    assert layout.safe_component("CON") == "_CON"
    assert layout.safe_component('a<b>c:"d|e?*\x00f') == "a_b_c__d_e___f"
    assert layout.safe_component("Trailing dots...") == "Trailing dots"
    long = layout.safe_component("é" * 200)
    assert len(long.encode()) <= layout.MAX_COMPONENT_BYTES and long == "é" * 60
    p = layout.track_path("Sigur Rós", "( )", 2002, 1, 3, "Untitled #3 / Samskeyti", "flac")
    assert p == "Sigur Rós/( ) (2002)/01-03 Untitled #3 _ Samskeyti.flac"
    for part in layout.track_path("..", "..", None, None, None, "..", "ogg").split("/"):
        assert part not in ("", ".", "..")
