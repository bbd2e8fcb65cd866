"""Live scrolling waveform (microphone and assistant, two lanes).

The view pulls: a QTimer at display rate reads the last ~10 s from two timeline rings, reduces each to
one (min, max) pair per pixel column and rasterises the columns straight into a preallocated image
with numpy (one vertical span per column, no per-point Python, no thick-pen polylines). Nothing is
drawn while the widget is hidden or when both lanes have been silent for the whole window.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QHideEvent, QImage, QPainter, QPaintEvent, QPalette, QShowEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from qwenvoice.session.waveform_data import TimelineRing

MIC_COLOR = QColor("#2bb673")
ASSISTANT_COLOR = QColor("#6d5dfc")


def _argb(color: QColor) -> int:
    return int(color.rgba()) & 0xFFFFFFFF


class WaveformView(QWidget):
    """Two lanes (mic on top, assistant below) sharing one time axis that ends at "now"."""

    def __init__(
        self,
        mic: TimelineRing,
        assistant: TimelineRing,
        seconds: float = 10.0,
        fps: int = 30,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.mic = mic
        self.assistant = assistant
        self.seconds = seconds
        self.setObjectName("waveform")
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self.set_fps(fps)
        self._image_buf: np.ndarray | None = None
        self._row_cache: dict[tuple[int, int], np.ndarray] = {}
        self._last_sound = {id(mic): -1e9, id(assistant): -1e9}
        self._last_versions = (-1, -1)
        self.frames_painted = 0
        self.paint_seconds = 0.0  # total time spent painting (for the benchmark)

    # ----- timer -----

    def set_fps(self, fps: int) -> None:
        self.fps = max(1, fps)
        self._timer.setInterval(int(1000 / self.fps))

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self.stop()

    def needs_repaint(self) -> bool:
        """Something was written recently enough to still be on screen."""
        versions = (self.mic.version, self.assistant.version)
        if versions != self._last_versions:
            self._last_versions = versions
            return True
        # The picture scrolls while anything written in the last window is still visible.
        # (Rings report the head position; samples up to head are on the time axis.)
        for ring in (self.mic, self.assistant):
            head_age = (ring.position_now() - ring.head) / ring.sample_rate
            if head_age < self.seconds + 0.2:
                return True
        return False

    def _tick(self) -> None:
        if self.isVisible() and self.needs_repaint():
            self.update()

    # ----- drawing -----

    def _lane_columns(self, ring: TimelineRing, width: int) -> tuple[np.ndarray, np.ndarray]:
        # From the ring's per-10 ms buckets: ~1000 values per frame instead of every sample.
        return ring.envelope(self.seconds, width)

    def render_image(self, width: int, height: int) -> QImage:
        """The picture for a ``width`` x ``height`` widget (also used by tests without painting)."""
        bg = self.palette().color(QPalette.ColorRole.Base)
        grid = self.palette().color(QPalette.ColorRole.Mid)
        if self._image_buf is None or self._image_buf.shape != (height, width):
            self._image_buf = np.empty((height, width), dtype=np.uint32)
        img = self._image_buf
        img.fill(_argb(bg))
        lane_h = height // 2
        for lane, (ring, color) in enumerate(((self.mic, MIC_COLOR), (self.assistant, ASSISTANT_COLOR))):
            top = lane * lane_h
            mid = top + lane_h // 2
            half = max(1, lane_h // 2 - 3)
            lo, hi = self._lane_columns(ring, width)
            # sqrt compresses the range so quiet speech is still visible next to loud speech
            y_hi = mid - (np.sqrt(np.maximum(hi, 0) / 32768.0) * half).astype(np.int32)
            y_lo = mid + (np.sqrt(np.maximum(-lo.astype(np.int32), 0) / 32768.0) * half).astype(np.int32)
            y_hi[y_lo <= y_hi] = 1 << 20  # silent columns: no span, only the grid line
            rows = self._rows(top, lane_h)
            mask = (rows >= y_hi[None, :]) & (rows <= y_lo[None, :])
            lane_pixels = img[top : top + lane_h]
            lane_pixels[lane_h // 2, :] = _argb(grid)
            np.copyto(lane_pixels, np.uint32(_argb(color)), where=mask)
        # Wraps the numpy buffer without copying (kept on self, so it outlives the paint); RGB32 is
        # opaque, so drawing it is a plain copy with no alpha blending or format conversion.
        return QImage(img.data, width, height, width * 4, QImage.Format.Format_RGB32)

    def _rows(self, top: int, lane_h: int) -> np.ndarray:
        key = (top, lane_h)
        rows = self._row_cache.get(key)
        if rows is None:
            rows = np.arange(top, top + lane_h, dtype=np.int32)[:, None]
            self._row_cache[key] = rows
        return rows

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        started = time.perf_counter()
        w, h = max(1, self.width()), max(2, self.height())
        image = self.render_image(w, h)
        painter = QPainter(self)
        painter.drawImage(0, 0, image)
        base = self.palette().color(QPalette.ColorRole.Base)
        badge = QColor(base)
        badge.setAlpha(200)
        painter.fillRect(0, h // 2, w, 1, self.palette().color(QPalette.ColorRole.Mid))  # lane divider
        metrics = painter.fontMetrics()
        for y, label, color in ((2, self.tr("You"), MIC_COLOR), (h // 2 + 2, self.tr("Assistant"), ASSISTANT_COLOR)):
            box = QRectF(4, y, metrics.horizontalAdvance(label) + 8, metrics.height())
            painter.fillRect(box, badge)
            painter.setPen(color)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        span = self.tr("last %1 s").replace("%1", str(int(self.seconds)))
        box = QRectF(w - metrics.horizontalAdvance(span) - 12, h - metrics.height() - 2,
                     metrics.horizontalAdvance(span) + 8, metrics.height())
        painter.fillRect(box, badge)
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, span)
        painter.end()
        self.frames_painted += 1
        self.paint_seconds += time.perf_counter() - started
