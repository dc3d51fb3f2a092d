"""Cover art: embedded first, folder images beside the file, resizing that refuses bombs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from longplay.audio.covers import find_cover, resize_cover
from longplay.audio.tags import TagRecord, write_tags
from longplay.errors import InputError
from tones import write_tone


def image_bytes(size: tuple[int, int], fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    im = Image.new(mode, size)
    # A gradient, so JPEG has something to encode and a resize something to average.
    for x in range(0, size[0], max(size[0] // 16, 1)):
        im.paste((x * 255 // size[0],) * len(mode) if mode != "P" else 3, (x, 0, x + 4, size[1]))
    out = io.BytesIO()
    im.save(out, fmt, **({"transparency": 0} if mode == "P" else {}))
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """An album folder with one tagless FLAC and one tagless MP3."""
    folder = tmp_path / "album"
    folder.mkdir()
    write_tone(folder / "01.flac", seconds=0.5)
    write_tone(folder / "02.mp3", seconds=0.5)
    return folder


def test_embedded_cover_comes_first(album: Path) -> None:
    embedded = image_bytes((40, 40), "PNG")
    for name in ("01.flac", "02.mp3"):
        write_tags(str(album / name), TagRecord(title="t"), cover=embedded)
    (album / "cover.jpg").write_bytes(image_bytes((50, 50)))
    assert find_cover(album / "01.flac") == embedded
    assert find_cover(album / "02.mp3") == embedded


def test_folder_image_when_nothing_is_embedded(album: Path) -> None:
    assert find_cover(album / "01.flac") is None
    front = image_bytes((30, 30), "PNG")
    (album / "FRONT.PNG").write_bytes(front)
    assert find_cover(album / "01.flac") == front
    folder = image_bytes((31, 31))
    (album / "Folder.Jpeg").write_bytes(folder)  # case-insensitive; folder beats front
    assert find_cover(album / "02.mp3") == folder
    cover = image_bytes((32, 32))
    (album / "cover.jpg").write_bytes(cover)
    assert find_cover(album / "02.mp3") == cover


def test_folder_image_for_a_format_without_tags(album: Path) -> None:
    wav = album / "03.wav"
    wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVE")
    (album / "cover.png").write_bytes(png := image_bytes((20, 20), "PNG"))
    assert find_cover(wav) == png


def test_empty_folder_image_is_skipped(album: Path) -> None:
    (album / "cover.jpg").write_bytes(b"")
    (album / "folder.png").write_bytes(png := image_bytes((20, 20), "PNG"))
    assert find_cover(album / "01.flac") == png


def test_resize_scales_the_longest_edge() -> None:
    data, mime = resize_cover(image_bytes((1000, 500)), 300)
    assert mime == "image/jpeg"
    assert opened(data).size == (300, 150)
    data, mime = resize_cover(image_bytes((400, 800), "PNG"), 200)  # opaque PNG: a photo
    assert mime == "image/jpeg" and opened(data).size == (100, 200)


def test_resize_never_upscales() -> None:
    original = image_bytes((120, 80))
    assert resize_cover(original, 600) == (original, "image/jpeg")
    assert resize_cover(original, None) == (original, "image/jpeg")
    png = image_bytes((50, 50), "PNG")
    assert resize_cover(png, 50) == (png, "image/png")


def test_transparency_stays_png() -> None:
    data, mime = resize_cover(image_bytes((400, 400), "PNG", "RGBA"), 100)
    assert mime == "image/png" and opened(data).mode == "RGBA" and opened(data).size == (100, 100)
    data, mime = resize_cover(image_bytes((400, 400), "PNG", "P"), 100)  # palette + tRNS
    assert mime == "image/png" and opened(data).size == (100, 100)


def test_other_formats_become_jpeg_or_png() -> None:
    data, mime = resize_cover(image_bytes((64, 64), "BMP"), None)
    assert mime == "image/jpeg" and opened(data).format == "JPEG"
    data, mime = resize_cover(image_bytes((64, 64), "TIFF", "RGBA"), None)
    assert mime == "image/png" and opened(data).format == "PNG"


def test_exif_rotation_is_applied() -> None:
    im = Image.new("RGB", (200, 100))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif)
    data, _ = resize_cover(out.getvalue(), None)
    assert opened(data).size == (100, 200)


def test_decompression_bombs_are_refused(tmp_path: Path) -> None:
    # 1-bit images compress to almost nothing, yet decode to width x height pixels.
    over_ours = image_bytes((8000, 8000), "PNG", "1")  # 64 MP: over our 40 MP limit
    with pytest.raises(InputError, match="8000 x 8000"):
        resize_cover(over_ours, 300)
    over_pillows = image_bytes((14000, 14000), "PNG", "1")  # 196 MP: Pillow's own error
    assert len(over_pillows) < 1_000_000
    with pytest.raises(InputError, match="refused"):
        resize_cover(over_pillows, 300)


def test_bad_images_are_input_errors() -> None:
    with pytest.raises(InputError, match="cannot be read"):
        resize_cover(b"not an image at all", 100)
    truncated = image_bytes((600, 600))[:2000]
    with pytest.raises(InputError, match="cannot be read"):
        resize_cover(truncated, 100)
    with pytest.raises(InputError, match="positive"):
        resize_cover(image_bytes((10, 10)), 0)
