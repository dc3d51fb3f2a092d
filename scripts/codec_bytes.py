"""Hash what the codecs make, to compare one kind of CPU with another (docs/audio.md).

For each format, one sample clip: the synthesized PCM, the encoded clip, and Longplay's Opus
re-encode of it (``transcode_opus``). Run it natively, then under qemu-user with an older CPU
model, and compare the lines:

    .venv/bin/python scripts/codec_bytes.py
    SP=$(.venv/bin/python -c "import site; print(site.getsitepackages()[0])")
    PYTHONPATH=src:$SP qemu-x86_64 -cpu EPYC-Rome "$(readlink -f .venv/bin/python)" \\
        scripts/codec_bytes.py 2>/dev/null     # Debian's qemu-user; also -cpu Nehalem
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

from longplay.audio import samples
from longplay.audio.transcode import transcode_opus


def _h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("formats", nargs="*", default=list(samples.FORMATS))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for i, fmt in enumerate(args.formats):
            c = samples.clip(i, seed=1, seconds=2.0)
            rate = samples.ENCODINGS[fmt].rate
            pcm = samples.synthesize(c, rate)
            clip = out / f"c{i}.{fmt}"
            samples.encode(pcm, rate, clip, fmt)
            opus = out / f"c{i}.opus"
            transcode_opus(clip, opus)
            print(
                f"{fmt:5} {c.kind:9} pcm {_h(pcm.tobytes())}  clip {_h(clip.read_bytes())}  "
                f"opus re-encode {_h(opus.read_bytes())}",
                flush=True,
            )


if __name__ == "__main__":
    main()
