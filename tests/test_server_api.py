"""The API over HTTP against a live server: spec schemas, auth on every endpoint, behaviour."""

from __future__ import annotations

import json
import threading
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from audiofixtures import require_shared_data
from longplay.server.endpoints import PUBLIC, SPEC_ENDPOINTS
from serverfixtures import OTHER, OTHER_PASSWORD, PASSWORD, USER, Live


def spec_dir() -> Path:
    return require_shared_data("opensubsonic-openapi")


def spec_endpoints() -> list[str]:
    return sorted(p.stem for p in spec_dir().glob("endpoints/*.json"))


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = json.loads((spec_dir() / "endpoints" / f"{name}.json").read_text())
    ok = doc["get"]["responses"]["200"]
    base = spec_dir() / "endpoints"
    if "$ref" in ok:  # a shared response, e.g. the empty envelope
        ref_path = (base / ok["$ref"]).resolve()
        ok, base = json.loads(ref_path.read_text()), ref_path.parent
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    path = (base / ref).resolve()

    def retrieve(uri: str) -> Resource:  # type: ignore[type-arg]
        contents = json.loads(Path(uri.removeprefix("file://")).read_text())
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    schema = {"$ref": path.as_uri()}
    return Draft202012Validator(schema, registry=Registry(retrieve=retrieve))  # type: ignore[call-arg]


def valid(name: str, body: dict[str, Any]) -> None:
    errors = sorted(_validator(name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].path)}"


def test_our_endpoint_list_is_the_specs() -> None:
    assert set(spec_endpoints()) == SPEC_ENDPOINTS


def _ids(live: Live) -> dict[str, str]:
    albums = live.ok("getAlbumList2", type="alphabeticalByName", size=5)["albumList2"]["album"]
    album = live.ok("getAlbum", id=albums[0]["id"])["album"]
    song = album["song"][0]
    return {"album": album["id"], "song": song["id"], "artist": album["artistId"]}


def test_responses_match_the_spec_schemas(live: Live) -> None:
    ids = _ids(live)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("ping", {}),
        ("getLicense", {}),
        ("getOpenSubsonicExtensions", {}),
        ("getMusicFolders", {}),
        ("getIndexes", {}),
        ("getArtists", {"musicFolderId": 2}),
        ("getArtist", {"id": ids["artist"]}),
        ("getAlbum", {"id": ids["album"]}),
        ("getSong", {"id": ids["song"]}),
        ("getMusicDirectory", {"id": ids["album"]}),
        ("getMusicDirectory", {"id": ids["artist"]}),
        ("getGenres", {}),
        ("getArtistInfo2", {"id": ids["artist"]}),
        ("getTopSongs", {"artist": "nobody"}),
        ("getAlbumList", {"type": "newest"}),
        ("getRandomSongs", {"size": 3}),
        ("getSongsByGenre", {"genre": "rock", "musicFolderId": 2}),
        ("getStarred", {}),
        ("getStarred2", {}),
        ("search2", {"query": ""}),
        ("search3", {"query": '""', "musicFolderId": 2}),
        ("getPlaylists", {}),
        ("getPlayQueue", {}),
        ("getPlayQueueByIndex", {}),
        ("getScanStatus", {}),
        ("getUser", {}),
        ("getUsers", {}),
        ("tokenInfo", {"auth": {"apiKey": live.api_key}}),
        ("getChatMessages", {}),  # a failed envelope is valid too
    ]
    for kind in (
        "random",
        "newest",
        "frequent",
        "recent",
        "starred",
        "highest",
        "alphabeticalByName",
        "alphabeticalByArtist",
    ):
        calls.append(("getAlbumList2", {"type": kind, "musicFolderId": 2}))
    calls.append(("getAlbumList2", {"type": "byYear", "fromYear": 1900, "toYear": 2100}))
    calls.append(("getAlbumList2", {"type": "byGenre", "genre": "rock"}))
    for name, params in calls:
        body = live.get(name, **params)
        valid(name, body)
        assert body["subsonic-response"]["openSubsonic"] is True


@pytest.mark.parametrize("mechanism", ["none", "wrong password", "wrong token", "bad key"])
def test_every_endpoint_but_the_public_one_refuses_bad_credentials(
    live: Live, mechanism: str
) -> None:
    auth = {
        "none": {},
        "wrong password": {"u": OTHER, "p": "nope"},
        "wrong token": {"u": OTHER, "t": "0" * 32, "s": "abc"},
        "bad key": {"apiKey": "lp_not-a-key"},
    }[mechanism]
    want = {"none": 10, "wrong password": 40, "wrong token": 40, "bad key": 44}[mechanism]
    for name in sorted(SPEC_ENDPOINTS):
        body = live.get(name, auth=auth)["subsonic-response"]
        if name in PUBLIC:
            assert body["status"] == "ok", name
        else:
            assert body["status"] == "failed" and body["error"]["code"] == want, (name, body)


def test_every_spec_endpoint_answers_with_an_envelope(live: Live) -> None:
    for name in sorted(SPEC_ENDPOINTS):
        for suffix in ("", ".view"):
            res = live.client.get(
                f"{live.base}/rest/{name}{suffix}", params={**live.auth(), "f": "json"}
            )
            assert res.status_code == 200, name
            body = res.json()["subsonic-response"]
            assert body["version"] == "1.16.1" and body["type"] == "longplay"
            if body["status"] == "failed":
                assert "Traceback" not in json.dumps(body) and "/tmp" not in json.dumps(body)


def test_auth_mechanisms(live: Live) -> None:
    assert live.ok("ping", auth={"u": USER, "p": PASSWORD})
    hexed = "enc:" + PASSWORD.encode().hex()
    assert live.ok("ping", auth={"u": USER, "p": hexed})
    assert live.ok("ping")  # token
    assert live.ok("tokenInfo", auth={"apiKey": live.api_key})["tokenInfo"]["username"] == USER
    both = live.get("ping", auth={"apiKey": live.api_key, "u": USER})["subsonic-response"]
    assert both["error"]["code"] == 43


def test_failed_authentications_are_rate_limited(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from longplay.archive import Archive
    from longplay.server import accounts
    from longplay.server.app import create_app

    archive = Archive.init(tmp_path / "a")
    archive.toml_path.write_text("auth_attempts_per_minute = 5\n")
    archive = Archive.open(archive.root)
    accounts.add_user(archive, "carol", "right")
    client = TestClient(create_app(archive))

    def ping(password: str) -> dict[str, Any]:
        params = {"u": "carol", "p": password, "f": "json"}
        return client.get("/rest/ping", params=params).json()["subsonic-response"]  # type: ignore[no-any-return]

    assert ping("right")["status"] == "ok"
    for _ in range(5):
        assert ping("wrong")["error"]["code"] == 40
    refused = ping("right")  # even the right password, until the minute has passed
    assert refused["error"]["code"] == 40 and "Too many" in refused["error"]["message"]


def test_xml_by_default_and_form_posts(live: Live) -> None:
    res = live.get("getMusicFolders", f="xml")
    assert res.headers["content-type"].startswith("application/xml")
    assert b'<musicFolder id="1" name="Library"/>' in res.content
    post = live.client.post(
        f"{live.base}/rest/getMusicFolders.view", data={**live.auth(), "f": "json"}
    ).json()["subsonic-response"]
    assert post["status"] == "ok" and len(post["musicFolders"]["musicFolder"]) == 2


def test_library_holds_the_scanned_clips_and_catalog_lists_everything(live: Live) -> None:
    held = live.ok("search3", query="", songCount=500)["searchResult3"]["song"]
    everything = live.ok("search3", query="", songCount=500, musicFolderId=2)["searchResult3"]
    assert len(held) == 10 and all(s["held"] for s in held)
    assert len(everything["song"]) > 10
    assert any(not s["held"] for s in everything["song"])
    page1 = live.ok("search3", query="", songCount=5, musicFolderId=2)["searchResult3"]["song"]
    page2 = live.ok("search3", query="", songCount=5, songOffset=5, musicFolderId=2)
    assert {s["id"] for s in page1}.isdisjoint(s["id"] for s in page2["searchResult3"]["song"])


def test_star_unstar_rating_and_starred(live: Live) -> None:
    ids = _ids(live)
    for _ in range(2):
        live.ok("star", id=ids["song"], albumId=ids["album"])
    starred = live.ok("getStarred2")["starred2"]
    assert [s["id"] for s in starred["song"]] == [ids["song"]]
    assert [a["id"] for a in starred["album"]] == [ids["album"]]
    live.ok("setRating", id=ids["album"], rating=5)
    assert live.ok("getAlbum", id=ids["album"])["album"]["userRating"] == 5
    for _ in range(2):
        live.ok("unstar", id=ids["song"], albumId=ids["album"])
    assert not live.ok("getStarred2")["starred2"]["song"]


def test_concurrent_scrobbles_add_exactly_n(live: Live) -> None:
    song = _ids(live)["song"]
    n = 24

    def play() -> None:
        live.ok("scrobble", id=song)

    threads = [threading.Thread(target=play) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert live.ok("getSong", id=song)["song"]["playCount"] == n
    live.ok("scrobble", id=song, submission="false")  # now playing: not a play
    assert live.ok("getSong", id=song)["song"]["playCount"] == n
    frequent = live.ok("getAlbumList2", type="frequent")["albumList2"]["album"]
    assert frequent and frequent[0]["id"] == live.ok("getSong", id=song)["song"]["albumId"]


def test_playlists(live: Live) -> None:
    held = live.ok("search3", query="", songCount=4)["searchResult3"]["song"]
    ids = [s["id"] for s in held]
    made = live.ok("createPlaylist", name="mix", songId=ids[:3])["playlist"]
    assert [e["id"] for e in made["entry"]] == ids[:3]
    live.ok("updatePlaylist", playlistId=made["id"], songIdToAdd=ids[3], songIndexToRemove=0)
    got = live.ok("getPlaylist", id=made["id"])["playlist"]
    assert [e["id"] for e in got["entry"]] == [*ids[1:3], ids[3]]
    other = {"u": OTHER, "p": OTHER_PASSWORD}
    assert (
        live.get("getPlaylist", auth=other, id=made["id"])["subsonic-response"]["error"]["code"]
        == 70
    )
    assert (
        live.get("deletePlaylist", auth=other, id=made["id"])["subsonic-response"]["error"]["code"]
        == 50
    )
    live.ok("deletePlaylist", id=made["id"])
    assert live.get("getPlaylist", id=made["id"])["subsonic-response"]["error"]["code"] == 70


def test_play_queues_by_id_and_by_index(live: Live) -> None:
    ids = [s["id"] for s in live.ok("search3", query="", songCount=3)["searchResult3"]["song"]]
    live.ok("savePlayQueue", id=ids, current=ids[1], position=1234)
    q = live.ok("getPlayQueue")["playQueue"]
    assert [e["id"] for e in q["entry"]] == ids and q["current"] == ids[1]
    assert q["position"] == 1234 and q["changedBy"] == "tests"
    live.ok("savePlayQueueByIndex", id=ids, currentIndex=2, position=5)
    qi = live.ok("getPlayQueueByIndex")["playQueueByIndex"]
    assert qi["currentIndex"] == 2 and [e["id"] for e in qi["entry"]] == ids


def test_unknown_ids_are_not_found(live: Live) -> None:
    for name, value in (("getAlbum", "al-1"), ("getSong", "tr-x"), ("getArtist", "../etc")):
        assert live.get(name, id=value)["subsonic-response"]["error"]["code"] == 70
    assert live.get("getAlbum")["subsonic-response"]["error"]["code"] == 10


def test_users_need_admin_to_list_others(live: Live) -> None:
    other = {"u": OTHER, "p": OTHER_PASSWORD}
    assert live.get("getUsers", auth=other)["subsonic-response"]["error"]["code"] == 50
    assert len(live.ok("getUsers")["users"]["user"]) >= 2


def test_metrics_and_base_url(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from longplay.archive import Archive
    from longplay.catalog.sources import ingest_synthetic
    from longplay.server import accounts
    from longplay.server.app import create_app

    archive = Archive.init(tmp_path / "a")
    archive.toml_path.write_text('base_url = "/music"\nmetrics = true\n')
    archive = Archive.open(archive.root)
    ingest_synthetic(archive, 50, seed=1)
    accounts.add_user(archive, "u", "p")
    client = TestClient(create_app(archive))
    body = client.get("/music/rest/ping", params={"u": "u", "p": "p", "f": "json"}).json()
    assert body["subsonic-response"]["status"] == "ok"
    assert client.get("/rest/ping").status_code == 404
    text = client.get("/music/metrics").text
    assert 'longplay_requests_total{endpoint="ping",status="200"} 1' in text
