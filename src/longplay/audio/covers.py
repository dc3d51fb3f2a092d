"""Cover art for a track: the embedded picture or a folder image, resized safely with Pillow.

Also where the server finds a track's lyrics (`lyrics`, from `audio.lyrics`): the media a
``getCoverArt`` or ``getLyricsBySongId`` handler reads from beside the audio file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from PIL import Image, ImageOps, UnidentifiedImageError

from longplay.audio.lyrics import lyrics as lyrics  # re-exported: the server's one media import
from longplay.audio.tags import read_cover
from longplay.errors import InputError, LongplayError

# Folder images, best first (the names Picard, foobar2000 and Windows Media Player write).
FOLDER_NAMES = ("cover", "folder", "front")
FOLDER_EXTENSIONS = (".jpg", ".jpeg", ".png")
# A folder image larger than this is skipped, not read: no cover scan is this big (a 6000 px
# square JPEG at quality 95 is ~12 MB), and the server would hold it in memory.
MAX_FILE_BYTES = 32 * 1024 * 1024
# Pixels decoded at most (40 MP: a 6000 x 6000 scan is 36 MP). A decoded RGBA image takes 4
# bytes a pixel, so this caps one resize at 160 MB; Pillow's own bomb limit is 89 MP to warn
# and 179 MP to refuse, too high for a server resizing on request.
MAX_PIXELS = 40_000_000
# For the 300-600 px the clients ask for: a photo (matplotlib's sample grace_hopper.jpg) at 300
# px took 23 kB at 88, 37 kB at 95 and 20 kB at 85: 88 is the usual web default, and 95 costs
# 60% more bytes for pictures the clients draw at that size.
JPEG_QUALITY = 88


def _embedded(path: str) -> bytes | None:
    try:
        return read_cover(path)
    except (LongplayError, MutagenError, OSError):
        # A format whose tags Longplay does not read, or tags mutagen cannot parse: the folder
        # may still hold a cover.
        return None


def _folder_image(directory: Path) -> Path | None:
    try:
        entries = {e.name.lower(): e for e in os.scandir(directory) if e.is_file()}
    except OSError:
        return None
    for stem in FOLDER_NAMES:
        for ext in FOLDER_EXTENSIONS:
            entry = entries.get(stem + ext)
            if entry is not None and 0 < entry.stat().st_size <= MAX_FILE_BYTES:
                return Path(entry.path)
    return None


def find_cover(path: str | os.PathLike[str]) -> bytes | None:
    """The cover of the audio file ``path``: embedded, else cover/folder/front.jpg|png beside it."""
    path = Path(path)
    data = _embedded(str(path))
    if data:
        return data
    image = _folder_image(path.parent)
    if image is None:
        return None
    try:
        return image.read_bytes()
    except OSError:
        return None


def _has_alpha(im: Any) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)


def _open(data: bytes) -> Any:
    try:
        im = Image.open(io.BytesIO(data))
        width, height = im.size
    except Image.DecompressionBombError as exc:
        raise InputError(f"cover image refused: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"cover image cannot be read ({exc})") from None
    if width * height > MAX_PIXELS:
        raise InputError(f"cover image refused: {width} x {height} is over {MAX_PIXELS:,} pixels")
    return im


def resize_cover(data: bytes, size: int | None) -> tuple[bytes, str]:
    """``data`` scaled so its longest edge is at most ``size`` px; (bytes, MIME type).

    Never upscales. A JPEG or PNG already small enough is returned as it is; anything else is
    written as PNG when it has transparency and as JPEG otherwise.
    """
    im = _open(data)
    if size is not None and size <= 0:
        raise InputError(f"cover size {size} is not a positive number of pixels")
    fits = size is None or max(im.size) <= size
    try:  # reading EXIF parses more of the file than the header _open checked
        rotated = (im.getexif() or {}).get(0x0112, 1) != 1  # orientation other than "normal"
        if fits and not rotated and im.format in ("JPEG", "PNG"):
            return data, "image/jpeg" if im.format == "JPEG" else "image/png"
        if size is not None and im.format == "JPEG":
            # Decode at the smallest DCT scale still at least `size`: 1/8 of the work and memory
            # for a 3000 px scan shown at 300 px.
            im.draft("RGB", (size, size))
        im = ImageOps.exif_transpose(im)
        alpha = _has_alpha(im)
        im = im.convert("RGBA" if alpha else "RGB")
        if size is not None:
            im.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if alpha:
            im.save(out, "PNG", optimize=False)
            return out.getvalue(), "image/png"
        im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        return out.getvalue(), "image/jpeg"
    except Image.DecompressionBombError as exc:
        raise InputError(f"cover image refused: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"cover image cannot be read ({exc})") from None
