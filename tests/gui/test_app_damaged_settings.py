"""A damaged settings file (not UTF-8, nested too deep) must not keep the window from starting: the app
starts on defaults, keeps the file aside and says so in its log."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest


@pytest.mark.parametrize(
    "content",
    ['{"ui": {"theme": "dark"}, "omni": {"instructions": "café"}}'.encode("latin-1"),
     b"[" * 100_000 + b"]" * 100_000],
    ids=["latin-1", "nested-lists"],
)
def test_the_app_starts_on_a_damaged_settings_file(tmp_path, content):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_bytes(content)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QWENVOICE_DATA_DIR=str(tmp_path / "data"),
               QWENVOICE_CONFIG_DIR=str(config), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), PULSE_SERVER="unix:/nonexistent")
    env.pop("DASHSCOPE_API_KEY", None)
    # A closed port: the window starts and keeps trying to connect; no offline server is needed.
    app = subprocess.Popen([sys.executable, "-m", "qwenvoice", "--url", "ws://127.0.0.1:9/api-ws/v1/realtime",
                            "-v"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    try:
        assert app.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = app.stderr.readline()
            if not line:
                break
            seen.append(line)
            if "connection connecting" in line:
                break
        assert any("connection connecting" in line for line in seen), "".join(seen[-30:])
        assert any("damaged" in line for line in seen), "".join(seen[-30:])
        app.send_signal(15)
        app.stderr.close()
        assert app.wait(timeout=30) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    kept = [p for p in config.iterdir() if p.name.startswith("settings.json.corrupt-")]
    assert len(kept) == 1 and kept[0].read_bytes() == content
