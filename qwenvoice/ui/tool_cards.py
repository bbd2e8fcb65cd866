"""A function call of the model as a card in the conversation: the tool, its arguments, then its result or
error and the time it took; while it runs it says so. A tool that acts asks here, inline, whether it may run
(allow, deny, always allow this tool for the session): the window never blocks on a dialog.

Long arguments and output are shortened on the card; the full text is in the tooltip and behind "Show all".
"""

from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from qwenvoice.session.tool_calls import CANCELLED, RUNNING, ToolApprovalRequest, ToolCallReport
from qwenvoice.tools.approval import DENIED
from qwenvoice.tools.calls import ERROR, OK, TIMED_OUT, UNKNOWN
from qwenvoice.tools.registry import BUILT_IN
from qwenvoice.ui.i18n import fill, translate

SHORT_CHARS = 240  # more than this on the card is elided (the tooltip and "Show all" have it all)


def arguments_text(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, ensure_ascii=False) if arguments else "{}"


def elide(text: str, limit: int = SHORT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def status_text(status: str) -> str:
    if status == RUNNING:
        return translate("ToolCard", "running…")
    if status == OK:
        return translate("ToolCard", "done")
    if status == ERROR:
        return translate("ToolCard", "failed")
    if status == DENIED:
        return translate("ToolCard", "denied")
    if status == TIMED_OUT:
        return translate("ToolCard", "timed out")
    if status == UNKNOWN:
        return translate("ToolCard", "unknown tool")
    if status == CANCELLED:
        return translate("ToolCard", "cancelled")
    return status


_STATUS_COLOURS = {RUNNING: "#6d5dfc", OK: "#2bb673", ERROR: "#e5484d", UNKNOWN: "#e5484d"}


class ToolCallCard(QFrame):
    """One call, updated in place by ``update_report``; ``ask`` shows the approval prompt for it."""

    approved = Signal(object, bool, bool)  # ToolApprovalRequest, allowed, always for this tool

    def __init__(self, report: ToolCallReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("QFrame#toolCard { background: rgba(125,135,151,0.12); border-radius: 8px;"
                           " border: 1px dashed rgba(125,135,151,0.5); }")
        self.report = report
        self.request: ToolApprovalRequest | None = None
        self.expanded = False
        self.answer_note = ""
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 6, 10, 6)
        box.setSpacing(3)
        head = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("toolCardTitle")
        self.state = QLabel()
        self.state.setObjectName("toolCardState")
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.state)
        box.addLayout(head)
        self.arguments = QLabel()
        self.arguments.setObjectName("toolCardArguments")
        self.result = QLabel()
        self.result.setObjectName("toolCardResult")
        for label in (self.arguments, self.result):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.addWidget(label)
        self.expand_button = QToolButton()
        self.expand_button.setAutoRaise(True)
        self.expand_button.clicked.connect(self._toggle)
        box.addWidget(self.expand_button, 0, Qt.AlignmentFlag.AlignLeft)
        # The approval prompt: shown while a tool that acts waits for the user.
        self.prompt = QWidget()
        prompt_row = QHBoxLayout(self.prompt)
        prompt_row.setContentsMargins(0, 2, 0, 0)
        self.prompt_text = QLabel()
        self.prompt_text.setWordWrap(True)
        self.allow_button = QPushButton()
        self.allow_button.setObjectName("toolAllow")
        self.deny_button = QPushButton()
        self.deny_button.setObjectName("toolDeny")
        self.always_button = QPushButton()
        self.always_button.setObjectName("toolAlwaysAllow")
        prompt_row.addWidget(self.prompt_text, 1)
        for button in (self.allow_button, self.always_button, self.deny_button):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # Space stays the talk key
            prompt_row.addWidget(button)
        self.allow_button.clicked.connect(lambda: self._answer(True, False))
        self.always_button.clicked.connect(lambda: self._answer(True, True))
        self.deny_button.clicked.connect(lambda: self._answer(False, False))
        box.addWidget(self.prompt)
        self.prompt.hide()
        self.refresh()

    # ----- what the window tells it

    def update_report(self, report: ToolCallReport) -> None:
        self.report = report
        if report.done:
            self.request = None  # answered, timed out or cancelled: nothing left to ask
        self.refresh()

    def ask(self, request: ToolApprovalRequest) -> None:
        self.request = request
        self.refresh()

    def note_answer(self, allowed: bool, always: bool) -> None:
        """Say on the card how the user answered (an automatic "always allow" too)."""
        if always:
            self.answer_note = translate("ToolCard", "allowed (always, for this session)")
        else:
            self.answer_note = translate("ToolCard", "allowed") if allowed else translate("ToolCard", "denied")
        self.refresh()

    def _answer(self, allowed: bool, always: bool) -> None:
        request, self.request = self.request, None
        if request is None:
            return
        self.note_answer(allowed, always)
        self.approved.emit(request, allowed, always)

    def _toggle(self) -> None:
        self.expanded = not self.expanded
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)

    # ----- what it shows

    def full_result(self) -> str:
        r = self.report
        if r.error:
            return fill(translate("ToolCard", "Error: %1"), r.error)
        return r.output

    def refresh(self) -> None:
        r = self.report
        name = html.escape(r.name)
        source = "" if r.source == BUILT_IN else f" <span style='color:#7d8797;'>· {html.escape(r.source)}</span>"
        tool = html.escape(translate("ToolCard", "Tool"))
        self.title.setText(f"🔧 <b>{tool}: {name}</b>{source}")
        state = status_text(r.status)
        if r.done:
            state += " · " + fill(translate("ToolCard", "%1 s"), f"{r.elapsed_s:.2f}")
        if self.answer_note:
            state = self.answer_note + " · " + state
        colour = _STATUS_COLOURS.get(r.status, "#d97706")
        self.state.setText(f"<span style='color:{colour};'>{html.escape(state)}</span>")
        args = arguments_text(r.arguments)
        result = self.full_result()
        long = len(args) > SHORT_CHARS or len(result) > SHORT_CHARS
        show = self.expanded or not long
        self.arguments.setText(fill(translate("ToolCard", "Arguments: %1"), args if show else elide(args)))
        self.arguments.setToolTip(args if len(args) > SHORT_CHARS else "")
        self.result.setVisible(r.done and bool(result))
        self.result.setText(result if show else elide(result))
        self.result.setToolTip(result if len(result) > SHORT_CHARS else "")
        self.result.setStyleSheet("color: #e5484d;" if r.error else "")
        self.expand_button.setVisible(long)
        self.expand_button.setText(translate("ToolCard", "Show less") if self.expanded
                                   else translate("ToolCard", "Show all"))
        asking = self.request is not None and not r.done
        self.prompt.setVisible(asking)
        if asking:
            self.prompt_text.setText(translate("ToolCard", "This tool acts rather than only reads. Let it run?"))
            self.allow_button.setText(translate("ToolCard", "Allow"))
            self.always_button.setText(translate("ToolCard", "Always allow"))
            self.always_button.setToolTip(translate("ToolCard", "Allow this tool without asking until the app quits"))
            self.deny_button.setText(translate("ToolCard", "Deny"))
