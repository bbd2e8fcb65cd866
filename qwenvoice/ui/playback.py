"""The jitter-buffered playback widget: buffer depth against target, underruns, state, volume."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QHideEvent, QPainter, QPaintEvent, QPalette, QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QWidget

from qwenvoice.session.status import FLUSHED, PLAYBACK_IDLE, PLAYING, PREBUFFERING, PlaybackStatus
from qwenvoice.settings.fields import QT_TRANSLATE_NOOP
from qwenvoice.ui.i18n import Retranslator, translate

# Marked so lupdate extracts them (they were shown untranslated: tr() of a variable finds nothing).
STATE_TEXT = {
    PLAYBACK_IDLE: QT_TRANSLATE_NOOP("PlaybackPanel", "idle"),
    PREBUFFERING: QT_TRANSLATE_NOOP("PlaybackPanel", "prebuffering"),
    PLAYING: QT_TRANSLATE_NOOP("PlaybackPanel", "playing"),
    FLUSHED: QT_TRANSLATE_NOOP("PlaybackPanel", "flushed"),
}
STATE_COLOR = {
    PLAYBACK_IDLE: "#7d8797",
    PREBUFFERING: "#e0b000",
    PLAYING: "#2bb673",
    FLUSHED: "#e5484d",
}


class BufferGauge(QWidget):
    """A bar of buffered milliseconds with a tick at the target depth."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(120, 14)
        self.setMaximumHeight(16)
        self.depth_ms = 0.0
        self.target_ms = 80.0
        self.scale_ms = 400.0

    def set_values(self, depth_ms: float, target_ms: float) -> None:
        if (round(depth_ms), round(target_ms)) != (round(self.depth_ms), round(self.target_ms)):
            self.depth_ms, self.target_ms = depth_ms, target_ms
            self.scale_ms = max(400.0, target_ms * 4, depth_ms * 1.1)
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        w, h = self.width(), self.height()
        pal = self.palette()
        p.fillRect(0, 0, w, h, pal.color(QPalette.ColorRole.Base))
        filled = int(w * min(1.0, self.depth_ms / self.scale_ms))
        color = QColor("#2bb673") if self.depth_ms >= self.target_ms else QColor("#e0b000")
        p.fillRect(0, 2, filled, h - 4, color)
        x = int(w * min(1.0, self.target_ms / self.scale_ms))
        p.fillRect(max(0, x - 1), 0, 2, h, pal.color(QPalette.ColorRole.Text))
        p.setPen(pal.color(QPalette.ColorRole.Text))
        p.drawText(QRectF(4, 0, w - 8, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   f"{self.depth_ms:.0f} ms")
        p.end()


class PlaybackPanel(QWidget):
    """Pulls a :class:`PlaybackStatus` a few times a second and shows it."""

    volume_changed = Signal(float)

    def __init__(self, status_source: Callable[[], PlaybackStatus], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playbackPanel")
        self._source = status_source
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        self._i18n = Retranslator()  # texts set again on a live language change
        tr = self._i18n.bind
        title = QLabel()
        tr(title.setText, lambda: translate("PlaybackPanel", "Playback"))
        title.setObjectName("sectionTitle")
        self.state_label = QLabel()
        self.state_label.setObjectName("playbackState")
        grid.addWidget(title, 0, 0)
        grid.addWidget(self.state_label, 0, 1, alignment=Qt.AlignmentFlag.AlignRight)
        self.gauge = BufferGauge()
        grid.addWidget(self.gauge, 1, 0, 1, 2)
        self.target_label = QLabel()
        self.underrun_label = QLabel()
        grid.addWidget(self.target_label, 2, 0)
        grid.addWidget(self.underrun_label, 2, 1, alignment=Qt.AlignmentFlag.AlignRight)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(100)
        tr(self.volume.setToolTip, lambda: translate("PlaybackPanel", "Volume"))
        tr(self.volume.setAccessibleName, lambda: translate("PlaybackPanel", "Volume"))
        self.volume.valueChanged.connect(lambda v: self.volume_changed.emit(v / 100.0))
        vol_label = QLabel()
        tr(vol_label.setText, lambda: translate("PlaybackPanel", "Volume"))
        grid.addWidget(vol_label, 3, 0)
        grid.addWidget(self.volume, 3, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self.refresh)
        self.status = PlaybackStatus()
        self._shown_state = ""
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._timer.start()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self._shown_state = ""  # the state label is set again by the next refresh
            self.refresh()
        super().changeEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self._timer.stop()

    def refresh(self) -> None:
        status = self._source()
        self.status = status
        if status.state != self._shown_state:  # restyling is costly: only on a change
            self._shown_state = status.state
            self.state_label.setText(self.tr(STATE_TEXT.get(status.state, status.state)))
            self.state_label.setStyleSheet(f"color: {STATE_COLOR.get(status.state, '#7d8797')}; font-weight: 600;")
        self.gauge.set_values(status.depth_ms, status.target_ms)
        self.target_label.setText(self.tr("target %1 ms").replace("%1", f"{status.target_ms:.0f}"))
        self.underrun_label.setText(self.tr("underruns %1").replace("%1", str(status.underruns)))
        if not self.volume.isSliderDown():
            v = round(status.volume * 100)
            if v != self.volume.value():
                self.volume.blockSignals(True)
                self.volume.setValue(v)
                self.volume.blockSignals(False)
