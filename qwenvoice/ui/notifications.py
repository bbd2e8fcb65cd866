"""Non-modal notices: a stack of banners at the top of the window, never a blocking dialog."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from qwenvoice.session.status import ERROR, INFO, WARNING

LEVEL_STYLE = {
    INFO: ("#1c64f2", "rgba(28,100,242,0.12)", "ℹ"),
    WARNING: ("#b7791f", "rgba(224,176,0,0.16)", "⚠"),
    ERROR: ("#e5484d", "rgba(229,72,77,0.14)", "✖"),
}


class Banner(QFrame):
    closed = Signal()

    def __init__(
        self, level: str, text: str, action_label: str = "", key: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.level, self.key = level, key
        self.setObjectName("banner")
        self.setProperty("level", level)
        fg, bg, glyph = LEVEL_STYLE.get(level, LEVEL_STYLE[INFO])
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border: 1px solid {fg}; border-radius: 6px; }}"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 4, 4)
        icon = QLabel(glyph)
        icon.setStyleSheet(f"color: {fg}; font-size: 15px;")
        self.message = QLabel(text)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(icon)
        row.addWidget(self.message, 1)
        self.action_button: QPushButton | None = None
        if action_label:
            self.action_button = QPushButton(action_label)
            row.addWidget(self.action_button)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip(self.tr("Dismiss"))
        close.clicked.connect(self.dismiss)
        self.close_button = close
        row.addWidget(close)

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()
        self.deleteLater()


class NotificationArea(QWidget):
    """Shows at most ``max_visible`` banners; info notices fade after a few seconds."""

    def __init__(self, max_visible: int = 3, info_timeout_ms: int = 8000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notifications")
        self.max_visible = max_visible
        self.info_timeout_ms = info_timeout_ms
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(8, 4, 8, 0)
        self._box.setSpacing(4)
        self.banners: list[Banner] = []
        self.history: list[tuple[str, str]] = []  # every notice shown (level, text), for tests and logs

    def show_notice(
        self,
        level: str,
        text: str,
        action_label: str = "",
        on_action: Callable[[], None] | None = None,
        key: str = "",
        sticky: bool = False,
    ) -> Banner:
        """Add a banner; a notice with the same ``key`` replaces the previous one."""
        self.history.append((level, text))
        if key:
            for old in [b for b in self.banners if b.key == key]:
                self._remove(old)
        banner = Banner(level, text, action_label, key)
        if banner.action_button is not None and on_action is not None:
            banner.action_button.clicked.connect(on_action)
            banner.action_button.clicked.connect(banner.dismiss)
        banner.closed.connect(lambda b=banner: self._forget(b))
        self._box.addWidget(banner)
        self.banners.append(banner)
        while len(self.banners) > self.max_visible:
            self._remove(self.banners[0])
        if level == INFO and not sticky and self.info_timeout_ms > 0:
            QTimer.singleShot(self.info_timeout_ms, lambda b=banner: self._expire(b))
        return banner

    def _expire(self, banner: Banner) -> None:
        if banner in self.banners:
            self._remove(banner)

    def _forget(self, banner: Banner) -> None:
        if banner in self.banners:
            self.banners.remove(banner)

    def _remove(self, banner: Banner) -> None:
        self._forget(banner)
        banner.hide()
        banner.setParent(None)
        banner.deleteLater()

    def dismiss_key(self, key: str) -> None:
        for b in [b for b in self.banners if b.key == key]:
            self._remove(b)

    def texts(self) -> list[str]:
        return [b.message.text() for b in self.banners]
