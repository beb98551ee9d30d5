"""Brand assets (logos): files inside the library's ``assets/`` folder that Pillow can decode safely.

A variant names its logo by a path relative to the library (``assets/logo.png``). That string is input:
it must not reach a file outside the folder (``/etc/passwd``, ``../../x``, a symlink out), and the file
must be a small PNG, JPEG or WebP that decodes whole, so the overlay never meets a file that breaks it.
"""

from __future__ import annotations

import warnings
from pathlib import Path, PurePosixPath

from PIL import Image

from lab.errors import VariantError, excerpt

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
    """Open with Pillow's decompression-bomb guard as an error, check format and size, then decode it all."""
    name = excerpt(relative)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=ASSET_FORMATS) as image:
                width, height = image.size
                if width * height > ASSET_MAX_PIXELS or max(width, height) > ASSET_MAX_SIDE:
                    raise VariantError(where, f"{name} is {width}x{height} pixels; the cap is "
                                       f"{ASSET_MAX_SIDE}x{ASSET_MAX_SIDE}", FIX)
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise VariantError(where, f"{name} is too many pixels to decode safely", FIX) from None
    except Image.UnidentifiedImageError:
        raise VariantError(where, f"{name} is not a PNG, JPEG or WebP image", FIX) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        raise VariantError(where, f"{name} is not a decodable image ({excerpt(str(exc), 60, quote=False)})",
                           FIX) from None
