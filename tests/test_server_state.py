"""Users, API keys, stars, plays, playlists and queues in state.sqlite, through the server layer."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from longplay import state
from longplay.archive import Archive
from longplay.errors import InputError
from longplay.server import accounts
from longplay.server import library_state as ls


def test_users_passwords_and_the_key_file(archive: Archive) -> None:
    password = accounts.add_user(archive, "ann", "s3cret", admin=True)
    assert password == "s3cret"
    generated = accounts.add_user(archive, "bob")
    assert len(generated) >= 12
    key_file = accounts.key_path(archive)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with pytest.raises(InputError, match="already exists"):
        accounts.add_user(archive, "ANN")
    with state.connection(archive) as con:
        assert [u.name for u in accounts.list_users(con)] == ["ann", "bob"]
        assert accounts.password_of(con, accounts.cipher(archive), "ann") == "s3cret"
        assert accounts.verify_web_password(con, "ann", "s3cret")
        assert not accounts.verify_web_password(con, "ann", "wrong")
        stored = con.execute("SELECT password_hash, password_enc FROM users").fetchall()
    for hashed, enc in stored:  # nothing stored in the clear
        assert "s3cret" not in hashed and b"s3cret" not in bytes(enc)
        assert hashed.startswith("$argon2")
    accounts.set_password(archive, "ann", "other")
    accounts.delete_user(archive, "bob")
    with state.connection(archive) as con:
        assert accounts.password_of(con, accounts.cipher(archive), "ann") == "other"
        assert accounts.find_user(con, "bob") is None


def test_ensure_admin_creates_one_admin_once(archive: Archive) -> None:
    password = accounts.ensure_admin(archive)
    assert password
    assert accounts.ensure_admin(archive) is None
    with state.connection(archive) as con:
        (admin,) = accounts.list_users(con)
    assert admin.name == "admin" and admin.is_admin


def test_api_keys_are_hashed_and_revocable(archive: Archive) -> None:
    accounts.add_user(archive, "ann", "pw")
    key_id, key = accounts.create_api_key(archive, "ann", "phone")
    with state.connection(archive) as con:
        user, revoked = accounts.user_for_api_key(con, key)
        assert user is not None and user.name == "ann" and not revoked
        assert (
            con.execute("SELECT count(*) FROM api_keys WHERE key_sha256 = ?", (key,)).fetchone()[0]
            == 0
        )
    accounts.revoke_api_key(archive, "ann", key_id)
    with state.connection(archive) as con:
        assert accounts.user_for_api_key(con, key)[1] is True
        assert accounts.user_for_api_key(con, "nope") == (None, False)
        assert accounts.api_keys(con, "ann")[0].revoked
    with pytest.raises(InputError):
        accounts.revoke_api_key(archive, "ann", key_id)


def test_concurrent_scrobbles_add_exactly_n(archive: Archive) -> None:
    accounts.add_user(archive, "ann", "pw")
    n_threads, each = 8, 25

    def play() -> None:
        with state.connection(archive) as con:
            for _ in range(each):
                ls.scrobble(con, 1, 42, 7, ls.now())

    threads = [threading.Thread(target=play) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with state.connection(archive) as con:
        assert ls.play_counts(con, 1, [42]) == {42: n_threads * each}
        assert ls.albums_by_plays(con, 1, "frequent", 10, 0) == [7]


def test_stars_ratings_playlists_and_queues(archive: Archive) -> None:
    accounts.add_user(archive, "ann", "pw")
    accounts.add_user(archive, "bob", "pw")
    with state.connection(archive) as con:
        ls.star(con, 1, ["tr-1", "al-2"])
        ls.star(con, 1, ["tr-1"])  # idempotent
        assert [i for i, _ in ls.starred(con, 1, "tr-", 10)] == ["tr-1"]
        ls.unstar(con, 1, ["tr-1", "tr-1"])
        assert ls.starred(con, 1, "tr-", 10) == []
        ls.set_rating(con, 1, "al-2", 4)
        assert ls.marks_of(con, 1, ["al-2"])["al-2"][1] == 4
        pid = ls.create_playlist(con, 1, "mix", [5, 6, 7])
        ls.update_playlist(con, 1, pid, name="mix2", add=[8], remove_positions=[0])
        got = ls.playlist(con, 1, pid)
        assert got is not None and got.name == "mix2" and got.track_ids == (6, 7, 8)
        assert ls.playlist(con, 2, pid) is None  # private
        with pytest.raises(PermissionError):
            ls.delete_playlist(con, 2, pid)
        ls.save_queue(con, 1, [3, 4], 1, 1500, "test")
        q = ls.queue(con, 1)
        assert q is not None and q.track_ids == (3, 4) and q.current_index == 1
        ls.save_queue(con, 1, [], None, 0, "test")
        assert ls.queue(con, 1) is None


def test_init_prints_the_admin_password_once(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from longplay.cli import cli

    out = CliRunner().invoke(cli, ["init", str(tmp_path / "a")])
    assert out.exit_code == 0, out.output
    assert "created user 'admin' with password" in out.output
    again = CliRunner().invoke(cli, ["init", str(tmp_path / "a")])
    assert "password" not in again.output
