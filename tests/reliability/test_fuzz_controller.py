"""Property tests (Hypothesis) against the running controller: arbitrary settings input and arbitrary
server events never crash it or freeze the loop, and what is wrong is always said clearly.

One scripted server and one controller serve every example of a test (starting them per example
would make the run minutes long); each example drives them on a qasync loop this module owns.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import math
import os
import typing
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from qwenvoice.net.client import ConnectOptions
from qwenvoice.protocol.codec import decode_server_event, event_to_wire
from qwenvoice.protocol.config import ConfigError
from qwenvoice.protocol.events import SERVER_EVENT_TYPES, ErrorEvent, SessionFinished
from qwenvoice.protocol.models import omni_capabilities
from qwenvoice.session import status as app_status
from qwenvoice.settings.schema import validate
from tests.gui.helpers import wait_for
from tests.reliability.helpers import TOKEN, ErrorLog, make_controller
from tests.support.scripted_server import Script, ScriptedServer

# QWENVOICE_FUZZ_SHRINK=0 reports the first failing example as found (shrinking a stateful run is slow).
PHASES = [p for p in Phase if p is not Phase.shrink or os.environ.get("QWENVOICE_FUZZ_SHRINK", "1") == "1"]
HYPOTHESIS = settings(max_examples=100, phases=PHASES, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class Harness:
    """A qasync loop with a scripted server and a started controller, plus a loop-lateness probe."""

    def __init__(self, tmp: Path) -> None:
        import qasync
        from PySide6.QtWidgets import QApplication

        self.loop = qasync.QEventLoop(QApplication.instance() or QApplication([]))
        asyncio.set_event_loop(self.loop)
        asyncio.events._set_running_loop(None)
        self.server = ScriptedServer(Script(reply_seconds=0.2, max_session_seconds=900.0), token=TOKEN)
        self.run(self.server.start())
        # The loop only runs inside run(): between examples it stands still, so no short keepalive.
        connect = ConnectOptions(ping_interval=60.0, ping_timeout=60.0, renew_after=None)
        self.c, self.notices = make_controller(tmp, self.server.url, connect=connect)
        self.run(self.c.start())
        self.run(wait_for(lambda: self.c.connection.state == app_status.READY))
        self.worst_lateness = 0.0
        self.baseline = self.c.settings.copy()

    def run(self, coro: Coroutine[Any, Any, Any], limit: float = 30.0) -> Any:
        asyncio.events._set_running_loop(None)  # run_forever sets it again
        # Not run_until_complete: qasync's version processes Qt events once more after the loop has
        # stopped, so a task step could run with no running loop (a harness artefact, not the app's).
        future = asyncio.ensure_future(asyncio.wait_for(coro, limit), loop=self.loop)
        future.add_done_callback(lambda _: self.loop.stop())
        self.loop.run_forever()
        # Between runs pytest-qt (and qasync itself) may process Qt events, which runs this loop's
        # callbacks; they must still find it as the running loop, as they would in the app.
        asyncio.events._set_running_loop(self.loop)
        return future.result()

    async def settle(self, predicate: Any, within: float = 10.0) -> None:
        """Wait for ``predicate`` while measuring how late a 20 ms timer fires (a frozen loop shows)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not predicate():
            before = loop.time()
            await asyncio.sleep(0.02)
            self.worst_lateness = max(self.worst_lateness, loop.time() - before - 0.02)
            if loop.time() > deadline:
                raise AssertionError(f"the controller did not settle in time; {self.describe()}")

    def describe(self) -> str:
        c = self.c
        consumer = c.voice.link.consumer
        ended = consumer is not None and consumer.done() and not consumer.cancelled()
        problem = consumer.exception() if ended and consumer is not None else None
        return (f"connection {c.connection.state} {c.connection.detail!r}, client {c.client!r}, consumer done "
                f"{consumer.done() if consumer else None} ({problem!r}), events in {c.eventlog.counts}")

    def close(self) -> None:
        try:
            self.run(self.c.shutdown())
            self.run(self.server.stop())
        finally:
            asyncio.events._set_running_loop(None)
            self.loop.close()
            asyncio.set_event_loop(None)


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """One per test (shared by its examples). Not per module: between tests pytest-qt processes Qt
    events, which would run this loop's callbacks while it is not running."""
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    monkeypatch.setenv("QWENVOICE_CONFIG_DIR", str(tmp_path / "config"))
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


# ------------------------------------------------------------------ settings input

MODEL = "qwen3-omni-flash-realtime"
wild_float = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-2.0, 2.0))
wild_int = st.one_of(st.integers(-10_000, 20_000), st.integers())
optional = st.none

OMNI_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "voice": st.one_of(st.sampled_from(omni_capabilities(MODEL).voices), st.text(max_size=20)),
    "instructions": st.one_of(st.text(max_size=200), st.text(alphabet="长文本指令", min_size=1500, max_size=2200)),
    "modalities": st.sampled_from([("text", "audio"), ("text",), ("audio",), (), ("audio", "video")]),
    "vad_threshold": wild_float,
    "silence_duration_ms": wild_int,
    "prefix_padding_ms": wild_int,
    "temperature": st.one_of(optional(), wild_float),
    "top_p": st.one_of(optional(), wild_float),
    "top_k": st.one_of(optional(), wild_int),
    "max_tokens": st.one_of(optional(), wild_int),
    "repetition_penalty": st.one_of(optional(), wild_float),
    "presence_penalty": st.one_of(optional(), wild_float),
    "seed": st.one_of(optional(), wild_int),
}
settings_input = st.fixed_dictionaries(
    {},
    optional={
        **{f"omni.{k}": v for k, v in OMNI_FIELDS.items()},
        "audio.output_volume": st.integers(-50, 300),
        "ui.turn_mode": st.sampled_from(["vad", "ptt"]),
    },
)


def _omni_problem(settings_obj: Any) -> ConfigError | None:
    try:
        settings_obj.omni.to_config(MODEL, settings_obj.ui.turn_mode).validate(MODEL)
    except ConfigError as exc:
        return exc
    return None


@HYPOTHESIS
@given(changes=settings_input)
def test_any_settings_input_is_applied_or_refused_clearly(harness: Harness, changes: dict[str, Any]) -> None:
    h, c = harness, harness.c
    new = h.baseline.copy()
    for dotted, value in changes.items():
        section, name = dotted.split(".")
        setattr(getattr(new, section), name, value)
    problems = validate(new)  # what the settings panel shows inline: never raises, always names the field
    for p in problems:
        assert p.field and p.allowed and str(p)
    problem = _omni_problem(new)
    errors_before = len(h.notices.of(app_status.ERROR))
    updates_before = len(h.server.received("session.update"))

    async def apply() -> None:
        c.apply_settings(new)  # must not raise, whatever the values (called on the loop, like the panel)
        if problem is not None:
            # Said clearly: which setting, and that it is not valid.
            await h.settle(lambda: any(problem.field in said and "not valid" in said
                                       for said in h.notices.of(app_status.ERROR)[errors_before:]))
        else:
            expected = new.omni.to_config(MODEL, c.mode).to_session(MODEL)
            await h.settle(lambda: any(u["session"] == expected
                                       for u in h.server.received("session.update")[updates_before:])
                           or _same_session(c, expected))
        await h.settle(lambda: c.connection.state == app_status.READY)
        said = h.notices.of(app_status.ERROR)[errors_before:]
        if problems:  # saving refuses invalid settings and names what is wrong
            assert any(p.field in text for p in problems for text in said), (problems, said)
        c.apply_settings(h.baseline.copy())  # back to valid settings for the next example
        await h.settle(lambda: c.connection.state == app_status.READY)

    with ErrorLog() as log:
        h.run(apply())
    assert [m for m in log.messages() if not m.startswith("notice:")] == []
    assert h.worst_lateness < 1.0  # a stuck loop shows as seconds; a busy 2-core CI box as 0.1-0.5 s


def _same_session(c: Any, expected: dict[str, Any]) -> bool:
    """Nothing to send: the settings that matter for the session did not change."""
    sent = c.eventlog.records()
    updates = [r for r in sent if r.type == "session.update"]
    return bool(updates) and updates[-1].payload.get("session") == expected


# ------------------------------------------------------------------ server events

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
IDS = st.sampled_from(["resp_1", "resp_2", "item_1", "item_2", "", "x" * 40])


def _value_for(hint: Any, name: str) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is bytes:
        return st.binary(max_size=4800).map(lambda b: b[: len(b) // 2 * 2])
    if hint is str:
        return IDS if name.endswith("_id") else st.text(max_size=40)
    if hint is int:
        return st.one_of(st.integers(-5, 5), st.integers())
    if origin is dict or hint is dict:
        if name in ("response", "item"):
            return st.fixed_dictionaries({"id": IDS}, optional={
                "status": st.sampled_from(["completed", "cancelled", "incomplete", "failed", "in_progress", "?"]),
                "role": st.sampled_from(["user", "assistant", "system"]),
                "content": JSON, "usage": st.dictionaries(st.sampled_from(["total_tokens", "input_tokens"]), JSON)})
        return st.dictionaries(st.text(max_size=10), JSON, max_size=4)
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return st.one_of(st.none(), _value_for(inner[0], name)) if inner else st.none()
    if dataclasses.is_dataclass(hint):
        return st.builds(hint, **{f.name: _value_for(typing.get_type_hints(hint)[f.name], f.name)
                                  for f in dataclasses.fields(hint)})
    return JSON


def _typed_event(cls: Any) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _value_for(hints[f.name], f.name) for f in dataclasses.fields(cls) if f.name != "event_id"}
    return st.builds(cls, **fields).map(event_to_wire)


def _mutated(wire: dict[str, Any], data: st.DataObject | None = None) -> st.SearchStrategy[dict[str, Any]]:
    keys = [k for k in wire if k != "type"]
    if not keys:
        return st.just(wire)
    return st.sampled_from(keys).flatmap(
        lambda k: st.one_of(st.just({kk: v for kk, v in wire.items() if kk != k}),
                            JSON.map(lambda junk: {**wire, k: junk})))


typed_frames = st.sampled_from(SERVER_EVENT_TYPES).flatmap(_typed_event)
frames = st.one_of(
    typed_frames.map(json.dumps),  # well formed, odd values
    typed_frames.flatmap(_mutated).map(json.dumps),  # a field missing or of the wrong type
    st.fixed_dictionaries({"type": st.text(max_size=30)}, optional={"x": JSON}).map(json.dumps),  # unknown types
    JSON.map(json.dumps),  # any JSON, objects or not
    st.text(max_size=60),  # not JSON at all
    st.binary(max_size=40),  # binary frames
    st.builds(lambda n: json.dumps({"type": "response.audio.delta", "response_id": "resp_big", "item_id": "i",
                                    "output_index": 0, "content_index": 0,
                                    "delta": base64.b64encode(bytes(n)).decode()}), st.integers(0, 200_000)),
)


def _error_expected(frame: str | bytes) -> bool:
    """A frame the controller must report: an error event that is not a raced cancel."""
    if isinstance(frame, bytes):
        return False
    event = decode_server_event(frame)
    if not isinstance(event, ErrorEvent):
        return False
    lowered = (event.error.message or "").lower()
    return not ("cancel" in lowered and ("no active" in lowered or "not" in lowered and "response" in lowered))


@HYPOTHESIS
@given(batch=st.lists(frames, min_size=1, max_size=6))
def test_arbitrary_server_events_never_crash_or_freeze_the_controller(
    harness: Harness, batch: list[str | bytes]
) -> None:
    h, c = harness, harness.c
    # The server sends nothing after it has finished the session: the batch ends there.
    ends = [i for i, f in enumerate(batch)
            if isinstance(f, str) and isinstance(decode_server_event(f), SessionFinished)]
    batch = batch[: ends[0] + 1] if ends else batch
    client = c.client
    consumed_before = c.eventlog.counts["in"]
    binary_before = client.stats.binary_frames
    errors_before = len(h.notices.of(app_status.ERROR))
    text_frames = [f for f in batch if isinstance(f, str)]
    with ErrorLog() as log:
        for frame in batch:
            assert h.run(h.server.push(frame))
        h.run(h.settle(lambda: c.eventlog.counts["in"] - consumed_before >= len(text_frames)
                       and client.stats.binary_frames - binary_before == len(batch) - len(text_frames)))
    assert [m for m in log.messages() if not m.startswith("notice:")] == []  # no handler raised
    assert h.worst_lateness < 1.0  # a stuck loop shows as seconds; a busy 2-core CI box as 0.1-0.5 s
    finished = any(isinstance(f, str) and isinstance(decode_server_event(f), SessionFinished) for f in batch)
    if finished:  # the server ended the session: said, and a new one is started
        assert any("ended the session" in t for t in h.notices.of(app_status.WARNING))
        h.run(h.settle(lambda: c.client is not client and c.connection.state == app_status.READY
                       and c.voice.ready))
    else:
        assert c.client is client and c.connection.state == app_status.READY
    wanted = sum(_error_expected(f) for f in batch)
    assert len(h.notices.of(app_status.ERROR)) - errors_before == wanted
    for said in h.notices.of(app_status.ERROR)[errors_before:]:
        assert said.startswith("The server reported an error: ") and len(said) > len("The server reported an error: .")
    assert all(t.role in ("user", "assistant") for t in c.conversation.turns)
    assert not math.isnan(c.metrics.usage.total_tokens)
    # And a normal turn still works afterwards.
    turns = len(c.conversation.turns)
    c.send_text("are you still fine?")
    h.run(h.settle(lambda: len(c.conversation.turns) >= turns + 2 and c.conversation.turns[-1].final
                   and c.conversation.turns[-1].text == "It is sunny and warm today."))
