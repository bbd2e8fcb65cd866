"""Non-modal notices: banners floating over the top of the window's pages, never a blocking dialog.

The banners are an overlay: showing or dismissing one never moves a widget the user may be about to
click. Informational notices fade on their own; the same notice shown again refreshes the one on screen
instead of stacking a second.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from qwenvoice.session.status import ERROR, INFO, WARNING

LEVEL_STYLE = {
    INFO: ("#1c64f2", "ℹ"),
    WARNING: ("#b7791f", "⚠"),
    ERROR: ("#e5484d", "✖"),
}
TINT = 0.14  # how much of the level's colour is mixed into the banner's (opaque) background


def _mix(fg: QColor, bg: QColor, amount: float) -> str:
    def channel(a: int, b: int) -> int:
        return round(a * amount + b * (1 - amount))

    return QColor(channel(fg.red(), bg.red()), channel(fg.green(), bg.green()), channel(fg.blue(), bg.blue())).name()


class Banner(QFrame):
    closed = Signal()

    def __init__(
        self, level: str, text: str, action_label: str = "", key: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.level, self.key = level, key
        self.setObjectName("banner")
        self.setProperty("level", level)
        self.setAutoFillBackground(True)
        fg, glyph = LEVEL_STYLE.get(level, LEVEL_STYLE[INFO])
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
        # Informational banners go by themselves; pointing at one keeps it (see enterEvent).
        self.expiry = QTimer(self)
        self.expiry.setSingleShot(True)
        self.expiry.timeout.connect(self.dismiss)
        self._tint()

    def _tint(self) -> None:
        # Opaque, since the banner floats over the page: the level's colour mixed into the window's.
        fg = LEVEL_STYLE.get(self.level, LEVEL_STYLE[INFO])[0]
        bg = _mix(QColor(fg), QApplication.palette().color(QPalette.ColorRole.Window), TINT)
        sheet = f"QFrame#banner {{ background: {bg}; border: 1px solid {fg}; border-radius: 6px; }}"
        if sheet != self.styleSheet():  # setting it sends a PaletteChange of its own
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._tint()

    def enterEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        self._held = self.expiry.isActive()
        self.expiry.stop()
        super().enterEvent(event)  # type: ignore[arg-type]

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if getattr(self, "_held", False):
            self._held = False
            self.expiry.start()
        super().leaveEvent(event)

    def dismiss(self) -> None:
        self.expiry.stop()
        self.hide()
        self.closed.emit()
        self.deleteLater()


class NotificationArea(QWidget):
    """Shows at most ``max_visible`` banners; info notices fade after ``info_timeout_ms``.

    Given a ``host``, the area floats over it (top right, below ``top_offset()``) and follows its size;
    it takes no room in any layout, so nothing under it moves when a notice comes or goes.
    """

    MARGIN = 8
    MAX_WIDTH = 560

    def __init__(
        self,
        max_visible: int = 3,
        info_timeout_ms: int = 6000,
        parent: QWidget | None = None,
        *,
        host: QWidget | None = None,
        top_offset: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(host if host is not None else parent)
        self.setObjectName("notifications")
        self.max_visible = max_visible
        self.info_timeout_ms = info_timeout_ms
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(4)
        self.banners: list[Banner] = []
        self.history: list[tuple[str, str]] = []  # every notice shown (level, text), for tests and logs
        self._host = host
        self._top_offset = top_offset or (lambda: 0)
        if host is not None:
            host.installEventFilter(self)
            self.hide()

    def show_notice(
        self,
        level: str,
        text: str,
        action_label: str = "",
        on_action: Callable[[], None] | None = None,
        key: str = "",
        sticky: bool = False,
    ) -> Banner:
        """Add a banner; a notice with the same ``key`` replaces the previous one, and one with the same
        level and text as a banner on screen refreshes that banner instead of stacking another."""
        self.history.append((level, text))
        if key:
            for old in [b for b in self.banners if b.key == key]:
                self._remove(old)
        for same in self.banners:
            if same.level == level and same.message.text() == text and same.key == key:
                if same.expiry.isActive():
                    same.expiry.start()  # shown again: it stays its full time from now
                return same
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
            banner.expiry.setInterval(self.info_timeout_ms)
            banner.expiry.start()
        self.place()
        return banner

    def _forget(self, banner: Banner) -> None:
        if banner in self.banners:
            self.banners.remove(banner)
            self.place()

    def _remove(self, banner: Banner) -> None:
        banner.expiry.stop()
        self._forget(banner)
        banner.hide()
        banner.setParent(None)
        banner.deleteLater()

    def dismiss_key(self, key: str) -> None:
        for b in [b for b in self.banners if b.key == key]:
            self._remove(b)

    def texts(self) -> list[str]:
        return [b.message.text() for b in self.banners]

    # ----- floating over the host -----

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self._host and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.place()
        return False

    def place(self) -> None:
        host = self._host
        if host is None:
            return
        if not self.banners:
            self.hide()  # an empty area must not take the clicks meant for what is under it
            return
        width = max(0, min(self.MAX_WIDTH, host.width() - 2 * self.MARGIN))
        heights = [max(b.heightForWidth(width), b.minimumSizeHint().height()) for b in self.banners]
        height = sum(heights) + self._box.spacing() * (len(heights) - 1)
        self.setGeometry(host.width() - width - self.MARGIN, self._top_offset() + self.MARGIN, width, height)
        self.show()
        self.raise_()
