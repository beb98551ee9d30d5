"""Pseudonyms for user ids: a salted hash, stable within this lab and useless outside it."""

from __future__ import annotations

import hashlib
import os
import secrets

from lab import config
from lab.storage import atomic_write_bytes, file_lock


def salt() -> str:
    """The lab's secret salt for hashing user ids, made once (0600) under the data folder."""
    path = config.salt_path()
    if not path.exists():
        with file_lock(path.parent / ".salt.lock"):
            if not path.exists():
                atomic_write_bytes(path, secrets.token_hex(32).encode())
                os.chmod(path, 0o600)
    return path.read_text().strip()


def hash_id(user_id: str) -> str:
    """A salted SHA-256 pseudonym (20 hex digits) for a user id: stable within this lab, useless outside it."""
    return hashlib.sha256((salt() + user_id).encode("utf-8")).hexdigest()[:20]
