"""Function calling in a VoiceSession: which models are offered tools, and the documented flow against the
offline server (function_call → the tool runs → function_call_output + response.create → an answer that
carries the output), with built-in tools and a real MCP server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import pytest

from qwenvoice.localserver.server import BackgroundServer, ServeOptions
from qwenvoice.session.conversation import ASSISTANT
from qwenvoice.session.tool_calls import ToolApprovalRequest, ToolCallReport
from qwenvoice.session.voice import RunOptions, VoiceSession
from tests.reliability.helpers import TEST_CONNECT, TOKEN
from tests.session.test_voice_session import Recorder, until
from tests.support.scripted_server import Script, ScriptedServer

Q35 = "qwen3.5-omni-flash-realtime"
TEST_MCP = f"{sys.executable} -m tests.support.mcp_server"


class ToolRecorder(Recorder):
    def __init__(self, approve: bool | None = False) -> None:
        super().__init__()
        self.calls: list[ToolCallReport] = []
        self.approvals: list[ToolApprovalRequest] = []
        self.approve = approve

    def tool_called(self, report: ToolCallReport) -> None:
        self.calls.append(report)

    def tool_approval_requested(self, request: ToolApprovalRequest) -> None:
        self.approvals.append(request)
        if self.approve is not None:
            request.answer(self.approve)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


def _session(tmp_path, url: str, listener: Recorder, model: str, **options: object) -> VoiceSession:
    session = VoiceSession(listener, RunOptions(url=url, model=model, audio=False, data_root=tmp_path / "data",
                                                config_dir=tmp_path / "config", connect_options=TEST_CONNECT,
                                                **options))  # type: ignore[arg-type]
    session.load_settings()
    return session


@pytest.mark.parametrize("model", ["qwen3-omni-flash-realtime", "qwen-omni-turbo-realtime", Q35])
async def test_only_models_that_take_tools_are_offered_them(tmp_path, model: str) -> None:
    async with ScriptedServer(Script(), token=TOKEN) as server:
        rec = ToolRecorder()
        session = _session(tmp_path, server.url, rec, model)
        try:
            await session.start()
            await until(lambda: session.ready and server.received("session.update"))
        finally:
            await session.shutdown()
        sent = server.received("session.update")[0]["session"]
    if model == Q35:
        names = [t["function"]["name"] for t in sent["tools"]]
        assert "get_current_time" in names and sent["tool_choice"] == "auto"
        assert all(t["type"] == "function" and t["function"]["parameters"]["type"] == "object" for t in sent["tools"])
    else:
        assert "tools" not in sent and "tool_choice" not in sent
    assert not [text for level, text in rec.notices if level == "error"]


@pytest.fixture(scope="module")
def offline() -> Iterator[BackgroundServer]:
    with BackgroundServer(ServeOptions(token=TOKEN)) as running:
        running.server.models.wait(120)
        yield running


def _replies(session: VoiceSession) -> list[str]:
    return [t.text for t in session.conversation.turns if t.role == ASSISTANT and t.final and t.text]


async def _ask(session: VoiceSession, rec: ToolRecorder, text: str, within: float = 60.0) -> str:
    await until(lambda: session.ready, within=30)
    before = len(_replies(session))
    session.send_text(text)
    await until(lambda: len(_replies(session)) > before and not session.tools.busy, within=within,
                what=lambda: (rec.calls, rec.notices))
    return _replies(session)[-1]


@pytest.mark.offline
@pytest.mark.parametrize("mode", ["vad", "ptt"])
async def test_the_time_question_calls_the_builtin_tool(tmp_path, offline: BackgroundServer, mode: str) -> None:
    rec = ToolRecorder()
    session = _session(tmp_path, offline.url, rec, Q35, mode=mode)
    try:
        await session.start()
        reply = await _ask(session, rec, "What time is it?")
    finally:
        await session.shutdown()
    done = [c for c in rec.calls if c.done]
    assert [c.name for c in done] == ["get_current_time"] and done[0].status == "ok"
    assert [c.status for c in rec.calls if not c.done] == ["running"]
    assert done[0].output and done[0].output in reply  # the answer carries the tool's output
    assert "time zone" in reply


@pytest.mark.offline
async def test_an_mcp_servers_tool_is_called_and_its_result_spoken(tmp_path, offline: BackgroundServer) -> None:
    rec = ToolRecorder(approve=False)
    session = _session(tmp_path, offline.url, rec, Q35, mcp=(TEST_MCP, f"{TEST_MCP} --fail-start"))
    try:
        await session.start()
        assert session.tools.registry.get("lookup_word") is not None
        reply = await _ask(session, rec, "Please look up the word zephyr in the glossary.")
        assert "glossary entry 7431" in reply
        # a tool that acts asks the listener; refused, the model is told so and says it
        refused = await _ask(session, rec, "Add a note to the notebook: buy milk")
    finally:
        await session.shutdown()
    assert [c.name for c in rec.calls if c.done] == ["lookup_word", "add_note"]
    assert [a.name for a in rec.approvals] == ["add_note"]
    assert "denied" in refused and rec.calls[-1].status == "denied"
    assert any("could not start" in text and "no database configured" in text for _, text in rec.notices)
    assert not session.tools.mcp.servers  # stopped with the session


@pytest.mark.offline
async def test_stop_cancels_a_running_tool(tmp_path, offline: BackgroundServer) -> None:
    from qwenvoice.tools.registry import Tool

    started = asyncio.Event()

    async def slow(_args: dict[str, object]) -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    rec = ToolRecorder()
    session = _session(tmp_path, offline.url, rec, Q35)
    session.tools.registry.add(Tool("fetch_report", "Fetch the quarterly report slowly", {"type": "object"},
                                    True, slow))
    try:
        await session.start()
        await until(lambda: session.ready, within=30)
        session.send_text("Fetch the quarterly report")
        await asyncio.wait_for(started.wait(), 30)
        session.stop()
        await until(lambda: any(c.status == "cancelled" for c in rec.calls))
        assert not session.tools.busy
    finally:
        await session.shutdown()
