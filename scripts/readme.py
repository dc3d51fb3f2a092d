"""`make readme`: rerun every command the README shows and put its real output in place.

A code block right after a marker is replaced; nothing else in the README is touched:

    <!-- run: longplay stats -->             run in the tour's workspace, in document order
    <!-- run: longplay dedup | lines=20 -->  keep the first 20 lines of output, then "…"
    <!-- demo: plan -->                      the output of that step of `longplay demo`

The tour's workspace is a fresh temporary folder with LONGPLAY_ARCHIVE=arc and the small input
files the tour uses (a CSV export and its mapping, MusicBrainz release documents from
../shared/data). A command that fails stops the script: the README never shows an error that
the tour did not mean to show.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MARKER = re.compile(r"^<!-- (run|demo): (.+?)(?: \| lines=(\d+))? -->$")

LABEL_CSV = """id,name,artist,album,isrc,barcode,seconds,license
nl-001,Harbour Lights,Mira Vale,Night Ferry,GBXYZ2400001,036000291452,214,cc-by-4.0
nl-002,Low Tide,Mira Vale;Ode Park,Night Ferry,GBXYZ2400002,036000291452,187,cc-by-4.0
nl-003,,Ode Park,Night Ferry,GBXYZ2400003,036000291452,201,cc-by-4.0
nl-004,Salt Roads,Ode Park,Other Shore,NOT-AN-ISRC,036000291453,199,cc0
"""
LABEL_TOML = """[source]
name = "netlabel"

[fields]
track_key = "id"
title = "name"
artists = "artist"
album_title = "album"
isrc = "isrc"
upc = "barcode"
duration = "seconds"
license = "license"

[options]
artist_separator = ";"
duration_unit = "s"
"""


def workspace(root: Path) -> Path:
    """The tour's folder: input files, and ../shared pointing at the real shared data."""
    work = root / "tour"
    work.mkdir()
    (work / "label.csv").write_text(LABEL_CSV, encoding="utf-8")
    (work / "label.toml").write_text(LABEL_TOML, encoding="utf-8")
    picard = SHARED / "data" / "musicbrainz" / "picard"
    with open(work / "releases.jsonl", "w", encoding="utf-8") as out:
        for doc in sorted(picard.glob("*.json")):
            out.write(json.dumps(json.loads(doc.read_text(encoding="utf-8"))) + "\n")
    (root / "shared").symlink_to(SHARED)
    return work


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGPLAY_")}
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        LONGPLAY_ARCHIVE="arc",
        LONGPLAY_NO_PROGRESS="1",
        COLUMNS="100",
        TZ="UTC",
        PATH=bin_dir + os.pathsep + env["PATH"],
    )
    return env


def run(command: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        raise SystemExit(f"readme: `{command}` failed ({proc.returncode}):\n{proc.stderr}")
    # stdout only: with bars off, long jobs log their progress to stderr for logs, not readers.
    return proc.stdout.rstrip("\n")


def demo_outputs(root: Path, env: dict[str, str]) -> dict[str, str]:
    """`longplay demo demo-archive`, split into each step's output, keyed by its command."""
    text = run("longplay demo demo-archive --no-serve", root, env)
    steps: dict[str, str] = {}
    for chunk in text.split("\n$ ")[1:]:
        command, _, output = chunk.partition("\n")
        words = command.split()[1:]
        if words[:1] == ["--archive"]:
            words = words[2:]
        steps[" ".join(words)] = f"$ {command}\n{output.strip()}"
    return steps


def demo_step(steps: dict[str, str], name: str) -> str:
    found = [text for command, text in steps.items() if command.startswith(name)]
    if len(found) != 1:
        raise SystemExit(f"readme: demo step {name!r} matches {len(found)} steps of {list(steps)}")
    return found[0].split("\n\ndemo archive ready")[0]


def render(readme: str, work: Path, env: dict[str, str], steps: dict[str, str] | None) -> str:
    lines = readme.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        m = MARKER.match(lines[i].strip())
        i += 1
        if not m:
            continue
        if i >= len(lines) or not lines[i].startswith("```"):
            raise SystemExit(f"readme: no code block after {m.group(0)!r}")
        end = lines.index("```", i + 1)
        kind, what, keep = m.group(1), m.group(2), m.group(3)
        if kind == "run":
            text = f"$ {what}\n" + run(what, work, env)
        else:
            assert steps is not None
            text = demo_step(steps, what)
        body = text.split("\n")
        if keep and len(body) > int(keep) + 1:
            body = [*body[: int(keep) + 1], "…"]
        out += ["```", *body, "```"]
        i = end + 1
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument("--check", action="store_true", help="Only say whether it would change.")
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"readme: the tour reads {SHARED}, which is not there")
    readme = args.readme.read_text(encoding="utf-8")
    root = Path(tempfile.mkdtemp(prefix="longplay-readme-"))
    try:
        env = environment()
        demo_root = root / "demo"
        demo_root.mkdir()
        steps = demo_outputs(demo_root, env) if "<!-- demo: " in readme else None
        new = render(readme, workspace(root), env, steps)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.check:
        print("README.md is up to date" if new == readme else "README.md would change")
        raise SystemExit(0 if new == readme else 1)
    args.readme.write_text(new, encoding="utf-8")
    print(f"wrote {args.readme}")


if __name__ == "__main__":
    main()
