"""The transcript: one bubble per turn, updated in place as text streams in."""

from __future__ import annotations

import html
from datetime import datetime

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.session.conversation import USER, Turn
from qwenvoice.session.tool_calls import RUNNING, ToolApprovalRequest, ToolCallReport
from qwenvoice.ui.i18n import translate
from qwenvoice.ui.tool_cards import ToolCallCard


def _status_label(status: str) -> str:
    if status == "incomplete":
        return translate("Bubble", "incomplete")
    if status == "failed":
        return translate("Bubble", "failed")
    return status


def turn_html(turn: Turn) -> str:
    """The bubble text: heard part, then a marker where the user cut in; live preview in grey."""
    if turn.interrupted:
        heard = turn.text[: turn.heard_chars if turn.heard_chars is not None else len(turn.text)]
        body = html.escape(heard, quote=False).replace("\n", "<br>")
        mark = html.escape(translate("Bubble", "interrupted"), quote=False)
        return body + f' <span style="color:#e5484d;">✂ <i>{mark}</i></span>'
    body = html.escape(turn.text, quote=False).replace("\n", "<br>")
    if turn.preview:
        body += f'<span style="color:#7d8797;">{html.escape(turn.preview, quote=False)}</span>'
    if not body:
        body = '<span style="color:#7d8797;">…</span>'
    if turn.status:
        # The server ended this reply as incomplete or failed: say so, with its reason.
        mark = html.escape(_status_label(turn.status), quote=False)
        if turn.status_reason:
            mark += ": " + html.escape(turn.status_reason, quote=False)
        color = "#e5484d" if turn.status == "failed" else "#d97706"
        body += f' <span style="color:{color};">⚠ <i>{mark}</i></span>'
    return body


def said_nothing(turn: Turn) -> bool:
    """A finished reply with no words, not cut and not failed: a response that only called a tool (its
    card shows the call), so no empty bubble for it."""
    return (turn.role != USER and turn.final and not turn.display_text.strip() and not turn.interrupted
            and not turn.status)


COPIED_FEEDBACK_MS = 1500


class Bubble(QFrame):
    copy_requested = Signal(str)

    def __init__(self, turn: Turn, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turn = turn
        is_user = turn.role == USER
        self.setObjectName("userBubble" if is_user else "assistantBubble")
        self.setProperty("role", turn.role)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        tint = "rgba(43,182,115,0.14)" if is_user else "rgba(109,93,252,0.14)"
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ background: {tint}; border-radius: 10px; border: none; }}")
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 6, 10, 8)
        box.setSpacing(2)
        head = QHBoxLayout()
        head.setSpacing(6)
        self.who = QLabel()
        self.who.setObjectName("bubbleHeader")
        self.copy_button = QToolButton()
        self.copy_button.setAutoRaise(True)
        # After a click the button says "Copied" for a moment, then "Copy" again.
        self.copied_timer = QTimer(self)
        self.copied_timer.setSingleShot(True)
        self.copied_timer.setInterval(COPIED_FEEDBACK_MS)
        self.copied_timer.timeout.connect(self._translate_copy)
        self._translate_copy()
        self.copy_button.clicked.connect(self._copy)
        head.addWidget(self.who)
        head.addStretch(1)
        head.addWidget(self.copy_button)
        box.addLayout(head)
        self.text = QLabel()
        self.text.setObjectName("bubbleText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.text)
        self.refresh()

    def _copy(self) -> None:
        self.copy_requested.emit(self.turn.display_text)
        self.copied_timer.start()
        self._translate_copy()

    def _translate_copy(self) -> None:
        copied = self.copied_timer.isActive()
        self.copy_button.setText(self.tr("Copied ✓") if copied else self.tr("Copy"))
        self.copy_button.setToolTip(self.tr("Copy this text"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._translate_copy()
            self.refresh()
        super().changeEvent(event)

    def refresh(self) -> None:
        t = self.turn
        name = self.tr("You") if t.role == USER else self.tr("Assistant")
        if t.source == "text":
            name += " " + self.tr("(typed)")
        stamp = datetime.fromtimestamp(t.started_at).strftime("%H:%M:%S")
        self.who.setText(f"<b>{html.escape(name)}</b> <span style='color:#7d8797;'>{stamp}</span>")
        self.text.setText(turn_html(t))


class TranscriptView(QScrollArea):
    """Bubbles, user on the right and assistant on the left, and a card per tool call where it happened;
    follows the bottom while streaming."""

    tool_approval_answered = Signal(object, bool, bool)  # ToolApprovalRequest, allowed, always for this tool

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcript")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._inner = QWidget()
        self._inner.setObjectName("transcriptInner")
        self._column = QVBoxLayout(self._inner)
        self._column.setContentsMargins(10, 10, 10, 10)
        self._column.setSpacing(8)
        self.placeholder = QLabel()
        self._translate_placeholder()
        self.placeholder.setObjectName("transcriptPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self._column.addWidget(self.placeholder)
        self._column.addStretch(1)
        self.setWidget(self._inner)
        self.bubbles: list[Bubble] = []
        self.tool_cards: dict[str, ToolCallCard] = {}  # by call_id
        self._rows: list[QWidget] = []
        self._follow = True
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.verticalScrollBar().rangeChanged.connect(self._on_range)

    def _translate_placeholder(self) -> None:
        self.placeholder.setText(self.tr("Say something, hold the talk button (or Space), or type a message below."))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._translate_placeholder()
        super().changeEvent(event)

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._follow = value >= bar.maximum() - 24

    def _on_range(self, _lo: int, hi: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(hi)

    def clear(self) -> None:
        for row in self._rows:
            row.setParent(None)
            row.deleteLater()
        self._rows.clear()
        self.bubbles.clear()
        self.tool_cards.clear()
        self.placeholder.show()

    def set_turns(self, turns: list[Turn]) -> None:
        self.clear()
        for i in range(len(turns)):
            self.update_turn(turns, i)

    def update_turn(self, turns: list[Turn], index: int) -> None:
        """Show turn ``index`` (adding bubbles for any turns not shown yet)."""
        while len(self.bubbles) <= index and len(self.bubbles) < len(turns):
            self._add_bubble(turns[len(self.bubbles)])
        if index < len(self.bubbles):
            bubble = self.bubbles[index]
            bubble.turn = turns[index]
            bubble.refresh()
            row = bubble.parentWidget()
            if row is not None:
                row.setVisible(not said_nothing(bubble.turn))

    def show_tool_call(self, report: ToolCallReport) -> ToolCallCard:
        """Add the card of a call (at the bottom, where the conversation is) or update it."""
        card = self.tool_cards.get(report.call_id)
        if card is not None:
            card.update_report(report)
            return card
        card = ToolCallCard(report)
        card.approved.connect(self.tool_approval_answered)
        self.tool_cards[report.call_id] = card
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(24, 0, 0, 0)
        line.addWidget(card, 4)
        line.addStretch(1)
        self._add_row(row)
        return card

    def ask_tool_approval(self, request: ToolApprovalRequest) -> ToolCallCard:
        """Show the approval prompt on the call's card (made now if its report has not come yet)."""
        card = self.tool_cards.get(request.call_id)
        if card is None:
            card = self.show_tool_call(ToolCallReport(request.call_id, request.name, request.arguments, RUNNING,
                                                      source=request.source, read_only=False))
        card.ask(request)
        return card

    def _add_bubble(self, turn: Turn) -> None:
        bubble = Bubble(turn)
        bubble.copy_requested.connect(self.copy_text)
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        if turn.role == USER:
            line.addStretch(1)
            line.addWidget(bubble, 4)
        else:
            line.addWidget(bubble, 4)
            line.addStretch(1)
        self.bubbles.append(bubble)
        self._add_row(row)

    def _add_row(self, row: QWidget) -> None:
        self.placeholder.hide()
        self._column.insertWidget(self._column.count() - 1, row)
        self._rows.append(row)
        if self._follow:
            QTimer.singleShot(0, self, self._scroll_to_bottom)

    def _scroll_to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    @staticmethod
    def copy_text(text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    def all_text(self) -> str:
        return "\n\n".join(
            f"{'You' if b.turn.role == USER else 'Assistant'}: {b.turn.display_text}" for b in self.bubbles
        )
