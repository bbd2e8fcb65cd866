"""Small shared widgets: a number field that refuses bad input inline, notice bars, a level meter.

``NumberField`` is a line edit (not a spin box) on purpose: a spin box silently clamps an
out-of-range value, while the settings panel must *refuse* it and say what is allowed. The field
parses the text, asks a validator callback (which wraps qwenvoice.protocol.config, so ranges are not
duplicated here) and shows the error under the field with a red border until the value is fixed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.ui.i18n import fill, translate
from qwenvoice.ui.theme import icon, repolish

Number = int | float
# Returns a user-facing error message, or None when the value is acceptable.
NumberValidator = Callable[[Number | None], str | None]


def set_invalid(widget: QWidget, invalid: bool) -> None:
    """Mark a widget for the stylesheet's red border (``[invalid="true"]``)."""
    if bool(widget.property("invalid")) != invalid:
        widget.setProperty("invalid", invalid)
        repolish(widget)


def format_number(value: Number | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return f"{value:.1f}"
        return f"{value:.10g}"
    return str(value)


class ErrorLabel(QLabel):
    """A wrapped, red message under a field; hidden while there is nothing to say.

    A layout may take it from its field and place it elsewhere (e.g. a grid row below, wider).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "error")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.hide()

    def show_message(self, message: str | None) -> None:
        self.setText(message or "")
        self.setVisible(bool(message))


class NumberField(QWidget):
    """Text entry for an int or float, optionally empty (= "not set"), validated as the user types.

    ``value()`` is the last number that parsed (it may still be out of range: ``is_valid()`` tells);
    ``valueChanged`` fires whenever that number changes.
    """

    valueChanged = Signal(object)  # int | float | None, whenever the parsed number changes
    validityChanged = Signal(bool)
    # After every text change, once valueChanged (if any) has been handled: True if the value changed.
    edited = Signal(bool)

    def __init__(
        self,
        kind: type[int] | type[float],
        *,
        optional: bool = False,
        validator: NumberValidator | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._kind = kind
        self._optional = optional
        self._validator = validator
        self._value: Number | None = None
        self._valid = True
        self._error: str | None = None
        self._parse_error: str | None = None
        self._external_error: str | None = None
        self._revalidating = False
        self.edit = QLineEdit(self)
        self.edit.setClearButtonEnabled(optional)
        self.edit.setMinimumWidth(150)
        self.error_label = ErrorLabel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.edit)
        layout.addWidget(self.error_label)
        self.edit.textChanged.connect(self._on_text_changed)
        self.setFocusProxy(self.edit)

    def setValidator(self, validator: NumberValidator | None) -> None:  # noqa: N802 (Qt naming)
        self._validator = validator
        self.revalidate()

    def setPlaceholderText(self, text: str) -> None:  # noqa: N802
        self.edit.setPlaceholderText(text)

    def setToolTip(self, text: str) -> None:  # noqa: N802
        super().setToolTip(text)
        self.edit.setToolTip(text)

    def setValue(self, value: Number | None) -> None:  # noqa: N802
        self.edit.setText(format_number(value))
        self.revalidate()

    def value(self) -> Number | None:
        return self._value

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # noqa: N802
        self.edit.setText(text)

    def has_number(self) -> bool:
        """True when the text parses (range problems aside): ``value()`` then reflects the text."""
        return self._parse_error is None

    def set_external_error(self, message: str | None) -> None:
        """An error found by someone else (e.g. a rule across several fields); shown like our own."""
        if message != self._external_error:
            self._external_error = message
            self.revalidate()

    def is_valid(self) -> bool:
        return self._valid or not self.isEnabled()

    def error(self) -> str | None:
        return self._error if self.isEnabled() else None

    def revalidate(self) -> None:
        self._revalidating = True
        try:
            self._on_text_changed(self.edit.text())
        finally:
            self._revalidating = False

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.EnabledChange:
            # A disabled field is not used, so it cannot be "wrong"; show that.
            self._show(None if not self.isEnabled() else self._error)
        elif event.type() == QEvent.Type.LanguageChange:
            self.revalidate()

    def _parse(self, text: str) -> tuple[Number | None, str | None]:
        cleaned = text.strip().replace(",", ".")
        if not cleaned:
            if self._optional:
                return None, None
            return None, translate("Widgets", "A value is required.")
        try:
            if self._kind is int:
                as_float = float(cleaned)
                if not as_float.is_integer():
                    return None, fill(translate("Widgets", "Enter a whole number, not %1."), text.strip())
                return int(as_float), None
            number = float(cleaned)
        except ValueError:
            return None, fill(translate("Widgets", "%1 is not a number."), text.strip())
        if not math.isfinite(number):
            return None, fill(translate("Widgets", "%1 is not a number."), text.strip())
        return number, None

    def _on_text_changed(self, text: str) -> None:
        value, error = self._parse(text)
        self._parse_error = error
        if error is None and self._validator is not None:
            error = self._validator(value)
        if error is None:
            error = self._external_error
        was_valid = self._valid
        self._valid = error is None
        self._error = error
        self._show(error)
        # A parsed number is kept even when out of range, so a cross-field check can look at it.
        changed = self._parse_error is None and value != self._value
        if self._parse_error is None:
            self._value = value
        if changed:
            self.valueChanged.emit(value)
        if was_valid != self._valid:
            self.validityChanged.emit(self._valid)
        if not self._revalidating:
            self.edited.emit(changed)

    def _show(self, error: str | None) -> None:
        set_invalid(self.edit, error is not None)
        self.error_label.show_message(error)


class NoticeBar(QFrame):
    """An inline banner (info / warning / error / ok) with an icon and wrapped text."""

    SEVERITY_ICONS = {"info": "info", "warning": "warning", "error": "error", "ok": "check"}

    def __init__(self, parent: QWidget | None = None, *, closable: bool = False, auto_hide_ms: int = 0) -> None:
        super().__init__(parent)
        self.setProperty("role", "notice")
        self._severity = "info"
        # With auto_hide_ms, "info" and "ok" notices (e.g. "Settings applied.") go by themselves.
        self.auto_hide = QTimer(self)
        self.auto_hide.setSingleShot(True)
        self.auto_hide.setInterval(auto_hide_ms)
        self.auto_hide.timeout.connect(self.clear)
        self.icon_label = QLabel(self)
        self.icon_label.setFixedSize(QSize(18, 18))
        self.text_label = QLabel(self)
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text_label, 1)
        if closable:
            close = QToolButton(self)
            close.setAutoRaise(True)
            close.setText("×")
            close.clicked.connect(self.hide)
            layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def severity(self) -> str:
        return self._severity

    def text(self) -> str:
        return self.text_label.text()

    def show_notice(self, text: str, severity: str = "info") -> None:
        self._severity = severity if severity in self.SEVERITY_ICONS else "info"
        self.setProperty("severity", self._severity)
        repolish(self)
        self.icon_label.setPixmap(icon(self.SEVERITY_ICONS[self._severity]).pixmap(16, 16))
        self.text_label.setText(text)
        self.show()
        if self.auto_hide.interval() > 0 and self._severity in ("info", "ok"):
            self.auto_hide.start()
        else:
            self.auto_hide.stop()

    def clear(self) -> None:
        self.auto_hide.stop()
        self.text_label.clear()
        self.hide()


class LevelMeter(QWidget):
    """The microphone level meter: a bar fed with dBFS values (-60 … 0, RMS), green, then amber above
    -12 and red above -3, with a peak mark that holds for 1.5 s. Vertical beside the waveform,
    horizontal in the settings."""

    FLOOR_DB = -60.0
    PEAK_HOLD_S = 1.5

    def __init__(self, orientation: Qt.Orientation = Qt.Orientation.Horizontal, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("levelMeter")
        self.orientation = orientation
        if orientation == Qt.Orientation.Vertical:
            self.setFixedWidth(14)
            self.setMinimumHeight(60)
        else:
            self.setFixedHeight(10)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._db = self.FLOOR_DB
        self.peak_db = self.FLOOR_DB
        self._peak_time = 0.0
        self.setToolTip(self.tr("Microphone level"))

    def set_level_db(self, db: float) -> None:
        if not math.isfinite(db):
            db = self.FLOOR_DB
        db = max(self.FLOOR_DB, min(0.0, db))
        now = time.monotonic()
        if db >= self.peak_db or now - self._peak_time > self.PEAK_HOLD_S:
            self.peak_db, self._peak_time = db, now
        # repaint only for a visible change (the timer feeds it at display rate)
        changed = abs(db - self._db) > 0.5 or (db <= self.FLOOR_DB < self._db)
        self._db = db
        if changed:
            self.update()

    def level_db(self) -> float:
        return self._db

    def fraction(self, db: float) -> float:
        return min(1.0, max(0.0, (db - self.FLOOR_DB) / -self.FLOOR_DB))

    def value(self) -> int:
        """The bar's fill in thousandths."""
        return int(round(self.fraction(self._db) * 1000))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(0, 0, w, h, self.palette().color(QPalette.ColorRole.Base))
        p.setPen(self.palette().color(QPalette.ColorRole.Mid))
        p.drawRect(0, 0, w - 1, h - 1)
        color = QColor("#2bb673") if self._db < -12 else QColor("#e0b000") if self._db < -3 else QColor("#e5484d")
        mark = self.palette().color(QPalette.ColorRole.Text)
        show_peak = self.peak_db > self.FLOOR_DB
        if self.orientation == Qt.Orientation.Vertical:
            filled = int(h * self.fraction(self._db))
            p.fillRect(2, h - filled, w - 4, filled, color)
            if show_peak:
                peak_y = h - int(h * self.fraction(self.peak_db))
                p.fillRect(2, max(1, peak_y - 1), w - 4, 2, mark)
        else:
            filled = int(w * self.fraction(self._db))
            p.fillRect(0, 2, filled, h - 4, color)
            if show_peak:
                peak_x = int(w * self.fraction(self.peak_db))
                p.fillRect(min(w - 3, max(1, peak_x - 1)), 2, 2, h - 4, mark)
        p.end()
