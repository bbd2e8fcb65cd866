"""Each documented model family, chosen with ``--model``, gets a reply from a server that enforces the
documented per-model rules (``Script(enforce_model_rules=True)``); qwen3.8 needs a workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwenvoice.cli import build_parser
from qwenvoice.commands.ask import run_ask
from qwenvoice.commands.speak import run_speak
from qwenvoice.net.endpoints import EndpointError, resolve_endpoint
from qwenvoice.session.endpoint import choose_endpoint, workspace_problem
from qwenvoice.settings.schema import ConnectionSettings
from tests.support.scripted_server import Script, ScriptedServer, model_rule_violation, speech_like_pcm

FAMILIES = ["qwen3-omni-flash-realtime", "qwen3.5-omni-flash-realtime", "qwen3.5-omni-plus-realtime",
            "qwen-omni-turbo-realtime"]


@pytest.fixture(autouse=True)
def no_real_key(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    monkeypatch.setenv("QWENVOICE_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))  # no saved settings
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("QWENVOICE_ASK_PACE", "0")
    monkeypatch.setenv("QWENVOICE_SPEAK_PACE", "0")


@pytest.fixture
def question(tmp_path: Path) -> Path:
    from qwenvoice.audio.wav import write_wav

    path = tmp_path / "question.wav"
    write_wav(path, speech_like_pcm(16000), 16000)
    return path


def test_the_enforcing_server_refuses_what_the_docs_refuse() -> None:
    """The server's own rules, so a test against it can fail."""
    assert model_rule_violation("qwen3.5-omni-plus-realtime", {"voice": "Cherry"})["param"] == "session.voice"
    assert model_rule_violation("qwen3.5-omni-flash-realtime",
                                {"input_audio_transcription": {"model": "gummy-realtime-v1"}}) is not None
    assert model_rule_violation("qwen-omni-turbo-realtime", {"output_audio_format": "pcm24"}) is not None
    assert model_rule_violation("qwen-omni-turbo-realtime", {"voice": "Momo"}) is not None
    assert model_rule_violation("qwen3-omni-flash-realtime", {"voice": "Tina"}) is not None
    assert model_rule_violation("qwen3.8-omni-flash-realtime", {"output_audio_format": "pcm"}) is not None
    assert model_rule_violation("qwen3-omni-flash-realtime", {"tools": [{"type": "function"}]}) is not None
    assert model_rule_violation("qwen-omni-turbo-realtime",
                                {"voice": "Chelsie", "output_audio_format": "pcm16"}) is None


@pytest.mark.parametrize("manual", [False, True], ids=["vad", "manual"])
@pytest.mark.parametrize("model", FAMILIES)
def test_ask_gets_a_reply_from_each_family(model: str, manual: bool, question: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(Script(enforce_model_rules=True)).in_thread() as server:
        argv = ["ask", "--wav", str(question), "--out", str(tmp_path / "reply.wav"), "--url", server.url,
                "--model", model, "--timeout", "20"]
        code = run_ask(build_parser().parse_args(argv + (["--manual"] if manual else [])))
    out, err = capsys.readouterr()
    sent = [m for m in server.connections[0].received if m["type"] == "session.update"]
    assert code == 0, (err, sent)
    assert "assistant: It is sunny and warm today." in out
    assert "error" not in server.connections[0].sent_types
    session = sent[0]["session"]
    assert model_rule_violation(model, session) is None


def test_ask_says_when_the_saved_voice_is_not_the_models(question: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(Script(enforce_model_rules=True)).in_thread() as server:
        argv = ["ask", "--wav", str(question), "--url", server.url, "--model", "qwen3.5-omni-plus-realtime"]
        assert run_ask(build_parser().parse_args(argv)) == 0
    err = capsys.readouterr().err
    assert "Cherry is not offered by qwen3.5-omni-plus-realtime" in err and "Tina" in err
    assert server.received("session.update")[0]["session"]["voice"] == "Tina"


def test_ask_refuses_an_explicit_voice_the_model_refuses(question: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["ask", "--wav", str(question), "--url", "ws://127.0.0.1:9/", "--model", "qwen3.5-omni-flash-realtime",
            "--voice", "Cherry"]
    assert run_ask(build_parser().parse_args(argv)) == 2
    assert "--voice Cherry" in capsys.readouterr().err


def test_ask_with_qwen38_without_a_workspace_stops_before_connecting(
        question: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test-not-a-real-key")
    argv = ["ask", "--wav", str(question), "--model", "qwen3.8-omni-flash-realtime", "--timeout", "5"]
    assert run_ask(build_parser().parse_args(argv)) == 2
    err = capsys.readouterr().err
    assert "Workspace ID" in err and "--workspace" in err


def test_qwen38_through_a_url_uses_the_nested_dialect(question: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(Script(enforce_model_rules=True)).in_thread() as server:
        argv = ["ask", "--wav", str(question), "--url", server.url, "--model", "qwen3.8-omni-flash-realtime",
                "--manual", "--timeout", "20"]
        code = run_ask(build_parser().parse_args(argv))
    assert code == 0, capsys.readouterr().err
    session = server.received("session.update")[0]["session"]
    assert "voice" not in session and session["audio"]["output"]["format"]["type"] == "pcm"


def test_workspace_endpoints_from_the_flags_and_the_settings() -> None:
    saved = ConnectionSettings()
    assert choose_endpoint(saved, url=None, offline=False, api_key="k").url == (
        "wss://dashscope.aliyuncs.com/api-ws/v1/realtime")
    choice = choose_endpoint(saved, url=None, offline=False, api_key="k", workspace="ws-7", region="singapore")
    assert choice.url == "wss://ws-7.ap-southeast-1.maas.aliyuncs.com/api-ws/v1/realtime" and choice.workspace
    assert workspace_problem(choice, "qwen3.8-omni-flash-realtime") is None
    saved_ws = ConnectionSettings(workspace_id="ws-8")
    choice = choose_endpoint(saved_ws, url=None, offline=False, api_key="k")
    assert choice.url == "wss://ws-8.cn-beijing.maas.aliyuncs.com/api-ws/v1/realtime"
    plain = choose_endpoint(saved, url=None, offline=False, api_key="k", region="singapore")
    assert plain.url == "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime"
    assert "Workspace ID" in (workspace_problem(plain, "qwen3.8-omni-flash-realtime") or "")
    assert workspace_problem(plain, "qwen3.5-omni-plus-realtime") is None
    assert resolve_endpoint("m", workspace="ws-1", region="beijing").url == (
        "wss://ws-1.cn-beijing.maas.aliyuncs.com/api-ws/v1/realtime?model=m")
    with pytest.raises(EndpointError):
        resolve_endpoint("m", workspace="bad.host", region="beijing")
    assert ConnectionSettings(workspace_id="a b").problems()[0].field == "connection.workspace_id"


def test_cli_takes_workspace_and_region(capsys: pytest.CaptureFixture[str]) -> None:
    from qwenvoice.cli import build_gui_parser

    for argv in (["ask", "--wav", "x.wav"], ["speak", "hi", "--out", "x.wav"]):
        args = build_parser().parse_args([*argv, "--workspace", "ws-1", "--region", "singapore"])
        assert (args.workspace, args.region) == ("ws-1", "singapore")
    gui = build_gui_parser().parse_args(["--workspace", "ws-1", "--region", "beijing"])
    assert (gui.workspace, gui.region) == ("ws-1", "beijing")
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["ask", "--wav", "x.wav", "--workspace", "not/an/id"])
    assert exited.value.code == 2


@pytest.mark.parametrize(("model", "voice"), [("qwen3-tts-flash-realtime", "Cherry"),
                                              ("qwen-tts-realtime", "Cherry")])
def test_speak_gets_audio_from_the_enforcing_server(model: str, voice: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(Script(enforce_model_rules=True)).in_thread() as server:
        argv = ["speak", "Hello there.", "--out", str(tmp_path / "o.wav"), "--url", server.url, "--model", model]
        assert run_speak(build_parser().parse_args(argv)) == 0, capsys.readouterr().err
    assert server.received("session.update")[0]["session"]["voice"] == voice
