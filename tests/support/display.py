"""Whether an X server really answers on $DISPLAY (a socket file alone may be left by a dead one)."""

from __future__ import annotations

import os
import socket


def x_display() -> str | None:
    """$DISPLAY when a local X server accepts a connection on it, else None."""
    display = os.environ.get("DISPLAY", "")
    if not display.startswith(":"):
        return None
    path = f"/tmp/.X11-unix/X{display[1:].split('.')[0]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(path)
        except OSError:
            return None
    return display
