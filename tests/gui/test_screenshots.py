"""A real window under Xvfb (xcb, not offscreen): a screenshot of each main view in tests/artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.gui.helpers import pulse_available
from tests.support.display import x_display

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
VIEWS = ("conversation", "conversation-inspector", "studio", "history", "settings", "conversation-1024x700")


pytestmark = [
    pytest.mark.display,
    pytest.mark.audio,
    pytest.mark.offline,
    pytest.mark.skipif(x_display() is None, reason="needs an X display (Xvfb from .ci/devices.sh)"),
    pytest.mark.skipif(not pulse_available(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)"),
]


def test_each_main_view_is_rendered_on_a_real_display():
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    env.pop("DASHSCOPE_API_KEY", None)
    for view in VIEWS:
        (ARTIFACTS / f"{view}.png").unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-m", "tests.gui.shoot_views", str(ARTIFACTS)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=270)
    assert done.returncode == 0, done.stdout[-3000:]
    for view in VIEWS:
        image = QImage(str(ARTIFACTS / f"{view}.png"))
        assert not image.isNull(), view
        expected = (1024, 700) if view.endswith("1024x700") else (1280, 800)
        assert (image.width(), image.height()) == expected, view
        # a real picture, not an empty surface: many distinct colours
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 20, view
