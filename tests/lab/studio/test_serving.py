"""What the launched studio serves: never the data folder's secrets over any Gradio file route, failed logins
throttled per client, links out of the variant library refused (findings 2 and 11 of issue 18)."""

import os
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from lab.cli import main
from lab.library.versions import VariantLibrary
from tests.conftest import REPO, free_port, serve

ROUTES = ("/gradio_api/file={p}", "/file={p}", "/gradio_api/file/{p}", "/file/{p}", "/gradio_api/file={q}",
          "/gradio_api/file=.highlight-lab/{name}", "/gradio_api/file=./.highlight-lab/../.highlight-lab/{name}")


def status_of(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """``highlight-lab studio --auth`` in a project folder whose data folder is the default ``./.highlight-lab``."""
    tmp = tmp_path_factory.mktemp("studio-serving")
    shutil.copytree(REPO / "variants", tmp / "variants", ignore=shutil.ignore_patterns(".lock"))
    shutil.copytree(REPO / "experiments", tmp / "experiments")
    home = tmp / ".highlight-lab"
    home.mkdir()
    (home / "id-salt").write_text("SALT-SECRET-0123456789")
    (home / "outcomes" / "k").mkdir(parents=True)
    (home / "outcomes" / "k" / "events.parquet").write_text("OUTCOME-SECRET")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HIGHLIGHT_LAB_"))}
    env.update({"GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(REPO)})
    cmd = [sys.executable, "-m", "lab", "studio", "--port", str(port), "--dir", str(tmp / "variants"),
           "--experiments", str(tmp / "experiments"), "--auth", "dana:s3cret-pass", "--no-demo"]
    with serve(cmd, f"http://127.0.0.1:{port}/", env, cwd=tmp, timeout=240):
        (home / "mlflow.db").exists() or (home / "mlflow.db").write_text("MLFLOW-SECRET")
        yield f"http://127.0.0.1:{port}", home


def login(base: str, password: str) -> int:
    body = urllib.parse.urlencode({"username": "dana", "password": password}).encode()
    return status_of(f"{base}/login", body)[0]


def test_data_folder_files_are_never_served(studio):
    base, home = studio
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    body = urllib.parse.urlencode({"username": "dana", "password": "s3cret-pass"}).encode()
    assert opener.open(f"{base}/login", body, timeout=30).status == 200  # logged in: still refused
    for name in ("id-salt", "mlflow.db", "outcomes/k/events.parquet"):
        path = home / name
        for route in ROUTES:
            url = base + route.format(p=path, q=urllib.parse.quote(str(path)), name=name)
            try:
                with opener.open(url, timeout=30) as r:
                    code, data = r.status, r.read()
            except urllib.error.HTTPError as exc:
                code, data = exc.code, exc.read()
            assert code in (403, 404), (url, code)
            assert b"SECRET" not in data


def test_failed_logins_are_throttled_per_client(studio):
    base, _ = studio
    codes = [login(base, f"wrong-{i}") for i in range(12)]
    assert set(codes[:10]) == {400} and codes[10:] == [429, 429]
    assert login(base, "s3cret-pass") == 429  # even the right password waits out the minute


def test_a_link_out_of_the_library_is_refused_unread(tmp_path, capsys):
    lib = tmp_path / "variants"
    shutil.copytree(REPO / "variants", lib, ignore=shutil.ignore_patterns(".lock"))
    secret = tmp_path / "id-salt"
    secret.write_text("id: SALT-SECRET-0123456789\n")
    (lib / "evil.yaml").symlink_to(secret)
    with pytest.raises(Exception, match="link to a file outside the variant library") as info:
        VariantLibrary(lib).load("evil")
    assert "SALT" not in str(info.value)
    assert main(["variants", "validate", str(lib)]) == 2
    out = capsys.readouterr()
    assert "outside the variant library" in out.err + out.out and "SALT" not in out.err + out.out

    from lab.experiments.spec import ExperimentLibrary
    from lab.studio.handlers import Handlers

    shown = Handlers(VariantLibrary(lib), ExperimentLibrary(REPO / "experiments", VariantLibrary(lib))).library()
    assert "evil.yaml" in shown["library_refused"] and "SALT" not in str(shown)
    assert "v1-fast-sprint" in [r[0] for r in shown["library_table"]]
