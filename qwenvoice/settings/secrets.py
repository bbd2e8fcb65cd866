"""The DashScope API key: environment first, then the OS keyring, never the settings file.

Order of precedence when reading: ``DASHSCOPE_API_KEY`` in the environment, then the keyring entry
(service ``qwenvoice``, user ``dashscope-api-key``), then — only if the user explicitly chose it — a
0600 file in the config directory. A machine without a usable keyring (a headless Linux box resolves
to ``keyring.backends.fail.Keyring``) is reported as ``available=False`` with a reason the UI can
show; the app keeps working with the environment variable. The key is registered with the log
scrubber the moment we hold it and is never part of any ``repr``.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from qwenvoice.logsetup import register_secret
from qwenvoice.private_files import private_dir

KEYRING_SERVICE = "qwenvoice"
KEYRING_USERNAME = "dashscope-api-key"
ENV_VAR = "DASHSCOPE_API_KEY"
PLAINTEXT_FILE_NAME = "api-key"


class KeySource(enum.Enum):
    ENV = "env"
    KEYRING = "keyring"
    PLAINTEXT_FILE = "file"
    NONE = "none"


class SecretStoreError(RuntimeError):
    """Raised when a key cannot be stored where the user asked; the message is user-facing."""


@dataclass(frozen=True, slots=True)
class KeyringStatus:
    available: bool
    backend_name: str
    reason: str  # empty when available; otherwise an English sentence (logs, CLI)
    # Why it is unavailable, for a translated UI text: "" | "none" | "empty" | "unusable" | "read_error"
    kind: str = ""


class KeyringBackend(Protocol):
    """What the store uses of a ``keyring`` backend (``keyring.get_keyring()`` or a test double)."""

    def get_password(self, service: str, username: str, /) -> str | None: ...

    def set_password(self, service: str, username: str, password: str, /) -> None: ...

    def delete_password(self, service: str, username: str, /) -> None: ...


def _backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def probe_keyring(backend: object) -> KeyringStatus:
    """Decide whether ``backend`` can hold secrets, without writing anything to it."""
    from keyring.backends import chainer, fail

    name = _backend_name(backend)
    if backend is None or isinstance(backend, fail.Keyring):
        return KeyringStatus(
            False,
            name,
            "No system keyring is available on this machine (no Secret Service, KWallet, macOS "
            "Keychain or Windows Credential Manager was found). Set DASHSCOPE_API_KEY in the "
            "environment, or store the key in a private file if you accept that risk.",
            "none",
        )
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return KeyringStatus(False, name, "The system keyring has no working backend.", "empty")
    try:
        priority = float(getattr(type(backend), "priority", 1.0))
    except Exception:  # a backend whose priority probe fails is not usable
        priority = 0.0
    if priority <= 0:
        return KeyringStatus(False, name, "The system keyring backend reports that it is not usable.", "unusable")
    return KeyringStatus(True, name, "")


@dataclass(frozen=True, slots=True)
class ApiKeyStatus:
    """Where the key comes from and where it could be kept: what the settings form shows (never the key)."""

    source: KeySource  # the key in use (the environment wins)
    stored_in: KeySource  # where the app keeps one, ignoring the environment
    keyring: KeyringStatus
    plaintext_path: Path


class ApiKeyStore:
    """Reads and writes the API key. ``backend`` defaults to ``keyring.get_keyring()``."""

    def __init__(
        self,
        *,
        config_dir: Path,
        backend: KeyringBackend | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._config_dir = config_dir
        self._environ = os.environ if environ is None else environ
        if backend is None:
            import keyring

            backend = keyring.get_keyring()
        self._backend = backend
        self._status = probe_keyring(backend)

    def __repr__(self) -> str:  # never shows a key
        return f"ApiKeyStore(backend={self._status.backend_name!r}, available={self._status.available})"

    @property
    def keyring_status(self) -> KeyringStatus:
        return self._status

    @property
    def plaintext_path(self) -> Path:
        return self._config_dir / PLAINTEXT_FILE_NAME

    def env_key(self) -> str | None:
        value = self._environ.get(ENV_VAR, "").strip()
        return value or None

    def _keyring_key(self) -> str | None:
        if not self._status.available:
            return None
        try:
            value = self._backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
        except Exception as exc:  # locked or broken keyring: report, keep working
            reason = f"The keyring could not be read ({type(exc).__name__})."
            self._status = KeyringStatus(False, self._status.backend_name, reason, "read_error")
            return None
        return str(value) if value else None

    def _file_key(self) -> str | None:
        try:
            value = self.plaintext_path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return value or None

    def lookup(self) -> tuple[str | None, KeySource]:
        """The key to use and where it came from (environment wins)."""
        for source, reader in (
            (KeySource.ENV, self.env_key),
            (KeySource.KEYRING, self._keyring_key),
            (KeySource.PLAINTEXT_FILE, self._file_key),
        ):
            value = reader()
            if value:
                register_secret(value)
                return value, source
        return None, KeySource.NONE

    def get(self) -> str | None:
        return self.lookup()[0]

    def source(self) -> KeySource:
        return self.lookup()[1]

    def has_stored_key(self) -> bool:
        """True when a key is saved by the app (keyring or opted-in file), ignoring the environment."""
        return self.stored_source() is not KeySource.NONE

    def stored_source(self) -> KeySource:
        """Where the app keeps a key (ignoring the environment): keyring, private file or nowhere."""
        if self._keyring_key():
            return KeySource.KEYRING
        if self._file_key():
            return KeySource.PLAINTEXT_FILE
        return KeySource.NONE

    def status(self) -> ApiKeyStatus:
        source = self.source()
        stored_in = self.stored_source()
        return ApiKeyStatus(source, stored_in, self.keyring_status, self.plaintext_path)

    def set(self, key: str, *, allow_plaintext_file: bool = False) -> KeySource:
        """Store ``key`` in the keyring; fall back to a 0600 file only when explicitly allowed."""
        key = key.strip()
        if not key:
            raise SecretStoreError("The API key is empty.")
        register_secret(key)
        if self._status.available:
            try:
                self._backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, key)
            except Exception as exc:
                if not allow_plaintext_file:
                    raise SecretStoreError(f"The keyring refused the key: {type(exc).__name__}") from None
            else:
                self._remove_plaintext()
                return KeySource.KEYRING
        if not allow_plaintext_file:
            raise SecretStoreError(self._status.reason or "No keyring is available.")
        self._write_plaintext(key)
        return KeySource.PLAINTEXT_FILE

    def delete(self) -> None:
        """Forget the stored key everywhere the app put it (the environment is not ours to change)."""
        if self._status.available:
            with contextlib.suppress(Exception):  # "not found" differs per backend
                self._backend.delete_password(KEYRING_SERVICE, KEYRING_USERNAME)
        self._remove_plaintext()

    def _write_plaintext(self, key: str) -> None:
        private_dir(self._config_dir)
        tmp = self.plaintext_path.with_suffix(".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        # Created 0600 from the start so the key is never readable by others, even briefly.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
        os.replace(tmp, self.plaintext_path)

    def _remove_plaintext(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.plaintext_path.unlink()
