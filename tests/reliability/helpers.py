"""Shared pieces of the reliability tests: a controller factory, notice capture, log capture."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.net.client import ConnectOptions

TOKEN = "test-token-123456"
# Short keepalive so a stuck connection is noticed in tests; renewal off unless a test turns it on.
TEST_CONNECT = ConnectOptions(ping_interval=2.0, ping_timeout=2.0, renew_after=None)


@dataclass
class Notices:
    items: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(self, level: str, text: str, action: str) -> None:
        self.items.append((level, text, action))

    def of(self, level: str) -> list[str]:
        return [t for lv, t, _ in self.items if lv == level]

    def containing(self, text: str) -> list[tuple[str, str, str]]:
        return [n for n in self.items if text.lower() in n[1].lower()]


class ErrorLog(logging.Handler):
    """Records ERROR-and-above log records of the app (a handler that raised logs one)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> ErrorLog:
        logging.getLogger("qwenvoice").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("qwenvoice").removeHandler(self)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


def make_controller(tmp_path: Path, url: str, *, mode: str = "vad", audio: bool = False,
                    connect: ConnectOptions | None = None, instructions: str | None = None,
                    **settings: Any) -> tuple[Controller, Notices]:
    """A controller on ``url`` with its own config and data dirs; settings loaded (and adjusted) but
    not started."""
    c = Controller(RunOptions(url=url, mode=mode, audio=audio, data_root=tmp_path / "data",
                              config_dir=tmp_path / "config", connect_options=connect or TEST_CONNECT))
    c.load_settings()
    if instructions is not None:
        c.settings.omni.instructions = instructions
    for dotted, value in settings.items():
        section, name = dotted.split("__")
        setattr(getattr(c.settings, section), name, value)
    notices = Notices()
    c.notice.connect(notices)
    return c, notices
