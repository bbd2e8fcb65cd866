"""The API key store: environment first, keyring second, a private file only when asked for."""

from __future__ import annotations

import logging
import stat

import keyring
import pytest
from keyring.backends import chainer, fail

from qwenvoice.logsetup import RedactingFilter
from qwenvoice.settings.secrets import (
    ENV_VAR,
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    ApiKeyStore,
    KeySource,
    SecretStoreError,
    probe_keyring,
)

KEY = "sk-test0123456789abcdef"


class MemoryKeyring:
    """An in-process keyring (pure-logic double for the OS keyring). Not a KeyringBackend subclass:
    those register themselves and ``keyring.get_keyring()`` could then return this double."""

    priority = 1.0

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class RefusingKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked")


def test_fail_backend_is_reported_unavailable_with_a_reason():
    status = probe_keyring(fail.Keyring())
    assert status.available is False
    assert "keyring" in status.reason.lower()
    assert "DASHSCOPE_API_KEY" in status.reason


def test_chainer_without_backends_is_unavailable(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert probe_keyring(chainer.ChainerBackend()).available is False


def test_test_doubles_are_not_registered_with_keyring():
    from keyring.backend import get_all_keyring

    assert not any(type(k).__name__ in ("MemoryKeyring", "RefusingKeyring") for k in get_all_keyring())


def test_this_machines_keyring_is_probed_without_crashing(tmp_path):
    store = ApiKeyStore(config_dir=tmp_path, environ={})
    status = store.keyring_status
    # A headless box resolves to the fail backend; a desktop has a real one. Either way: consistent.
    if isinstance(keyring.get_keyring(), fail.Keyring):
        assert not status.available and status.reason
    else:
        assert status.available == (status.reason == "")
    assert store.lookup() == (None, KeySource.NONE)


def test_environment_wins_over_keyring(tmp_path):
    backend = MemoryKeyring()
    backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, "sk-fromkeyring000000")
    store = ApiKeyStore(config_dir=tmp_path, backend=backend, environ={ENV_VAR: KEY})
    assert store.lookup() == (KEY, KeySource.ENV)
    assert store.has_stored_key()


def test_set_stores_in_keyring_and_never_on_disk(tmp_path):
    backend = MemoryKeyring()
    store = ApiKeyStore(config_dir=tmp_path, backend=backend, environ={})
    assert store.set(f"  {KEY}\n") is KeySource.KEYRING
    assert backend.entries[(KEYRING_SERVICE, KEYRING_USERNAME)] == KEY
    assert store.lookup() == (KEY, KeySource.KEYRING)
    assert not any(KEY in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())
    store.delete()
    assert store.lookup() == (None, KeySource.NONE)


def test_without_keyring_set_refuses_unless_plaintext_is_allowed(tmp_path):
    store = ApiKeyStore(config_dir=tmp_path, backend=fail.Keyring(), environ={})
    with pytest.raises(SecretStoreError, match="keyring"):
        store.set(KEY)
    assert list(tmp_path.iterdir()) == []

    assert store.set(KEY, allow_plaintext_file=True) is KeySource.PLAINTEXT_FILE
    mode = stat.S_IMODE(store.plaintext_path.stat().st_mode)
    assert mode == 0o600
    assert store.lookup() == (KEY, KeySource.PLAINTEXT_FILE)
    store.delete()
    assert not store.plaintext_path.exists()


def test_refusing_keyring_falls_back_only_with_consent(tmp_path):
    store = ApiKeyStore(config_dir=tmp_path, backend=RefusingKeyring(), environ={})
    with pytest.raises(SecretStoreError) as info:
        store.set(KEY)
    assert KEY not in str(info.value)
    assert not store.plaintext_path.exists()
    assert store.set(KEY, allow_plaintext_file=True) is KeySource.PLAINTEXT_FILE


def test_storing_in_keyring_removes_an_old_plaintext_file(tmp_path):
    store = ApiKeyStore(config_dir=tmp_path, backend=fail.Keyring(), environ={})
    store.set(KEY, allow_plaintext_file=True)
    store2 = ApiKeyStore(config_dir=tmp_path, backend=MemoryKeyring(), environ={})
    store2.set(KEY)
    assert not store2.plaintext_path.exists()


def test_empty_key_is_refused(tmp_path):
    store = ApiKeyStore(config_dir=tmp_path, backend=MemoryKeyring(), environ={})
    with pytest.raises(SecretStoreError, match="empty"):
        store.set("   ")


def test_key_never_in_repr_and_redacted_from_logs(tmp_path, caplog):
    backend = MemoryKeyring()
    store = ApiKeyStore(config_dir=tmp_path, backend=backend, environ={})
    odd_key = "plainkey-without-prefix-42"
    store.set(odd_key)
    assert odd_key not in repr(store)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "connecting with %s", (store.get(),), None)
    RedactingFilter().filter(record)
    assert odd_key not in record.getMessage()
