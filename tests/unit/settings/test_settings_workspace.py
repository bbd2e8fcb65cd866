"""The workspace setting: declared once (so the form shows it), checked, saved and used for the endpoint."""

from __future__ import annotations

from qwenvoice.settings import fields
from qwenvoice.settings.coerce import LoadNotice
from qwenvoice.settings.schema import AppSettings, ConnectionSettings, sanitize, settings_from_dict, settings_to_dict


def test_the_workspace_field_is_declared_for_the_form() -> None:
    spec = fields.field("connection.workspace_id")
    assert spec.control is fields.Control.LINE and "Workspace" in spec.label and spec.default == ""


def test_workspace_endpoint_per_region() -> None:
    assert ConnectionSettings(workspace_id="ws-1").endpoint_url() == (
        "wss://ws-1.cn-beijing.maas.aliyuncs.com/api-ws/v1/realtime")
    assert ConnectionSettings(region="singapore", workspace_id="ws-1").endpoint_url() == (
        "wss://ws-1.ap-southeast-1.maas.aliyuncs.com/api-ws/v1/realtime")
    assert ConnectionSettings(region="custom", custom_url="wss://x/y", workspace_id="ws-1").endpoint_url() == "wss://x/y"
    assert ConnectionSettings().endpoint_url() == "wss://dashscope.aliyuncs.com/api-ws/v1/realtime"


def test_a_bad_workspace_is_a_field_problem_and_is_reset_on_load() -> None:
    settings = AppSettings()
    settings.connection.workspace_id = "evil.example.com/"
    assert "connection.workspace_id" in fields.problems_by_field(settings)
    notices: list[LoadNotice] = []
    assert sanitize(settings, notices).connection.workspace_id == ""
    assert notices


def test_the_workspace_is_saved_and_loaded() -> None:
    settings = AppSettings()
    settings.connection.workspace_id = "ws-9"
    notices: list[LoadNotice] = []
    assert settings_from_dict(settings_to_dict(settings), notices).connection.workspace_id == "ws-9"
    assert not notices


def test_a_saved_voice_the_model_lacks_becomes_its_default_with_a_notice() -> None:
    from qwenvoice.settings.schema import validate

    settings = AppSettings()
    settings.connection.omni_model = "qwen3.5-omni-plus-realtime"  # the saved voice is still Cherry
    problems = validate(settings)
    assert [p.field for p in problems] == ["omni.voice"]
    notices: list[LoadNotice] = []
    fixed = sanitize(settings, notices)
    assert fixed.omni.voice == "Tina" and fixed.connection.omni_model == "qwen3.5-omni-plus-realtime"
    assert [n for n in notices if "Cherry" in str(n)]
