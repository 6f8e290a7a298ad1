"""The development SECRET_KEY: random for each checkout, made on first run and kept in a
file that git ignores, so no key that signs anything is ever a constant in the code."""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def development_secret_key(path: Path) -> str:
    """The key kept at `path`, created (random, readable by its owner only) if missing."""
    path = Path(path)
    if not path.exists():
        _create(path, secrets.token_urlsafe(50))
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty; delete it and a new development key is made on the next run.")
    return key


def _create(path: Path, key: str) -> None:
    """Write the key to a private temporary file, then link it into place: a second process
    starting at the same moment (runserver's reloader) reads the first one's key instead."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(key + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made the key first; everyone uses that one
    finally:
        temporary.unlink(missing_ok=True)
