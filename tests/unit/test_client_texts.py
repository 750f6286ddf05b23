"""What a client reads when its image or the server's lexicon is bad: what was wrong, our limit and
what to do; never a Python object's repr, Pillow's own limit, or where the server keeps its lexicon
(the server's log keeps that)."""
from __future__ import annotations

import logging
import re
import struct
import zlib
from pathlib import Path

import cv2
import pytest
from PIL import Image

from signstream.errors import SignStreamError, StyleImageError
from signstream.kernels import layout
from signstream.lexicon import Lexicon, LexiconWriter, LocalStore
from signstream.lexicon.table import SignEntry
from signstream.style import MAX_STYLE_PIXELS, MAX_STYLE_SIDE, decode_style_image
from tests.support.photos import grace_hopper

PYTHON_REPR = re.compile(r"0x[0-9a-f]{6,}|object at|<[\w.]+ ")


def _encoded(ext: str) -> bytes:
    return cv2.imencode(ext, cv2.cvtColor(grace_hopper(), cv2.COLOR_RGB2BGR))[1].tobytes()


def _declaring(png: bytes, width: int, height: int) -> bytes:
    """A real PNG whose header says width x height (its CRC fixed), as a decompression bomb's does."""
    ihdr = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


def _refusal(data: bytes) -> str:
    with pytest.raises(StyleImageError) as info:
        decode_style_image(data)
    return info.value.message


@pytest.mark.parametrize("data", [b"hello, world", b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF",
                                  _encoded(".webp")[:200]], ids=["text", "pdf", "webp header cut"])
def test_an_unreadable_image_is_refused_without_a_python_repr(data):
    message = _refusal(data)
    assert "not a readable image" in message and "JPEG" in message
    assert not PYTHON_REPR.search(message), message


def test_a_decompression_bomb_quotes_our_limit_not_pillows():
    message = _refusal(_declaring(_encoded(".png"), 30_000, 30_000))
    assert f"{MAX_STYLE_SIDE} px a side" in message and f"{MAX_STYLE_PIXELS:,} pixels" in message, message
    pillow = 2 * Image.MAX_IMAGE_PIXELS
    assert str(pillow) not in message and f"{pillow:,}" not in message and "DOS" not in message, message


@pytest.fixture()
def damaged_lexicon(tmp_path):
    """A local lexicon whose signs fail each way a store can fail a lookup: `gone` names a missing
    clip, `escaped` a clip behind a symlink out of the root, `locked` one that cannot be read."""
    root = tmp_path / "server-secret-dir"
    (tmp_path / "outside").mkdir()
    root.mkdir()
    (root / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    writer = LexiconWriter(LocalStore(root))
    writer.add_sign("locked", layout.empty_frames(2), 30.0, clip_key="clips/locked.npz")
    writer.add_entry(SignEntry("gone", "clips/gone.npz", 0, 1, 30.0))
    writer.add_entry(SignEntry("escaped", "link/x.npz", 0, 1, 30.0))
    writer.commit()
    return root


def test_lexicon_errors_name_store_keys_never_the_servers_directory(damaged_lexicon, monkeypatch, caplog):
    read_bytes = Path.read_bytes

    def locked(path: Path) -> bytes:
        if path.name == "locked.npz":
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", locked)
    lexicon = Lexicon(LocalStore(damaged_lexicon), cache_bytes=1 << 20)
    caplog.set_level(logging.INFO)
    for sign, names in (("nope", "nope"), ("gone", "clips/gone.npz"), ("escaped", "link/x.npz"),
                        ("locked", "clips/locked.npz")):
        with pytest.raises(SignStreamError) as info:
            lexicon.get_clip(sign)
        assert names in info.value.message and damaged_lexicon.name not in info.value.message, info.value.message
    assert caplog.text.count(str(damaged_lexicon)) >= 3       # gone, escaped, locked: the log says where
