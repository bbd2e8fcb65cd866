"""The user's own files: what we create for them is readable by them alone.

Conversations (transcripts, microphone audio, event logs), log files and the settings folder hold
private words and voices. Folders we create are 0700 and files 0600, whatever the umask;
:func:`tighten_tree` takes group and other bits off what an older version left behind, without
following symlinks (what a link points at is not ours to change).

Stdlib only and no Qt, like ``runtime.py``: the audio, settings and session layers and the log set-up
all use it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_OTHERS = 0o077  # group and other permission bits


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents as 0700; folders that exist already keep their mode."""
    missing: list[Path] = []
    here = path
    while not os.path.lexists(here):
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile by someone else: theirs to keep as it is
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode went through the umask
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open(path, flags | O_CREAT)`` creating the file 0600; a file that exists loses group and
    other bits. Returns the descriptor (wrap it with ``os.fdopen``)."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE)
    with contextlib.suppress(OSError):  # not our file (another owner): open it as it is
        _tighten_fd(fd)
    return fd


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, replacing what was there; the file is 0600."""
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "w", encoding="utf-8") as fh:
        fh.write(text)


def _tighten_fd(fd: int) -> bool:
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if not mode & _OTHERS:
        return False
    os.fchmod(fd, mode & ~_OTHERS)
    return True


def _tighten_entry(path: str, is_dir: bool) -> bool:
    """Take group/other bits off one folder or regular file; opened with O_NOFOLLOW, so a symlink put
    in its place meanwhile is left alone."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_DIRECTORY if is_dir else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        log.debug("could not open %s to tighten its mode: %s", path, exc)
        return False
    try:
        kind = os.fstat(fd).st_mode
        if not (stat.S_ISDIR(kind) if is_dir else stat.S_ISREG(kind)):
            return False
        return _tighten_fd(fd)
    except OSError as exc:
        log.debug("could not tighten %s: %s", path, exc)
        return False
    finally:
        os.close(fd)


def tighten_tree(root: Path) -> int:
    """Take group/other bits off ``root`` and every folder and regular file under it; symlinks are
    neither followed nor changed. Returns how many entries changed; never raises."""
    try:
        if not stat.S_ISDIR(os.lstat(root).st_mode):
            return 0
    except OSError:
        return 0
    changed = int(_tighten_entry(str(root), True))
    for folder, dirs, files in os.walk(root, followlinks=False):  # a folder before what it holds
        for name in (*dirs, *files):
            full = os.path.join(folder, name)
            try:
                kind = os.lstat(full).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(kind) or stat.S_ISREG(kind):
                changed += _tighten_entry(full, stat.S_ISDIR(kind))
    if changed:
        log.info("made %d file(s) and folder(s) under %s private to this user", changed, root)
    return changed


__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "open_private", "private_dir", "tighten_tree", "write_private_text"]
