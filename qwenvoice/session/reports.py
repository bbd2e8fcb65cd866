"""How the sessions report to their face: typed listener protocols, no Qt signals.

The window's adapter turns each call into a Qt signal; the terminal commands print. ``QuietVoiceListener``
and ``QuietSpeechListener`` do nothing, so a face overrides only what it shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from qwenvoice.protocol.events import ErrorDetail
    from qwenvoice.session.status import ConnectionInfo
    from qwenvoice.session.tool_calls import ToolApprovalRequest, ToolCallReport
    from qwenvoice.settings.schema import AppSettings


class NoticeListener(Protocol):
    def notice(self, level: str, text: str, action: str) -> None:
        """Something the user should read: ``level`` is status.INFO/WARNING/ERROR, ``action`` a button."""


class VoiceListener(NoticeListener, Protocol):
    def connection_changed(self, info: ConnectionInfo) -> None: ...

    def turn_changed(self, index: int) -> None:
        """A turn of the conversation was added or updated (an index into ``conversation.turns``)."""

    def conversation_reset(self) -> None: ...

    def metrics_updated(self) -> None: ...

    def mode_changed(self, mode: str) -> None: ...

    def talking_changed(self, talking: bool) -> None: ...

    def response_active_changed(self, active: bool) -> None: ...

    def settings_changed(self, settings: AppSettings) -> None: ...

    def server_error(self, error: ErrorDetail) -> None:
        """An ``error`` event the user is told about (the notice says it too; a face may want the fields)."""

    def notices_cleared(self, action: str) -> None:
        """What the earlier notices offering ``action`` said is over (e.g. the connection is back, so
        ``status.ACTION_RECONNECT`` notices no longer apply): a face that still shows them removes them."""

    def tool_called(self, report: ToolCallReport) -> None:
        """A function call of the model started (``status`` running) or ended (its outcome, output or error,
        time taken); the same ``call_id`` ties the two."""

    def tool_approval_requested(self, request: ToolApprovalRequest) -> None:
        """A tool that acts wants to run: show it and call ``request.answer(True/False)``; without an
        answer within ``request.timeout_s`` it does not run."""


class SpeechListener(NoticeListener, Protocol):
    def speech_progress(self, done: int, expected: int) -> None:
        """Segments synthesised so far, of those expected."""

    def speech_state_changed(self, state: str, detail: str) -> None:
        """idle | connecting | speaking | done | stopped | failed, with a detail (duration or reason)."""


class QuietVoiceListener:
    """A VoiceListener that shows nothing; faces subclass it for what they show."""

    def notice(self, level: str, text: str, action: str) -> None:
        pass

    def connection_changed(self, info: ConnectionInfo) -> None:
        pass

    def turn_changed(self, index: int) -> None:
        pass

    def conversation_reset(self) -> None:
        pass

    def metrics_updated(self) -> None:
        pass

    def mode_changed(self, mode: str) -> None:
        pass

    def talking_changed(self, talking: bool) -> None:
        pass

    def response_active_changed(self, active: bool) -> None:
        pass

    def settings_changed(self, settings: AppSettings) -> None:
        pass

    def server_error(self, error: ErrorDetail) -> None:
        pass

    def notices_cleared(self, action: str) -> None:
        pass

    def tool_called(self, report: ToolCallReport) -> None:
        pass

    def tool_approval_requested(self, request: ToolApprovalRequest) -> None:
        request.answer(False)  # a face that shows nothing cannot ask the user


class QuietSpeechListener:
    def notice(self, level: str, text: str, action: str) -> None:
        pass

    def speech_progress(self, done: int, expected: int) -> None:
        pass

    def speech_state_changed(self, state: str, detail: str) -> None:
        pass
