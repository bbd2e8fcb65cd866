from qwenvoice.cli import build_gui_parser, build_parser
from qwenvoice.logsetup import redact, register_secret


def test_stable_subcommands_parse():
    p = build_parser()
    a = p.parse_args(["speak", "hello", "--out", "x.wav", "--mode", "commit", "--speech-rate", "1.5"])
    assert (a.command, a.text, a.out, a.mode, a.speech_rate) == ("speak", "hello", "x.wav", "commit", 1.5)
    a = p.parse_args(["ask", "--wav", "q.wav", "--out", "r.wav", "--manual"])
    assert a.manual and a.wav == "q.wav"
    a = p.parse_args(["serve", "--port", "9000", "--token", "t"])
    assert (a.port, a.token, a.host) == (9000, "t", "127.0.0.1")
    g = build_gui_parser().parse_args(["--offline", "--mode", "ptt"])
    assert g.offline and g.mode == "ptt"


def test_redaction_scrubs_bearer_tokens_and_registered_keys():
    register_secret("my-very-secret-key-123")
    line = "GET /x\r\nAuthorization: Bearer my-very-secret-key-123\r\nHost: a"
    out = redact(line)
    assert "my-very-secret-key-123" not in out and "Authorization: Bearer ***" in out
    assert "sk-abcdef123456" not in redact("key sk-abcdef123456 used")


def test_the_offline_server_command_carries_no_token():
    # The app hands the token over in the environment (argv is readable by every local user).
    from qwenvoice.session.offline_server import serve_command

    cmd = serve_command()
    args = build_parser().parse_args(cmd[cmd.index("serve") :])
    assert args.token is None and not any("token" in part for part in cmd)
