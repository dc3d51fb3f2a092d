"""The server benchmark's peers: a bare Starlette app (the framework floor) and supysonic.

The floor app answers a fixed 1 kB JSON body on exactly the uvicorn settings `longplay serve`
uses (server/run.py `options`). supysonic 0.7.9 runs from its own venv under
bench/.peers/supysonic, over the same folder of clips, under gunicorn with 2 sync workers as its
docs recommend; it has no token auth, so it gets ``p=enc:HEX``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

PEERS = Path(__file__).resolve().parent / ".peers"
SUPYSONIC = "supysonic==0.7.9"
FLOOR_BODY = json.dumps({"subsonic-response": {"status": "ok", "pad": "x" * 940}}).encode()


def floor_main(archive: str, port: int) -> None:
    """Run the bare app on ``port`` with the uvicorn options of ``longplay serve``."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from longplay.archive import Archive
    from longplay.server.run import options

    async def fixed(request: Request) -> Response:
        return Response(FLOOR_BODY, media_type="application/json")

    app = Starlette(routes=[Route("/rest/{name}", fixed)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **options(Archive.open(archive))
    )
    uvicorn.Server(config).run()


def supysonic_venv() -> Path:
    """bench/.peers/supysonic with supysonic 0.7.9 and gunicorn (installed once, by pip)."""
    env = PEERS / "supysonic"
    py = env / "bin" / "python"
    if not (env / "bin" / "gunicorn").exists():
        venv.create(env, with_pip=True)
        pip = [str(py), "-m", "pip", "install", "-q", SUPYSONIC, "gunicorn"]
        subprocess.run(pip, check=True)
    return env


def supysonic_setup(music: Path, work: Path) -> Path:
    """A supysonic database over ``music`` with the user bench/bench; returns its workdir."""
    env = supysonic_venv()
    work.mkdir(parents=True, exist_ok=True)
    (work / "supysonic.conf").write_text(
        f"[base]\ndatabase_uri = sqlite:///{work / 'supysonic.db'}\n"
        f"[webapp]\ncache_dir = {work / 'cache'}\nlog_level = ERROR\n"
        f"[daemon]\nsocket = {work / 'daemon.sock'}\nrun_watcher = no\n"
    )
    if not (work / "scanned").exists():
        cli = [str(env / "bin" / "supysonic-cli")]
        run = {"cwd": work, "check": True, "capture_output": True}
        subprocess.run([*cli, "user", "add", "bench", "-p", "bench"], **run)  # type: ignore[call-overload]
        subprocess.run([*cli, "folder", "add", "music", str(music)], **run)  # type: ignore[call-overload]
        subprocess.run([*cli, "folder", "scan", "--foreground", "music"], **run)  # type: ignore[call-overload]
        (work / "scanned").touch()
    return work


def supysonic_command(work: Path, port: int) -> list[str]:
    gunicorn = str(PEERS / "supysonic" / "bin" / "gunicorn")
    return [
        gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", str(work),
        "--log-level", "warning", "supysonic.web:create_application()",
    ]  # fmt: skip


if __name__ == "__main__":
    floor_main(sys.argv[1], int(sys.argv[2]))
