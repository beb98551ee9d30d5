"""The output store: a local folder by default, any fsspec URL (``s3://bucket/videos``) where configured.

Objects are named by the event id's hash only, so no name ever reaches a path or a URL.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from lab.errors import LabError, excerpt
from lab.storage import atomic_path

# A stored object's name: the event hash plus a fixed suffix, nothing from the input.
NAME_RE = re.compile(r"[0-9a-f]{24}\.(mp4|poster\.png)")
# fsspec file systems that keep nothing after the process ends: the videos would vanish while the impressions
# point at them
NOT_PERSISTENT = frozenset({"memory"})


def _shown(url: str) -> str:
    """A store URL for a message: an excerpt with any user and password replaced."""
    return excerpt(re.sub(r"//[^/@]*@", "//***@", url))


class OutputStore:
    """Put finished files under names the worker chose; readers see a whole file or none."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.local = "://" not in url or url.startswith("file://")
        if self.local:
            self.root = Path(url.removeprefix("file://")).resolve()
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LabError("output store", f"cannot create the folder {excerpt(str(self.root), 200)} "
                               f"({exc.strerror or type(exc).__name__})",
                               "give a folder this user can write (--out / HIGHLIGHT_LAB_OUTPUT_URL)") from None
            self.fs = None
        else:
            try:
                from fsspec.core import url_to_fs

                self.fs, self.root_path = url_to_fs(url)
            except (ImportError, ValueError) as exc:
                raise LabError("output store", f"cannot open {_shown(url)}: {exc}",
                               "give a local folder or an fsspec URL whose package is installed") from None
            except OSError as exc:  # a store that connects when opened (ftp, sftp) and is down or refuses
                raise LabError("output store", f"cannot reach {_shown(url)} ({exc.strerror or type(exc).__name__})",
                               "start the store or fix the URL, then run again: no event was touched") from None
            protocols = {self.fs.protocol} if isinstance(self.fs.protocol, str) else set(self.fs.protocol)
            if protocols & NOT_PERSISTENT:
                raise LabError("output store", f"{_shown(url)} keeps nothing once the worker stops",
                               "give a folder or a store that persists (s3://, gs://, file://)")

    def location(self, name: str) -> str:
        """The URL a stored object is fetched from (what the push hook sends)."""
        self._check(name)
        if self.local:
            return (self.root / name).as_uri()
        return f"{self.url}/{name}"

    def put(self, local: Path, name: str) -> str:
        """Copy ``local`` into the store as ``name`` (atomically on a local folder); returns its location."""
        self._check(name)
        if self.local:
            with atomic_path(self.root / name, suffix=".part") as tmp:
                try:
                    os.link(local, tmp.with_suffix(".lnk"))
                    os.replace(tmp.with_suffix(".lnk"), tmp)
                except OSError:  # another file system: copy instead
                    shutil.copyfile(local, tmp)
        else:
            self.fs.put_file(str(local), f"{self.root_path}/{name}")
        return self.location(name)

    def exists(self, name: str) -> bool:
        self._check(name)
        return (self.root / name).exists() if self.local else bool(self.fs.exists(f"{self.root_path}/{name}"))

    @staticmethod
    def _check(name: str) -> None:
        if not NAME_RE.fullmatch(name):
            raise LabError("output store", f"refused object name {name!r}", "names are <event hash>.mp4 or .poster.png")
