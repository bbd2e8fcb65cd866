"""Function calling in the window: each call is a card in the conversation (tool, arguments, result, time),
and a tool that acts asks inline before it runs. A real MainWindow with a real Controller against the offline
server on a model that takes tools, and the test MCP server for a tool that acts."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.localserver.server import BackgroundServer, ServeOptions
from qwenvoice.session import status as st
from qwenvoice.session.conversation import ASSISTANT
from qwenvoice.session.tool_calls import ToolCallReport
from qwenvoice.ui.main_window import MainWindow
from qwenvoice.ui.tool_cards import SHORT_CHARS, ToolCallCard
from tests.gui.helpers import TOKEN, wait_for

Q35 = "qwen3.5-omni-flash-realtime"
TEST_MCP = f"{sys.executable} -m tests.support.mcp_server"


@pytest.fixture(scope="module")
def offline() -> Iterator[BackgroundServer]:
    with BackgroundServer(ServeOptions(token=TOKEN)) as running:
        running.server.models.wait(120)
        yield running


@pytest.fixture
async def make_window(qtbot, tmp_path, monkeypatch, offline):
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    made: list[Controller] = []

    async def make(**options: object) -> MainWindow:
        controller = Controller(RunOptions(url=offline.url, model=Q35, mode="ptt", audio=False,
                                           data_root=tmp_path / "data", config_dir=tmp_path / "config",
                                           **options))  # type: ignore[arg-type]
        made.append(controller)
        controller.load_settings()
        win = MainWindow(controller)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        await controller.start()
        await wait_for(lambda: controller.connection.state == st.READY and controller.session_configured, 60)
        return win

    yield make
    for c in made:
        await c.shutdown()


def _replies(win: MainWindow) -> list[str]:
    return [t.text for t in win.controller.conversation.turns if t.role == ASSISTANT and t.final and t.text]


async def _type(win: MainWindow, text: str) -> str:
    before = len(_replies(win))
    win.text_box.setText(text)
    win.send_button.click()
    await wait_for(lambda: len(_replies(win)) > before and not win.controller.voice.tools.busy, 60,
                   what=lambda: [c.report for c in win.transcript.tool_cards.values()])
    return _replies(win)[-1]


def _rows(win: MainWindow) -> list[object]:
    """What the conversation shows, top to bottom: bubbles' roles and cards' tool names."""
    shown = []
    column = win.transcript._column
    for i in range(column.count()):
        row = column.itemAt(i).widget()
        if row is None or row is win.transcript.placeholder or row.isHidden():
            continue
        card = row.findChild(ToolCallCard)
        if card is not None:
            shown.append(card.report.name)
            continue
        bubble = next(b for b in win.transcript.bubbles if b.parent() is row)
        shown.append(bubble.turn.role)
    return shown


@pytest.mark.offline
async def test_the_time_question_shows_a_card_with_the_tools_output(make_window) -> None:
    win = await make_window()
    reply = await _type(win, "What time is it?")
    cards = list(win.transcript.tool_cards.values())
    assert len(cards) == 1
    card = cards[0]
    assert card.report.name == "get_current_time" and card.report.status == "ok"
    assert "get_current_time" in card.title.text() and "done" in card.state.text()
    assert card.isVisible() and card.result.isVisible() and not card.prompt.isVisible()
    output = card.report.output
    assert output and card.result.text() == output and output in reply  # the reply bubble carries the time
    assert f"{card.report.elapsed_s:.2f} s" in card.state.text()
    assert output in win.transcript.bubbles[-1].text.text()
    # the response that only called the tool leaves no empty bubble: the card stands for it
    assert _rows(win) == ["user", "get_current_time", "assistant"]


async def test_a_running_call_says_so_and_long_output_is_elided_with_the_full_text_at_hand(qtbot) -> None:
    from qwenvoice.ui.conversation import TranscriptView

    view = TranscriptView()
    qtbot.addWidget(view)
    view.show()
    card = view.show_tool_call(ToolCallReport("c1", "fetch_report", {"quarter": 3}, "running"))
    assert "running" in card.state.text() and card.result.isHidden() and card.expand_button.isHidden()
    assert '"quarter": 3' in card.arguments.text()
    long = "line of the report " * 60
    same = view.show_tool_call(ToolCallReport("c1", "fetch_report", {"quarter": 3}, "ok", output=long,
                                              elapsed_s=1.25))
    assert same is card and len(view.tool_cards) == 1
    assert "1.25 s" in card.state.text() and "running" not in card.state.text()
    assert card.result.text().endswith("…") and len(card.result.text()) <= SHORT_CHARS
    assert card.result.toolTip() == long and not card.expand_button.isHidden()
    card.expand_button.click()
    assert card.result.text() == long and card.expand_button.text() == "Show less"
    failed = view.show_tool_call(ToolCallReport("c2", "lookup_word", {}, "error", error="server went away",
                                                source="glossary"))
    assert "server went away" in failed.result.text() and "glossary" in failed.title.text()
    assert "failed" in failed.state.text()
    view.clear()
    assert not view.tool_cards


async def _ask_to_act(win: MainWindow, text: str) -> ToolCallCard:
    """Type ``text``; return the card once it asks whether the tool may run."""
    before = set(win.transcript.tool_cards)
    win.text_box.setText(text)
    win.send_button.click()

    def asking() -> ToolCallCard | None:
        return next((c for k, c in win.transcript.tool_cards.items() if k not in before and c.prompt.isVisible()),
                    None)

    await wait_for(asking, 60, what=lambda: [c.report for c in win.transcript.tool_cards.values()])
    card = asking()
    assert card is not None
    return card


async def _reply_after(win: MainWindow, replies_before: int) -> str:
    await wait_for(lambda: len(_replies(win)) > replies_before and not win.controller.voice.tools.busy, 60,
                   what=lambda: [c.report for c in win.transcript.tool_cards.values()])
    return _replies(win)[-1]


@pytest.mark.offline
async def test_a_tool_that_acts_asks_in_the_conversation_and_runs_once_allowed(make_window) -> None:
    win = await make_window(mcp=(TEST_MCP,))
    assert win.controller.approves_tools
    replies = len(_replies(win))
    card = await _ask_to_act(win, "Add a note to the notebook: buy milk")
    assert card.report.name == "add_note" and card.report.status == "running"
    assert "running" in card.state.text() and card.allow_button.isVisible() and card.deny_button.isVisible()
    assert card.request is not None and "milk" in card.request.arguments["text"]
    assert '"text"' in card.arguments.text()
    assert win.controller.voice.tools.busy  # it waits for the user; nothing blocks the window meanwhile
    card.allow_button.click()
    reply = await _reply_after(win, replies)
    note = card.report.arguments["text"]
    assert card.report.status == "ok" and card.report.output == f"noted: {note}"
    assert not card.prompt.isVisible() and "allowed" in card.state.text()
    assert card.result.text() == f"noted: {note}" and note in reply


@pytest.mark.offline
async def test_a_denied_tool_does_not_run_and_the_reply_says_so(make_window) -> None:
    win = await make_window(mcp=(TEST_MCP,))
    replies = len(_replies(win))
    card = await _ask_to_act(win, "Add a note to the notebook: buy milk")
    card.deny_button.click()
    reply = await _reply_after(win, replies)
    assert card.report.status == "denied" and "noted" not in card.report.output
    assert "denied" in reply and "denied" in card.state.text() and not card.prompt.isVisible()


@pytest.mark.offline
async def test_always_allow_runs_the_tool_again_without_asking(make_window) -> None:
    win = await make_window(mcp=(TEST_MCP,))
    replies = len(_replies(win))
    first = await _ask_to_act(win, "Add a note to the notebook: buy milk")
    first.always_button.click()
    await _reply_after(win, replies)
    assert first.report.status == "ok"
    replies = len(_replies(win))
    await _type(win, "Add a note to the notebook: call the plumber")
    second = list(win.transcript.tool_cards.values())[-1]
    assert second is not first and second.report.name == "add_note" and second.report.status == "ok"
    assert second.report.output.startswith("noted:") and "plumber" in second.report.output
    assert not second.prompt.isVisible()
    assert "always" in second.state.text()
    assert len(_replies(win)) > replies
