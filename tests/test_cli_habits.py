"""Command-line habits: examples that resolve, flags where people type them, one-line errors."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from longplay.cli import cli


def _leaves(group: click.Group = cli, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, f"`longplay {' '.join((*path, name))}` is listed but not loadable"
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*path, name))
        yield (*path, name), cmd


def _examples(cmd: click.Command) -> list[str]:
    text = (cmd.help or "").split("Example:", 1)[-1]
    lines = []
    for line in text.splitlines():
        line = line.split("  #", 1)[0].strip()
        line = re.sub(r"^(\w+=\S+\s+)+", "", line)  # LONGPLAY_X=y longplay ...
        if line.startswith("longplay "):
            lines.append(line)
    return lines


def resolve(argv: list[str]) -> click.Command:
    """Walk `argv` through the real command tree as click would, without running anything:
    every group and command must exist, every option be known and take its value, every
    required parameter be given and no argument be left over."""
    cmd: click.Command = cli
    ctx = click.Context(cli, info_name="longplay")
    while True:
        parser = cmd.make_parser(ctx)
        if isinstance(cmd, click.Group):
            parser.allow_interspersed_args = False
            _, rest, _ = parser.parse_args(argv)
            assert rest, f"{argv}: no command after the group {ctx.command_path!r}"
            sub = cmd.get_command(ctx, rest[0])
            assert sub is not None, f"{argv}: no command {rest[0]!r} in {ctx.command_path!r}"
            ctx = click.Context(sub, parent=ctx, info_name=rest[0])
            cmd, argv = sub, rest[1:]
            continue
        values, left, _ = parser.parse_args(argv)
        assert not left, f"{argv}: arguments left over: {left}"
        for param in cmd.params:
            if param.required:
                assert values.get(param.name) not in (None, ()), f"{argv}: {param.name} missing"
        return cmd


def test_every_command_has_an_example_and_every_example_resolves() -> None:
    resolved = 0
    for path, cmd in _leaves():
        if isinstance(cmd, click.Group):
            continue
        examples = _examples(cmd)
        assert examples, f"`longplay {' '.join(path)}` --help has no example"
        for line in examples:
            resolve(shlex.split(line)[1:])
            resolved += 1
    # The resolver refuses what click refuses: it is not a test that cannot fail.
    for wrong in (
        ["ingest", "jsonl", "x.jsonl"],
        ["plan", "--budgett", "1TB"],
        ["plan"],
        ["init", "a", "b"],
    ):
        with pytest.raises((AssertionError, click.ClickException)):
            resolve(wrong)
    assert resolved > 30


def run(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "longplay", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_init_takes_the_archive_option_or_variable(tmp_path: Path, cli_env: dict[str, str]) -> None:
    assert run(cli_env, "--archive", str(tmp_path / "a"), "init").returncode == 0
    assert (tmp_path / "a" / "longplay.toml").is_file()
    assert run({**cli_env, "LONGPLAY_ARCHIVE": str(tmp_path / "b")}, "init").returncode == 0
    assert (tmp_path / "b" / "longplay.toml").is_file()
    assert run(cli_env, "init", str(tmp_path / "c")).returncode == 0
    assert (tmp_path / "c" / "longplay.toml").is_file()
    r = run(cli_env, "init", cwd=tmp_path)
    assert r.returncode == 1 and "name the archive" in r.stderr
    assert not (tmp_path / "longplay.toml").exists()
    r = run(cli_env, "--archive", str(tmp_path / "a"), "init", str(tmp_path / "d"))
    assert r.returncode == 1 and "two archives named" in r.stderr
    # A folder given to init wins over the variable, which may be set for other commands.
    r = run({**cli_env, "LONGPLAY_ARCHIVE": str(tmp_path / "b")}, "init", str(tmp_path / "e"))
    assert r.returncode == 0 and (tmp_path / "e" / "longplay.toml").is_file()


def test_quiet_and_debug_after_the_command(tmp_path: Path, cli_env: dict[str, str]) -> None:
    good, bad = str(tmp_path / "good"), str(tmp_path / "bad")
    run(cli_env, "init", good)
    run(cli_env, "init", bad)
    (tmp_path / "bad" / "longplay.toml").write_text("torrent_version = 2\n")
    r = run(cli_env, "--archive", bad, "settings", "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr
    r = run(cli_env, "--archive", bad, "settings", "-q")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    r = run(cli_env, "--archive", good, "ingest", "synthetic", "--tracks", "1000", "--quiet")
    assert r.returncode == 0 and "kept 1,000" in r.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ingest", "synthetic", "--tracks", "0"], "--tracks"),
        (["plan", "--budget", "lots"], "not a size"),
        (["mirror", "plan", "--budget", "-5GB"], "not a size"),
    ],
)
def test_bad_arguments_are_one_clear_line(
    tmp_path: Path, cli_env: dict[str, str], args: list[str], needle: str
) -> None:
    a = str(tmp_path / "a")
    run(cli_env, "init", a)
    r = run(cli_env, "--archive", a, *args)
    assert r.returncode in (1, 2), r.stderr
    assert needle in r.stderr and "internal error" not in r.stderr and "Traceback" not in r.stderr
    error_lines = [line for line in r.stderr.splitlines() if re.search(r"\berror\b", line, re.I)]
    assert len(error_lines) == 1, r.stderr


def test_one_size_type_for_every_size_option() -> None:
    from longplay.cli._common import Size

    sizes = {
        " ".join(path): [p.name for p in cmd.params if isinstance(p.type, Size)]
        for path, cmd in _leaves()
    }
    assert sizes["plan"] == ["budget", "opus_bitrate"]
    assert sizes["mirror plan"] == ["budget"]
    assert sizes["audio transcode"] == ["bitrate"]
    assert sizes["seed"] == sizes["fetch"] == ["upload_limit", "download_limit"]
    size = Size()
    assert size.convert("2TB", None, None) == 2 * 10**12
    assert size.convert("1.5TiB", None, None) == int(1.5 * 2**40)
    assert size.convert("500GB", None, None) == 500 * 10**9
    assert size.convert("10MB", None, None) == 10**7
    with pytest.raises(click.BadParameter, match="not a size"):
        size.convert("ten", None, None)


def test_python_dash_m_longplay(cli_env: dict[str, str]) -> None:
    r = run(cli_env, "--help")
    assert r.returncode == 0 and "ingest" in r.stdout and "mirror" in r.stdout
