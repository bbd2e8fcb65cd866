"""Conversations, logs and settings are the user's own: folders 0700, files 0600, whatever the umask,
and what an older version left readable by others is tightened when the app starts."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from qwenvoice.logsetup import configure_logging
from qwenvoice.session.conversation import Conversation
from qwenvoice.session.reports import QuietVoiceListener
from qwenvoice.session.voice import RunOptions, VoiceSession
from qwenvoice.settings.schema import SCHEMA_VERSION, AppSettings
from qwenvoice.settings.store import SettingsStore


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_conversation_is_private(tmp_path, umask_022):
    conv = Conversation.create(tmp_path / "data")
    conv.user_transcript("item_1", "my secret", final=True)
    conv.append_user_audio(np.ones(1600, dtype=np.int16).tobytes())
    conv.append_assistant_audio(np.ones(2400, dtype=np.int16).tobytes())
    conv.log_event_line('{"type": "x"}')
    conv.close()
    assert conv.folder is not None
    for folder in (tmp_path / "data", tmp_path / "data" / "conversations", conv.folder):
        assert mode(folder) == 0o700, folder
    names = sorted(p.name for p in conv.folder.iterdir())
    assert names == ["assistant.wav", "events.jsonl", "meta.json", "transcript.jsonl", "user.wav"]
    for name in names:
        assert mode(conv.folder / name) == 0o600, name


def test_the_log_file_is_private(tmp_path, umask_022):
    log_file = tmp_path / "state" / "log" / "qwenvoice.log"
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging(0, log_file=log_file)
        logging.getLogger("qwenvoice.test").warning("something private")
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
    assert "something private" in log_file.read_text(encoding="utf-8")
    assert mode(log_file) == 0o600 and mode(log_file.parent) == 0o700 and mode(tmp_path / "state") == 0o700


def test_the_settings_folder_and_its_files_are_private(tmp_path, umask_022):
    store = SettingsStore(tmp_path / "config")
    store.save(AppSettings())
    assert mode(store.config_dir) == 0o700 and mode(store.path) == 0o600
    store.path.write_text(f'{{"schema_version": {SCHEMA_VERSION + 1}}}', encoding="utf-8")
    os.chmod(store.path, 0o600)
    backup = store.load().backup_path
    assert backup is not None and mode(backup) == 0o600


async def test_what_exists_is_tightened_when_the_session_starts(tmp_path, monkeypatch, umask_022):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    old = tmp_path / "data" / "conversations" / "20250101-000000-abcdef"
    old.mkdir(parents=True)
    for name in ("transcript.jsonl", "user.wav", "events.jsonl"):
        (old / name).write_text("x")
        os.chmod(old / name, 0o644)
    for folder in (tmp_path / "data" / "conversations", old):
        os.chmod(folder, 0o755)
    logs = tmp_path / "state" / "qwenvoice" / "log"
    logs.mkdir(parents=True)
    os.chmod(logs, 0o755)
    (logs / "offline-server.log").write_text("old lines")
    os.chmod(logs / "offline-server.log", 0o644)
    # A symlink is neither followed nor changed: what it points at is not ours to tighten.
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("shared on purpose")
    os.chmod(outside, 0o644)
    (old / "link.txt").symlink_to(outside)
    shared_dir = tmp_path / "shared"
    shared_dir.mkdir()
    os.chmod(shared_dir, 0o755)
    (logs / "linked-dir").symlink_to(shared_dir, target_is_directory=True)

    session = VoiceSession(QuietVoiceListener(), RunOptions(
        url="ws://127.0.0.1:9/api-ws/v1/realtime", audio=False, data_root=tmp_path / "data",
        config_dir=tmp_path / "config", reconnect=False))
    try:
        await session.start()
        # The new conversation is private while it runs (ended with no turn, it is removed).
        new = [p for p in (tmp_path / "data" / "conversations").iterdir() if p != old]
        assert len(new) == 1 and mode(new[0]) == 0o700 and mode(new[0] / "transcript.jsonl") == 0o600
    finally:
        await session.shutdown()
    assert not new[0].exists()
    assert mode(tmp_path / "data" / "conversations") == 0o700 and mode(old) == 0o700
    for name in ("transcript.jsonl", "user.wav", "events.jsonl"):
        assert mode(old / name) == 0o600, name
    assert mode(logs) == 0o700 and mode(logs / "offline-server.log") == 0o600
    assert mode(outside) == 0o644 and mode(shared_dir) == 0o755
