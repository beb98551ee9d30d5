"""Brand assets (logos): files inside the library's ``assets/`` folder that Pillow can decode safely.

A variant names its logo by a path relative to the library (``assets/logo.png``). That string is input:
it must not reach a file outside the folder (``/etc/passwd``, ``../../x``, a symlink out), and the file
must be a small PNG, JPEG or WebP that decodes whole, so the overlay never meets a file that breaks it.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path, PurePosixPath

from PIL import Image

from lab.errors import LabError, VariantError, excerpt

ASSETS_DIR = "assets"
ASSET_FORMATS = ("PNG", "JPEG", "WEBP")
ASSET_MAX_BYTES = 5 * 1024 * 1024
ASSET_MAX_SIDE = 4096
ASSET_MAX_PIXELS = ASSET_MAX_SIDE * ASSET_MAX_SIDE
FIX = f"put a PNG, JPEG or WebP of at most {ASSET_MAX_SIDE}x{ASSET_MAX_SIDE} pixels and " \
      f"{ASSET_MAX_BYTES // (1024 * 1024)} MB in the library's {ASSETS_DIR}/ folder and name it as " \
      f"{ASSETS_DIR}/NAME.png"


def resolve_asset(root: Path, relative: str, where: str) -> Path:
    """The checked absolute path of ``relative`` under ``root/assets``, or ``VariantError`` saying why not."""
    rel = PurePosixPath(relative)
    if not relative or "\\" in relative or "\x00" in relative or rel.is_absolute() or ".." in rel.parts:
        raise VariantError(where, f"{excerpt(relative)} is not a path inside {ASSETS_DIR}/", FIX)
    folder = (Path(root) / ASSETS_DIR).resolve()
    try:
        path = (Path(root) / rel).resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise VariantError(where, f"{excerpt(relative)} does not exist in {root}", FIX) from None
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise VariantError(where, f"{excerpt(relative)} cannot be resolved ({exc})", FIX) from None
    if not path.is_relative_to(folder):
        raise VariantError(where, f"{excerpt(relative)} is outside the library's {ASSETS_DIR}/ folder", FIX)
    if not path.is_file():
        raise VariantError(where, f"{excerpt(relative)} is not a file", FIX)
    size = path.stat().st_size
    if size > ASSET_MAX_BYTES:
        raise VariantError(where, f"{excerpt(relative)} is {size:,} bytes; the cap is {ASSET_MAX_BYTES:,}", FIX)
    _check_image(path, relative, where)
    return path


def _check_image(path: Path, relative: str, where: str) -> None:
    decode_image(path.read_bytes(), excerpt(relative), where).close()


def decode_image(data: bytes, name: str, where: str, error: type[LabError] = VariantError) -> Image.Image:
    """Decode an image whole, or raise ``error``: a PNG, JPEG or WebP within the caps, not a decompression bomb,
    and not truncated. Pillow opens lazily and ``load()`` forgives a PNG cut after its pixel data, so the
    file's own structure is checked to its end marker as well. The one check for every logo and key visual."""
    if len(data) > ASSET_MAX_BYTES:
        raise error(where, f"{name} is over the cap of {ASSET_MAX_BYTES:,} bytes", FIX)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ASSET_FORMATS)
            width, height = image.size
            if width * height > ASSET_MAX_PIXELS or max(width, height) > ASSET_MAX_SIDE:
                raise error(where, f"{name} is {width}×{height} pixels; the cap is "
                            f"{ASSET_MAX_SIDE}×{ASSET_MAX_SIDE}", FIX)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise error(where, f"{name} is too many pixels to decode safely", FIX) from None
    except Image.UnidentifiedImageError:
        raise error(where, f"{name} is not a PNG, JPEG or WebP image", FIX) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        raise error(where, f"{name} is not a decodable image ({excerpt(str(exc), 60, quote=False)})",
                    FIX) from None
    missing = _missing_end(data, image.format)
    if missing:
        image.close()
        raise error(where, f"{name} is not a decodable image (image file is truncated: {missing})", FIX)
    return image


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _missing_end(data: bytes, fmt: str | None) -> str | None:
    """What a file lacks at its end for its format (None when it is whole)."""
    if fmt == "PNG":
        pos = len(PNG_SIGNATURE)
        while pos + 8 <= len(data):  # length, type, data, CRC: walk to IEND
            length = int.from_bytes(data[pos:pos + 4], "big")
            end = pos + 12 + length
            if end > len(data):
                return f"its {data[pos + 4:pos + 8].decode('latin-1')!r} chunk is cut short"
            if data[pos + 4:pos + 8] == b"IEND":
                return None
            pos = end
        return "no IEND chunk"
    if fmt == "JPEG":
        return None if data.rstrip(b"\x00").endswith(b"\xff\xd9") else "no end-of-image marker"
    if fmt == "WEBP":
        return None if int.from_bytes(data[4:8], "little") + 8 <= len(data) else "shorter than its RIFF header says"
    return None
