"""Logos resolve inside the library's assets/ folder and decode whole, checked at validate, save and render."""

import os

import pytest
import yaml
from PIL import Image

from lab.cli import main
from lab.errors import LabError
from lab.library.versions import VariantLibrary
from lab.render.pipeline import render
from tests.lab.render.conftest import event_for, small
from tests.lab.test_cli import run

BAD_LOGOS = [
    ("/etc/passwd", "'/etc/passwd' is not a path inside assets/"),
    ("../../../../etc/passwd", "'../../../../etc/passwd' is not a path inside assets/"),
    ("assets/not-an-image.png", "'assets/not-an-image.png' is not a PNG, JPEG or WebP image"),
    ("assets/truncated.png", "'assets/truncated.png' is not a decodable image (image file is truncated)"),
    # Cut after the pixel data: Pillow's load() forgives it, the file's own structure does not.
    ("assets/no-end.png", "'assets/no-end.png' is not a decodable image (image file is truncated: no IEND chunk)"),
    ("assets/cut-crc.png", "'assets/cut-crc.png' is not a decodable image (image file is truncated: its 'IDAT' "
                           "chunk is cut short)"),
    ("assets/huge.png", "'assets/huge.png' is too many pixels to decode safely"),
    ("assets/escape.png", "'assets/escape.png' is outside the library's assets/ folder"),
    ("assets/big.png", "'assets/big.png' is 5000×5000 pixels; the cap is 4096×4096"),
    ("assets/logo.gif", "'assets/logo.gif' is not a PNG, JPEG or WebP image"),
]


@pytest.fixture(scope="module")
def bad_assets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-assets")
    (folder / "not-an-image.png").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    Image.new("RGB", (64, 64), "red").save(folder / "whole.png")
    data = (folder / "whole.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "no-end.png").write_bytes(data[:-12])  # the IEND chunk is 12 bytes
    (folder / "cut-crc.png").write_bytes(data[:-14])  # and the last two bytes of the IDAT chunk's CRC
    Image.new("1", (20000, 20000)).save(folder / "huge.png")  # 48 KB on disk, 400 million pixels
    Image.new("1", (5000, 5000)).save(folder / "big.png")
    Image.new("RGB", (8, 8)).save(folder / "logo.gif")
    return folder


@pytest.fixture
def bad_library(library, bad_assets):
    for name in ("not-an-image.png", "truncated.png", "no-end.png", "cut-crc.png", "huge.png", "big.png", "logo.gif"):
        (library / "assets" / name).write_bytes((bad_assets / name).read_bytes())
    os.symlink("/etc/hostname", library / "assets" / "escape.png")
    return library


def with_logo(library, logo: str):
    path = library / "v3-rival-ghost.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["brand"]["logo"] = logo
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stdout
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def cache(tmp_path):
    from lab.render.cache import BackgroundCache

    return BackgroundCache(tmp_path / "cache", 10**9)


@pytest.mark.parametrize("logo, what", BAD_LOGOS)
def test_a_bad_logo_is_refused_at_validate_and_save(bad_library, capsys, logo, what):
    path = with_logo(bad_library, logo)
    for argv in (["variants", "validate", str(path)], ["variants", "save", str(path), "--dir", str(bad_library)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and what in err, err
        assert "root:" not in err
    assert not VariantLibrary(bad_library).is_recorded(VariantLibrary(bad_library).load("v3-rival-ghost"))


def test_validate_in_a_real_process_prints_one_line(bad_library):
    path = with_logo(bad_library, "../../../../etc/passwd")
    assert "is not a path inside assets/" in one_line_error(run("variants", "validate", str(path)))


@pytest.mark.parametrize("logo, what", BAD_LOGOS)
def test_a_bad_logo_is_refused_at_render(bad_library, tmp_path, cache, logo, what):
    variant = small("v3-rival-ghost", brand__logo=logo, generation__width=64, generation__height=64,
                    generation__duration_s=0.5)
    with pytest.raises(LabError) as info:
        render(variant, event_for("rank_up"), tmp_path / "out.mp4", backend="motion", cache=cache,
               logo_root=bad_library, extras=False)
    assert f"variant v3-rival-ghost: brand.logo: {what}" in str(info.value)
    assert not (tmp_path / "out.mp4").exists()


def test_render_through_the_cli_refuses_before_any_work(bad_library, tmp_path):
    path = with_logo(bad_library, "assets/huge.png")
    line = one_line_error(run("render", "--variant", str(path), "--event",
                              '{"event": "rank_up", "user": "A", "old_rank": 3, "new_rank": 2}',
                              "--out", str(tmp_path / "out.mp4"), "--backend", "motion"))
    assert "brand.logo: 'assets/huge.png' is too many pixels to decode safely" in line


def test_the_shipped_logo_passes_every_check(library):
    lib = VariantLibrary(library)
    for variant in lib.load_all():
        lib.check_logo(variant, variant.id)
    assert run("variants", "validate", str(library)).returncode == 0


@pytest.mark.parametrize("fmt, options", [("PNG", {}), ("JPEG", {}), ("JPEG", {"progressive": True}), ("WEBP", {}),
                                          ("WEBP", {"lossless": True})])
def test_no_proper_prefix_of_an_image_passes(fmt, options):
    """Every way a download or copy can be cut short is refused, in every accepted format."""
    import io

    import numpy as np

    from lab.library.assets import decode_image

    pixels = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    data = buffer.getvalue()
    decode_image(data, "whole", "logo").close()
    accepted = []
    for n in range(len(data)):
        try:
            decode_image(data[:n], "cut", "logo").close()
            accepted.append(n)
        except LabError:
            pass
    assert accepted == []


def test_a_truncated_key_visual_and_a_truncated_upload_are_refused_the_same_way(bad_library, tmp_path, capsys):
    from lab.experiments.workflow import save_logo

    path = bad_library / "v3-rival-ghost.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["model"] = {"key_visual": "assets/no-end.png"}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert main(["variants", "validate", str(path)]) == 2
    assert ("model.key_visual: 'assets/no-end.png' is not a decodable image (image file is truncated: no IEND chunk)"
            in capsys.readouterr().err)
    upload = tmp_path / "logo.png"
    upload.write_bytes((bad_library / "assets" / "no-end.png").read_bytes())
    before = sorted(p.name for p in (bad_library / "assets").iterdir())
    with pytest.raises(LabError, match="the file is not a decodable image \\(image file is truncated: no IEND chunk\\)"):
        save_logo(VariantLibrary(bad_library), upload)
    assert sorted(p.name for p in (bad_library / "assets").iterdir()) == before
