"""Logging set-up shared by every entry point, with secrets scrubbed from every record.

websockets logs request headers (including ``Authorization``) at DEBUG. We never let that library log
below INFO, and a filter on the root handlers rewrites anything that still looks like a bearer token
or an API key, so a key cannot reach a log file or the terminal even with ``-vv``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

from qwenvoice.private_files import open_private, private_dir

_SECRET_PATTERNS = (
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?bearer\s+)[^\s\"',}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{6,}"),
    re.compile(r"\b(sk-)[A-Za-z0-9]{8,}"),
)
_known_secrets: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a secret so that the exact string is scrubbed wherever it appears."""
    if secret and len(secret) >= 4:
        _known_secrets.add(secret)


def redact(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(exc_text)
        return True


def install_redaction(handler: logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())


def quiet_header_loggers() -> None:
    # Header dumps live at DEBUG in websockets' client/server loggers: keep them off.
    for name in ("websockets", "websockets.client", "websockets.server"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger(name).level))


def configure_logging(verbosity: int = 0, log_file: Path | None = None) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    if log_file is not None:
        private_dir(log_file.parent)
        os.close(open_private(log_file, os.O_WRONLY | os.O_APPEND))  # created 0600 before the handler opens it
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    for handler in root.handlers:
        install_redaction(handler)
    quiet_header_loggers()
