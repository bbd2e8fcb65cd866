"""History: past conversations (newest first), their transcript, and a session-bundle export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.session.conversation import (
    ConversationSummary,
    delete_conversation,
    export_bundle,
    list_conversations,
    load_turns,
)
from qwenvoice.ui import filedialogs
from qwenvoice.ui.conversation import TranscriptView
from qwenvoice.ui.i18n import Retranslator, fill, translate


def _nothing_open() -> str:
    return translate("HistoryPanel", "Select a conversation")


def ask_user(parent: QWidget, title: str, question: str) -> bool:
    """A Yes/No question (No is the default): deleting cannot be undone."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, title, question, buttons.Yes | buttons.No, buttons.No)
    return answer == buttons.Yes


class HistoryPanel(QWidget):
    exported = Signal(str)  # folder written

    def __init__(self, data_root: Callable[[], Path], parent: QWidget | None = None,
                 live_id: Callable[[], str | None] = lambda: None) -> None:
        super().__init__(parent)
        self.setObjectName("history")
        self._root = data_root
        self._live_id = live_id  # the conversation being recorded now: never deleted under it
        self.confirm: Callable[[str, str], bool] = lambda title, question: ask_user(self, title, question)
        self.summaries: list[ConversationSummary] = []
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        self.list.currentRowChanged.connect(self._open_row)
        self._i18n = Retranslator()  # texts set again on a live language change
        self.refresh_button = QPushButton()
        self._i18n.bind(self.refresh_button.setText, lambda: translate("HistoryPanel", "Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button = QPushButton()
        self._i18n.bind(self.export_button.setText, lambda: translate("HistoryPanel", "Export bundle…"))
        self._i18n.bind(self.export_button.setToolTip,
                        lambda: translate("HistoryPanel", "Markdown transcript, both audio tracks and the event log"))
        self.export_button.clicked.connect(self._export_clicked)
        self.export_button.setEnabled(False)
        self.delete_button = QPushButton()
        self.delete_button.setObjectName("deleteConversation")
        self._i18n.bind(self.delete_button.setText, lambda: translate("HistoryPanel", "Delete…"))
        self._i18n.bind(self.delete_button.setToolTip,
                        lambda: translate("HistoryPanel", "Delete this conversation: transcript, audio and events"))
        self.delete_button.clicked.connect(self.delete_selected)
        self.delete_button.setEnabled(False)
        self.delete_all_button = QPushButton()
        self.delete_all_button.setObjectName("deleteAllConversations")
        self._i18n.bind(self.delete_all_button.setText, lambda: translate("HistoryPanel", "Delete all…"))
        self.delete_all_button.clicked.connect(self.delete_all)
        self.title = QLabel()
        self._opened: ConversationSummary | None = None
        self._i18n.bind(self._show_title, _nothing_open)
        self.title.setObjectName("sectionTitle")
        self.preview = TranscriptView()
        left = QWidget()
        lbox = QVBoxLayout(left)
        lbox.setContentsMargins(0, 0, 0, 0)
        lbox.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(self.delete_all_button)
        lbox.addLayout(row)
        right = QWidget()
        rbox = QVBoxLayout(right)
        rbox.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.delete_button)
        head.addWidget(self.export_button)
        rbox.addLayout(head)
        rbox.addWidget(self.preview, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([280, 600])
        box = QVBoxLayout(self)
        box.setContentsMargins(8, 8, 8, 8)
        box.addWidget(split)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        current = self.selected()
        self.summaries = list_conversations(self._root())
        self.list.blockSignals(True)
        self.list.clear()
        for s in self.summaries:
            when = datetime.fromtimestamp(s.started_at).strftime("%Y-%m-%d %H:%M")
            turns = translate("HistoryPanel", "1 turn") if s.turn_count == 1 else \
                fill(translate("HistoryPanel", "%1 turns"), s.turn_count)
            item = QListWidgetItem(f"{when}  ·  {turns}\n{s.title}")
            item.setData(Qt.ItemDataRole.UserRole, s.conversation_id)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.delete_all_button.setEnabled(any(s.conversation_id != self._live_id() for s in self.summaries))
        ids = [s.conversation_id for s in self.summaries]
        if current is not None and current.conversation_id in ids:
            self.list.setCurrentRow(ids.index(current.conversation_id))
        elif current is not None:
            self._open_row(-1)  # the open one was deleted

    def selected(self) -> ConversationSummary | None:
        row = self.list.currentRow()
        return self.summaries[row] if 0 <= row < len(self.summaries) else None

    def _show_title(self, nothing_open: str) -> None:
        """The open conversation's title, or the invitation to pick one."""
        self.title.setText(self._opened.title if self._opened is not None else nothing_open)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self.refresh()  # the rows' turn counts
        super().changeEvent(event)

    def _open_row(self, row: int) -> None:
        summary = self.selected()
        self.export_button.setEnabled(summary is not None)
        self.delete_button.setEnabled(summary is not None and summary.conversation_id != self._live_id())
        self._opened = summary
        self._show_title(_nothing_open())
        if summary is None:
            self.preview.clear()
            return
        self.preview.set_turns(load_turns(summary.folder))

    def delete_selected(self) -> bool:
        """Delete the selected conversation once the user confirms (never the one being recorded)."""
        summary = self.selected()
        if summary is None or summary.conversation_id == self._live_id():
            return False
        if not self.confirm(translate("HistoryPanel", "Delete conversation"),
                            fill(translate("HistoryPanel", "Delete “%1” with its audio and events? This cannot "
                                           "be undone."), summary.title)):
            return False
        delete_conversation(summary.folder)
        self.refresh()
        return True

    def delete_all(self) -> int:
        """Delete every saved conversation but the one being recorded, once the user confirms."""
        doomed = [s for s in self.summaries if s.conversation_id != self._live_id()]
        if not doomed:
            return 0
        if not self.confirm(translate("HistoryPanel", "Delete all conversations"),
                            fill(translate("HistoryPanel", "Delete all %1 saved conversations with their audio "
                                           "and events? This cannot be undone."), len(doomed))):
            return 0
        for summary in doomed:
            delete_conversation(summary.folder)
        self.refresh()
        return len(doomed)

    def export_selected(self, out_dir: Path) -> list[Path]:
        summary = self.selected()
        if summary is None:
            return []
        written = export_bundle(summary.folder, out_dir)
        self.exported.emit(str(out_dir))
        return written

    def _export_clicked(self) -> None:
        summary = self.selected()
        if summary is None:
            return
        folder = QFileDialog.getExistingDirectory(self, self.tr("Export the session bundle into"),
                                                  filedialogs.start_path("bundle"))
        if folder:
            filedialogs.remember("bundle", folder)
            self.export_selected(Path(folder) / f"qwenvoice-{summary.conversation_id}")
