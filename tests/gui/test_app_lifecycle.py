"""`qwenvoice --offline` as a user starts it: it connects to its own server, and closing it (SIGTERM goes
through the same window close) ends the session, the audio streams and the server child cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from tests.gui.helpers import pulse_available

pytestmark = [
    pytest.mark.audio,
    pytest.mark.offline,
    pytest.mark.skipif(not pulse_available(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)"),
]


def test_start_offline_then_close_leaves_nothing_behind(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QWENVOICE_DATA_DIR=str(tmp_path / "data"),
               QWENVOICE_CONFIG_DIR=str(tmp_path / "config"), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("DASHSCOPE_API_KEY", None)
    app = subprocess.Popen([sys.executable, "-m", "qwenvoice", "--offline", "-v"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ready = False
        deadline = time.monotonic() + 120
        seen: list[str] = []
        assert app.stderr is not None
        while time.monotonic() < deadline:
            line = app.stderr.readline()
            if not line:
                break
            seen.append(line)
            if "connection connected" in line:
                ready = True
                break
        assert ready, "".join(seen[-20:])
        children = psutil.Process(app.pid).children(recursive=True)
        servers = [c for c in children if "serve" in " ".join(c.cmdline())]
        assert servers, "the offline server runs as a child process"
        app.send_signal(15)
        app.stderr.close()
        assert app.wait(timeout=30) == 0
        for child in children:  # gone and reaped (a zombie would still be found)
            with pytest.raises(psutil.NoSuchProcess):
                psutil.Process(child.pid).status()
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    # Nothing was said in this run: it leaves no empty conversation behind for History to list.
    assert (tmp_path / "data" / "conversations").is_dir()
    assert list((tmp_path / "data" / "conversations").iterdir()) == []
