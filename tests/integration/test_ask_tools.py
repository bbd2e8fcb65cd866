"""`qwenvoice ask` with tools, end to end: a spoken question (synthesised, then heard by the offline
server's ASR) makes the qwen3.5 model call a real MCP server's tool (--mcp) and the printed reply carries
its result; a tool that acts is refused without --allow-tools and runs with it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwenvoice.audio.wav import write_wav
from qwenvoice.cli import build_parser
from qwenvoice.commands.ask import run_ask
from qwenvoice.localserver.server import BackgroundServer, ServeOptions
from qwenvoice.localserver.speech import SpeechStyle

pytestmark = pytest.mark.offline

TOKEN = "ask-tools-token"
TEST_MCP = f"{sys.executable} -m tests.support.mcp_server"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    monkeypatch.setenv("QWENVOICE_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("QWENVOICE_ASK_PACE", "0")


@pytest.fixture(scope="module")
def offline() -> Iterator[BackgroundServer]:
    with BackgroundServer(ServeOptions(token=TOKEN)) as running:
        running.server.models.wait(120)
        yield running


def _spoken(offline: BackgroundServer, text: str, path: Path) -> Path:
    synthesizer = offline.server.models.synthesizer
    assert synthesizer is not None
    pcm = synthesizer.synthesize(text, SpeechStyle(language_type="English"), 16000)
    write_wav(path, pcm.tobytes() + bytes(16000), 16000)  # and half a second of silence
    return path


def _ask(offline: BackgroundServer, wav: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str,
                                                                                                         str]:
    args = build_parser().parse_args(["ask", "--wav", str(wav), "--manual", "--url", offline.url, "--model",
                                      "qwen3.5-omni-flash-realtime", "--timeout", "60", *extra])
    code = run_ask(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_calls_the_mcp_servers_tool(tmp_path: Path, offline: BackgroundServer,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    wav = _spoken(offline, "Look up the word harbor in the glossary.", tmp_path / "q.wav")
    code, out, err = _ask(offline, wav, capsys, "--mcp", TEST_MCP)
    assert code == 0, err
    assert "tool: lookup_word(word=" in out
    assistant = [line for line in out.splitlines() if line.startswith("assistant:")]
    assert assistant and "glossary entry 5120" in assistant[-1]


def test_ask_refuses_a_tool_that_acts_unless_allowed(tmp_path: Path, offline: BackgroundServer,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    wav = _spoken(offline, "Add a note to the notebook saying buy milk.", tmp_path / "q.wav")
    code, out, err = _ask(offline, wav, capsys, "--mcp", TEST_MCP)
    assert code == 0, err
    assert "tool: add_note(" in out and "-> denied:" in out and "--allow-tools" in out
    assert "noted:" not in out
    code, out, err = _ask(offline, wav, capsys, "--mcp", TEST_MCP, "--allow-tools")
    assert code == 0, err
    assert "-> noted: milk" in out
    assistant = [line for line in out.splitlines() if line.startswith("assistant:")]
    assert assistant and "noted: milk" in assistant[-1]


def test_ask_names_an_mcp_server_that_cannot_start(tmp_path: Path, offline: BackgroundServer,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    wav = _spoken(offline, "What time is it?", tmp_path / "q.wav")
    code, out, err = _ask(offline, wav, capsys, "--mcp", f"{TEST_MCP} --fail-start")
    assert code == 0, err
    assert "could not start" in err and "no database configured" in err
    assert "tool: get_current_time() ->" in out
