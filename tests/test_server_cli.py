"""`longplay user` and `longplay serve` as a user runs them: real commands, a real process."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from longplay.cli import cli
from netutil import free_port, port_open, wait_for


def _run(archive: Path, *args: str) -> str:
    out = CliRunner().invoke(cli, ["--archive", str(archive), *args])
    assert out.exit_code == 0, out.output
    return out.output


def test_user_commands(tmp_path: Path) -> None:
    archive = tmp_path / "a"
    assert CliRunner().invoke(cli, ["init", str(archive)]).exit_code == 0
    assert "with password" in _run(archive, "user", "add", "ann")
    _run(archive, "user", "add", "bob", "--password", "pw", "--admin")
    listed = _run(archive, "user", "list")
    assert "ann" in listed and "bob" in listed and "admin" in listed
    assert "changed to" in _run(archive, "user", "passwd", "ann")
    made = _run(archive, "user", "apikey", "ann", "--label", "phone")
    key_id = made.split()[1]
    assert "phone" in _run(archive, "user", "apikey", "ann", "--list")
    _run(archive, "user", "apikey", "ann", "--revoke", key_id)
    _run(archive, "user", "del", "ann")
    assert "ann" not in _run(archive, "user", "list")
    bad = CliRunner().invoke(cli, ["--archive", str(archive), "user", "del", "nobody"])
    assert bad.exit_code == 1 and "no user 'nobody'" in bad.output


def test_serve_answers_logs_no_secrets_and_stops_on_sigterm(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    archive = tmp_path / "a"
    lp = [sys.executable, "-m", "longplay"]
    subprocess.run([*lp, "init", str(archive)], env=cli_env, check=True, capture_output=True)
    for step in (
        ["ingest", "synthetic", "--tracks", "200"],
        ["user", "add", "ann", "--password", "topsecret"],
    ):
        subprocess.run(
            [*lp, "--archive", str(archive), *step], env=cli_env, check=True, capture_output=True
        )
    port = free_port()
    proc = subprocess.Popen(
        [*lp, "--archive", str(archive), "serve", "--port", str(port)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for("the server", lambda: port_open(port), 60)
        token = hashlib.md5(b"topsecretNaCl").hexdigest()
        url = f"http://127.0.0.1:{port}/rest/ping.view?u=ann&t={token}&s=NaCl&f=json"
        with urllib.request.urlopen(url, timeout=10) as res:
            assert b'"status":"ok"' in res.read()
        url = f"http://127.0.0.1:{port}/rest/ping?u=ann&p=topsecret"
        with urllib.request.urlopen(url, timeout=10) as res:
            assert b'status="ok"' in res.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    # uvicorn re-raises the SIGTERM it handled once the server has stopped: systemd reads
    # that as a clean stop.
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err and "Finished server process" in err
    assert f"http://127.0.0.1:{port}/" in out
    assert "/rest/ping" in err  # the access log
    for secret in ("topsecret", token, "NaCl"):
        assert secret not in err and secret not in out
