"""Save WAV in the speech studio saves the user's text, whatever was previewed since."""

from __future__ import annotations

import wave

import pytest

from qwenvoice.session import status as st
from tests.gui.helpers import wait_for
from tests.reliability.helpers import TOKEN, make_controller
from tests.support.scripted_server import Script, ScriptedServer

pytestmark = pytest.mark.qt_loop

STUDIO_TEXT = "This is the text the user wrote in the studio. It has two sentences."


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


def _seconds(path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


async def test_save_after_a_voice_preview_saves_the_studio_text_not_the_preview(tmp_path):
    async with ScriptedServer(Script(tts_seconds_per_char=0.01), token=TOKEN) as server:
        c, _notices = make_controller(tmp_path, server.url)
        states: list[str] = []
        c.tts_state_changed.connect(lambda state, _detail: states.append(state))
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            c.speak(STUDIO_TEXT)
            await wait_for(lambda: states[-1:] == ["done"], what=lambda: states)
            studio = _seconds(c.save_speech(tmp_path / "studio.wav"))
            assert studio > 0.5
            await c.preview_voice(c.settings.connection.tts_model, c.settings.tts, "Hi.")
            again = _seconds(c.save_speech(tmp_path / "again.wav"))
            assert again == pytest.approx(studio, abs=0.01), "Save WAV saved the voice preview"
        finally:
            await c.shutdown()
