"""Errors leave the server without paths or traces; XML and JSON carry the same envelope."""

from __future__ import annotations

from pathlib import Path

import pytest

from longplay.errors import InputError, LongplayError
from longplay.server import errors, responses


def test_paths_are_scrubbed_and_unknown_exceptions_say_nothing() -> None:
    err = errors.from_exception(LongplayError("cannot read /srv/music/a b/x.flac here"))
    assert err.code == 0 and "/srv" not in err.message and "<path>" in err.message
    assert errors.from_exception(InputError("bad size")).code == 10
    hidden = errors.from_exception(RuntimeError("boom at /home/me/secret.py line 3"))
    assert hidden.code == 0 and hidden.message == "internal error"
    assert errors.from_exception(PermissionError("x")).code == 50


def test_xml_and_json_envelopes() -> None:
    doc = responses.envelope(
        responses.Payload("genres", {"genre": [responses.Genre("Rock & Roll", 3, 1)]})
    )
    xml = responses.to_xml(doc).decode()
    assert '<genre songCount="3" albumCount="1">Rock &amp; Roll</genre>' in xml
    assert 'openSubsonic="true"' in xml and 'xmlns="http://subsonic.org/restapi"' in xml
    body = responses.to_json(doc)
    assert b'"genre":[{"value":"Rock & Roll","songCount":3,"albumCount":1}]' in body
    failed = responses.envelope(None, (70, "gone"))["subsonic-response"]
    assert failed["status"] == "failed" and failed["error"] == {"code": 70, "message": "gone"}


def test_a_bad_peers_setting_stops_the_server_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longplay.archive import Archive
    from longplay.errors import SettingsError
    from longplay.server.app import create_app

    monkeypatch.setenv("LONGPLAY_PEERS", "127.0.0.1:6881, seeder-without-port")
    archive = Archive.init(tmp_path / "archive")
    with pytest.raises(SettingsError, match="setting peers: 'seeder-without-port'"):
        create_app(archive)
