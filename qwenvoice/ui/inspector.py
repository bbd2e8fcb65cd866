"""Event inspector: every client and server event (time, direction, type, size), filterable,
with the JSON of the selected event (audio elided) and JSONL export."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.session.eventlog import IN, EventLog, EventRecord, always_kept
from qwenvoice.ui import filedialogs
from qwenvoice.ui.i18n import Retranslator, fill, translate

COLUMNS = ("time", "dir", "type", "size")
_Index = QModelIndex | QPersistentModelIndex


class EventTableModel(QAbstractTableModel):
    def __init__(self, capacity: int = 5000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.records: list[EventRecord] = []
        self.capacity = capacity

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt override
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt override
        return len(COLUMNS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> str | QColor | None:
        if not index.isValid():
            return None
        r = self.records[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return datetime.fromtimestamp(r.time).strftime("%H:%M:%S.%f")[:-3]
            if col == 1:
                return "◀ in" if r.direction == IN else "▶ out"
            if col == 2:
                return r.label  # "input_audio_buffer.append ×N" for a run of appends
            return str(r.size)
        if role == Qt.ItemDataRole.UserRole:
            return r.direction
        if role == Qt.ItemDataRole.ForegroundRole and r.type == "error":
            return QColor("#e5484d")
        return None

    def append(self, records: list[EventRecord]) -> None:
        """Add rows at the end; past ``capacity`` the oldest rows go, except set-up and errors."""
        if not records:
            return
        if len(records) > self.capacity:
            head, tail = records[: -self.capacity], records[-self.capacity :]
            records = [r for r in head if always_kept(r.type)] + tail
        overflow = len(self.records) + len(records) - self.capacity
        if overflow > 0:
            self._drop_oldest(overflow)
        first = len(self.records)
        self.beginInsertRows(QModelIndex(), first, first + len(records) - 1)
        self.records.extend(records)
        self.endInsertRows()

    def _drop_oldest(self, count: int) -> None:
        """Remove the ``count`` oldest rows that are not set-up or errors (those stay, in order)."""
        runs: list[tuple[int, int]] = []  # [first, last] row ranges to remove, oldest first
        for row, record in enumerate(self.records):
            if count == 0:
                break
            if always_kept(record.type):
                continue
            if runs and runs[-1][1] == row - 1:
                runs[-1] = (runs[-1][0], row)
            else:
                runs.append((row, row))
            count -= 1
        for first, last in reversed(runs):  # from the back, so the earlier ranges keep their rows
            self.beginRemoveRows(QModelIndex(), first, last)
            del self.records[first : last + 1]
            self.endRemoveRows()

    def refresh_last(self) -> None:
        """The last row may be a run of appends that counted more since it was shown."""
        if self.records:
            row = len(self.records) - 1
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def clear(self) -> None:
        self.beginResetModel()
        self.records.clear()
        self.endResetModel()


class EventFilter(QSortFilterProxyModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.direction = ""  # "", IN or OUT
        self.hide_audio = False

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self.text = text.strip().lower()
        self.endFilterChange()

    def set_direction(self, direction: str) -> None:
        self.beginFilterChange()
        self.direction = direction
        self.endFilterChange()

    def set_hide_audio(self, hide: bool) -> None:
        self.beginFilterChange()
        self.hide_audio = hide
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802 - Qt override
        model = self.sourceModel()
        assert isinstance(model, EventTableModel)
        r = model.records[source_row]
        if self.direction and r.direction != self.direction:
            return False
        if self.hide_audio and r.type in ("input_audio_buffer.append", "response.audio.delta"):
            return False
        return not self.text or self.text in r.type.lower()


class InspectorPanel(QWidget):
    """Pulls new records from an :class:`EventLog` four times a second while visible."""

    def __init__(self, log: EventLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.log = log
        self.model = EventTableModel(capacity=log.capacity)
        self.proxy = EventFilter()
        self.proxy.setSourceModel(self.model)
        self._next_seq = 0
        self.paused = False

        self.filter_edit = QLineEdit()
        self._i18n = Retranslator()  # texts set again on a live language change
        self._i18n.bind(self.filter_edit.setPlaceholderText,
                        lambda: translate("InspectorPanel", "Filter by type, e.g. response."))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.direction = QComboBox()
        for data in ("", IN, "out"):
            self.direction.addItem("", data)
        item = self.direction.setItemText
        self._i18n.bind(lambda t: item(0, t), lambda: translate("InspectorPanel", "both directions"))
        self._i18n.bind(lambda t: item(1, t), lambda: translate("InspectorPanel", "server → app"))
        self._i18n.bind(lambda t: item(2, t), lambda: translate("InspectorPanel", "app → server"))
        self.direction.currentIndexChanged.connect(lambda _i: self.proxy.set_direction(self.direction.currentData()))
        self.hide_audio = QPushButton()
        self._i18n.bind(self.hide_audio.setText, lambda: translate("InspectorPanel", "Hide audio"))
        self.hide_audio.setCheckable(True)
        self._i18n.bind(self.hide_audio.setToolTip,
                        lambda: translate("InspectorPanel", "Hide the audio appends and deltas (50 or more a second)"))
        self.hide_audio.toggled.connect(self.proxy.set_hide_audio)
        self.hide_audio.setChecked(True)  # the audio stream would bury everything else
        self.pause_button = QPushButton()
        self._i18n.bind(self.pause_button.setText, lambda: translate("InspectorPanel", "Pause"))
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._set_paused)
        self.clear_button = QPushButton()
        self._i18n.bind(self.clear_button.setText, lambda: translate("InspectorPanel", "Clear"))
        self.clear_button.clicked.connect(self.clear)
        self.export_button = QPushButton()
        self._i18n.bind(self.export_button.setText, lambda: translate("InspectorPanel", "Export JSONL…"))
        self.export_button.clicked.connect(self._export_clicked)
        self.count_label = QLabel()

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.direction)
        buttons = QHBoxLayout()
        for b in (self.hide_audio, self.pause_button, self.clear_button, self.export_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.count_label)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for col in (0, 1, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(self._show_selected)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self._i18n.bind(self.detail.setPlaceholderText,
                        lambda: translate("InspectorPanel", "Select an event to see its JSON"))
        self.detail.setObjectName("eventJson")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setSizes([300, 160])

        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(top)
        box.addLayout(buttons)
        box.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.pull)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self._show_count()
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.pull()
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self._timer.stop()

    def _set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self.pull()

    def pull(self) -> None:
        if self.paused:
            return
        new = self.log.since(self._next_seq)
        self._next_seq = self.log.next_seq
        self.model.refresh_last()
        if new:
            bar = self.table.verticalScrollBar()
            at_bottom = bar.value() >= bar.maximum() - 2
            self.model.append(new)
            if at_bottom:
                self.table.scrollToBottom()
        self._show_count()

    def _show_count(self) -> None:
        self.count_label.setText(fill(self.tr("%1 of %2 shown"), self.proxy.rowCount(), self.model.rowCount()))

    def clear(self) -> None:
        self.model.clear()
        self.detail.clear()
        self._next_seq = self.log.next_seq

    def _show_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        record = self.model.records[self.proxy.mapToSource(current).row()]
        self.detail.setPlainText(json.dumps(record.payload, indent=2, ensure_ascii=False, default=str))

    def visible_records(self) -> list[EventRecord]:
        return [self.model.records[self.proxy.mapToSource(self.proxy.index(i, 0)).row()]
                for i in range(self.proxy.rowCount())]

    def export(self, path: Path) -> int:
        return EventLog.export_jsonl(self.visible_records(), path)

    def _export_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, self.tr("Export events"),
                                              filedialogs.start_path("events", "events.jsonl"), "JSON Lines (*.jsonl)")
        if name:
            filedialogs.remember("events", name)
            self.export(Path(name))
