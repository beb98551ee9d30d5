"""A real PostgreSQL server for tests: Debian's ``postgresql`` package, started on a free 127.0.0.1 port in a
temporary folder with ``initdb``/``pg_ctl`` (as the ``postgres`` user when the tests run as root, since the
server refuses root), and stopped afterwards. ``pg_stat_statements`` is loaded so a test can ask the server
itself how many rows each statement sent back."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

ADMIN, ADMIN_PASSWORD = "lab_admin", "admin-secret-4711"


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


@dataclass
class Server:
    port: int
    folder: Path

    def url(self, user: str = ADMIN, password: str | None = ADMIN_PASSWORD, database: str = "lab") -> str:
        cred = f"{user}:{password}" if password else user
        return f"postgresql://{cred}@127.0.0.1:{self.port}/{database}"

    def admin(self):  # noqa: ANN201 - a psycopg connection
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=ADMIN, password=ADMIN_PASSWORD, dbname="lab",
                               autocommit=True, connect_timeout=10)


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    """(command prefix, uid, gid): the server runs as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return [], None, None
    entry = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], entry.pw_uid, entry.pw_gid


@contextlib.contextmanager
def running() -> Iterator[Server]:
    """Start a fresh server (initdb, pg_ctl start -w), yield it, stop it (pg_ctl stop -m fast)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql; `make setup` installs it)")
    prefix, uid, gid = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="lab-pg-", dir="/tmp"))
    data, pwfile = folder / "data", folder / "pw"
    pwfile.write_text(ADMIN_PASSWORD)
    if uid is not None:
        for p in (folder, pwfile):
            os.chown(p, uid, gid)
    port = free_port()
    run = [*prefix, str(bin_dir / "pg_ctl")]
    try:
        subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", ADMIN, f"--pwfile={pwfile}",
                        "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale"],
                       check=True, capture_output=True, timeout=120)
        options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 "
                   "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all")
        subprocess.run([*run, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "-t", "120",
                        "start"], check=True, capture_output=True, timeout=150)
        server = Server(port, folder)
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user=ADMIN, password=ADMIN_PASSWORD, dbname="postgres",
                             autocommit=True, connect_timeout=10) as con:
            con.execute("CREATE DATABASE lab")
        with server.admin() as con:
            con.execute("CREATE EXTENSION pg_stat_statements")
        yield server
    finally:
        subprocess.run([*run, "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"], capture_output=True,
                       timeout=90)
        shutil.rmtree(folder, ignore_errors=True)
