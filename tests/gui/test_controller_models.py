"""The window (a real Controller) with ``--model`` for each documented family connects with no server
error to a server that enforces the documented per-model rules; qwen3.8 needs a workspace."""

from __future__ import annotations

import pytest

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.session import status as st
from tests.gui.helpers import TOKEN, wait_for
from tests.support.scripted_server import Script, ScriptedServer

FAMILIES = ["qwen3-omni-flash-realtime", "qwen3-omni-flash-realtime-2025-09-15", "qwen3.5-omni-plus-realtime",
            "qwen3.5-omni-flash-realtime", "qwen-omni-turbo-realtime", "qwen3.8-omni-flash-realtime"]


@pytest.fixture
async def make_controller(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    monkeypatch.setenv("QWENVOICE_CONFIG_DIR", str(tmp_path / "config"))
    made: list[Controller] = []

    def make(**options) -> Controller:
        c = Controller(RunOptions(audio=False, data_root=tmp_path / "data", config_dir=tmp_path / "config",
                                  **options))
        made.append(c)
        return c

    yield make
    for c in made:
        await c.shutdown()


@pytest.mark.parametrize("mode", ["vad", "ptt"])
@pytest.mark.parametrize("model", FAMILIES)
async def test_window_connects_to_each_family_without_a_server_error(make_controller, model, mode):
    async with ScriptedServer(Script(enforce_model_rules=True), token=TOKEN) as server:
        c = make_controller(url=server.url, model=model, mode=mode)
        notices: list[tuple[str, str]] = []
        c.notice.connect(lambda level, text, _action: notices.append((level, text)))
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY and c.session_configured,
                       what=lambda: (notices, server.connections[0].sent_types if server.connections else None))
        assert "error" not in server.connections[0].sent_types, notices
        assert f"model={model}" in server.connections[0].path
        assert not [text for level, text in notices if level == st.ERROR]


async def test_window_says_the_saved_voice_was_replaced(make_controller):
    async with ScriptedServer(Script(enforce_model_rules=True), token=TOKEN) as server:
        c = make_controller(url=server.url, model="qwen3.5-omni-flash-realtime")
        notices: list[str] = []
        c.notice.connect(lambda _level, text, _action: notices.append(text))
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY and c.session_configured)
        assert any("Cherry" in n and "Tina" in n for n in notices), notices
        assert server.received("session.update")[0]["session"]["voice"] == "Tina"


async def test_window_names_an_unknown_models_rules_as_unknown(make_controller):
    async with ScriptedServer(Script(enforce_model_rules=True), token=TOKEN) as server:
        c = make_controller(url=server.url, model="qwen9-omni-realtime")
        notices: list[str] = []
        c.notice.connect(lambda _level, text, _action: notices.append(text))
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY and c.session_configured)
        assert any("rules of model qwen9-omni-realtime are not known" in n for n in notices), notices


async def test_window_with_qwen38_without_a_workspace_stops_before_connecting(make_controller):
    c = make_controller(model="qwen3.8-omni-flash-realtime")
    notices: list[tuple[str, str]] = []
    c.notice.connect(lambda level, text, _action: notices.append((level, text)))
    await c.start()
    assert c.connection.state == st.FAILED
    assert any(level == st.ERROR and "Workspace ID" in text for level, text in notices), notices
    assert c.voice.client is None  # nothing was opened

