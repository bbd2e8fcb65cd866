"""Screenshots of every settings tab on a real X server (Xvfb), for people to look at.

Runs the panel in a child process with the xcb platform (the test process itself uses offscreen)
and checks that each picture was drawn: right size, many colours, text pixels present. The PNGs
land in tests/artifacts/settings/ (not committed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from qwenvoice.ui.settings_panel import TAB_KEYS
from tests.support.display import x_display

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "settings"


def _distinct_colours(image: QImage, step: int = 7) -> int:
    seen = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            seen.add(image.pixel(x, y))
    return len(seen)


@pytest.mark.display
@pytest.mark.skipif(x_display() is None, reason="needs an X display (source .ci/devices.sh)")
def test_every_settings_tab_renders_on_a_real_display():
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    result = subprocess.run(
        [sys.executable, "-m", "tests.gui.settings_screenshots", str(ARTIFACTS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    prefixes = ("light-en", "dark-en", "light-zh_CN", "invalid")
    expected = [f"{prefix}-{tab}.png" for prefix in prefixes for tab in TAB_KEYS]
    for name in expected:
        image = QImage(str(ARTIFACTS / name))
        assert not image.isNull(), name
        assert (image.width(), image.height()) == (1024, 700), name
        assert _distinct_colours(image) > 12, f"{name} looks blank"
    light = QImage(str(ARTIFACTS / "light-en-conversation.png"))
    dark = QImage(str(ARTIFACTS / "dark-en-conversation.png"))
    # The window background follows the theme.
    assert light.pixelColor(5, 690).lightness() > 180 and dark.pixelColor(5, 690).lightness() < 80
