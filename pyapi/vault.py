"""Secrets sealed at rest: the vendor API keys of external PMS hotels, the secrets their signed
webhooks are checked with, and the signing secrets of outbound webhook endpoints. The database
holds each only as a Fernet token (``fernet:`` + AES-128-CBC and HMAC-SHA256, :mod:`cryptography`);
the key that opens it lives outside the database, with the processes that use the secret (the API,
the sync worker, the webhook dispatcher, the CLI), so no SQL client — not even an admin login
through the ``api`` functions — ever reads one in clear: the database neither calls the vendor nor
signs a webhook, so whichever login did would otherwise be handed the clear secret.

The keys: ``HOTELCORE_PMS_KEYS`` (named for the vendor keys, the first secrets sealed), Fernet keys
separated by commas, the newest first (it seals; every one opens). Without it, a key of this
installation is made once under ``HOTELCORE_DATA`` (``pms-keys``, mode 0600) — development and
tests; a deployment sets the variable. Rotation: put a new key first
(``HOTELCORE_PMS_KEYS=new,old``), run ``hotelcore pms rotate-keys`` (every sealed secret sealed
again under the new one), then drop the old key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from . import config

PREFIX = "fernet:"
ENV = "HOTELCORE_PMS_KEYS"


class VaultError(Exception):
    """A sealed value no configured key opens (a dropped key, or a value not sealed here)."""


def _key_file() -> Path:
    return config.data_dir() / "pms-keys"


def _keys() -> list[bytes]:
    configured = os.environ.get(ENV, "").strip()
    if configured:
        return [k.strip().encode() for k in configured.split(",") if k.strip()]
    path = _key_file()
    try:
        return [path.read_bytes().strip()]
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:  # created once: concurrent first users read the one that won
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return [path.read_bytes().strip()]
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return [key]


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in _keys()])
    except ValueError as exc:
        raise VaultError(f"{ENV} holds a value that is not a Fernet key: {exc}") from None


def seal(clear: str) -> str:
    """The value to store for ``clear``: sealed under the newest key."""
    return PREFIX + _fernet().encrypt(clear.encode()).decode()


def open_sealed(sealed: str) -> str:
    """The clear value of a sealed one, with whichever configured key sealed it."""
    if not sealed.startswith(PREFIX):
        raise VaultError("the stored secret is not sealed")
    try:
        return _fernet().decrypt(sealed[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise VaultError(f"no key of {ENV} opens the stored secret (a key dropped too early?)") from None


def reseal(sealed: str) -> str:
    """The same clear value sealed again under the newest key (rotation); a value stored in
    clear by an older release is sealed."""
    if not sealed.startswith(PREFIX):
        return seal(sealed)
    try:
        return PREFIX + _fernet().rotate(sealed[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise VaultError(f"no key of {ENV} opens the stored secret (a key dropped too early?)") from None
