from pathlib import Path

import pytest

from longplay import settings
from longplay.archive import Archive
from longplay.errors import LongplayError, SettingsError


def test_defaults_toml_and_env_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "longplay.toml"
    toml.write_text('torrent_version = "v1"\nworkers = 3\ntorrent_target_size = "2GB"\n')
    s = settings.load(toml, environ={"LONGPLAY_WORKERS": "5"})
    assert s.torrent_version == "v1" and s.origins["torrent_version"] == str(toml)
    assert s.workers == 5 and s.origins["workers"] == "$LONGPLAY_WORKERS"
    assert s.torrent_target_size == 2 * 10**9
    assert s.keep_generations == 2 and s.origins["keep_generations"] == "default"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("no_such_key = 1", "unknown setting 'no_such_key'"),
        ('workers = "many"', "setting 'workers'"),
        ('torrent_version = "v3"', "'v3' is not one of hybrid, v1"),
        ("keep_generations = 1.5", "expected an integer"),
        ("workers = [", "not valid TOML"),
    ],
)
def test_bad_toml_names_the_key(tmp_path: Path, text: str, needle: str) -> None:
    toml = tmp_path / "longplay.toml"
    toml.write_text(text)
    with pytest.raises(SettingsError, match=needle.replace("[", r"\[")):
        settings.load(toml, environ={})


def test_bad_env_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="LONGPLAY_NOPE"):
        settings.load(None, environ={"LONGPLAY_NOPE": "1"})
    with pytest.raises(SettingsError, match=r"\$LONGPLAY_OPUS_BITRATE"):
        settings.load(None, environ={"LONGPLAY_OPUS_BITRATE": "fast"})


def test_every_setting_documented_in_default_toml_and_docs() -> None:
    text = settings.default_toml()
    for s in settings.SETTINGS:
        assert s.help and f"# {s.name} = " in text
    docs = (Path(__file__).parent.parent / "docs" / "settings.md").read_text()
    assert docs == settings.markdown(), (
        "docs/settings.md is stale: longplay settings --markdown > docs/settings.md"
    )


def test_init_is_idempotent_and_open_checks(tmp_path: Path) -> None:
    a = Archive.init(tmp_path / "a")
    for sub in ("catalog", "rejects", "files", "torrents", "release"):
        assert (a.root / sub).is_dir()
    assert a.state_path.exists()
    (a.root / "longplay.toml").write_text('torrent_version = "v1"\n')
    Archive.init(tmp_path / "a")  # keeps the user's settings
    assert Archive.open(tmp_path / "a").settings.torrent_version == "v1"
    with pytest.raises(LongplayError, match="not a Longplay archive"):
        Archive.open(tmp_path / "missing")


def test_resolve_inside_refuses_escapes(archive: Archive) -> None:
    assert archive.resolve_inside("files/x/y.flac") == (archive.root / "files/x/y.flac").resolve()
    for bad in ("../x", "files/../../x", "/etc/passwd"):
        with pytest.raises(LongplayError, match="escapes"):
            archive.resolve_inside(bad)
