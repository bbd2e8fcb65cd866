"""Look of the app: light and dark palettes that follow the system, stylesheets and icons from resources/.

``ThemeManager.apply(mode)`` with mode "system" | "light" | "dark" sets the Fusion style, a palette and
the matching stylesheet (resources/styles/<scheme>.qss). In "system" mode it follows the desktop's
colour scheme as it changes. Icons are monochrome SVGs drawn with ``currentColor``; ``icon(name)``
renders them in the palette's text colour, so they read well on both schemes.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from qwenvoice import runtime

THEME_MODES = ("system", "light", "dark")
APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resource_path(*parts: str) -> Path:
    """``resources/<parts>`` wherever the app runs from (source tree, wheel, frozen bundle)."""
    return runtime.resource_path(Path(*parts))


def system_prefers_dark(platform_palette: QPalette | None = None) -> bool:
    """The desktop's preference; when the platform does not say, judge by its own window colour."""
    if QGuiApplication.instance() is None:
        return False
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    palette = platform_palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def effective_scheme(mode: str, platform_palette: QPalette | None = None) -> str:
    if mode == "dark":
        return "dark"
    if mode == "light":
        return "light"
    return "dark" if system_prefers_dark(platform_palette) else "light"


def _palette(scheme: str) -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    if scheme == "dark":
        colors = {
            role.Window: "#1f2430", role.WindowText: "#e6e9ef", role.Base: "#161a22",
            role.AlternateBase: "#242a36", role.ToolTipBase: "#2b3240", role.ToolTipText: "#e6e9ef",
            role.PlaceholderText: "#7d8797", role.Text: "#e6e9ef", role.Button: "#2a303c",
            role.ButtonText: "#e6e9ef", role.BrightText: "#ff6b6b", role.Light: "#3a4252",
            role.Midlight: "#323948", role.Mid: "#252b36", role.Dark: "#12151b", role.Shadow: "#000000",
            role.Highlight: "#6d5dfc", role.HighlightedText: "#ffffff", role.Link: "#8fb4ff",
            role.LinkVisited: "#b49cff",
        }
        disabled = {role.WindowText: "#6b7385", role.Text: "#6b7385", role.ButtonText: "#6b7385",
                    role.Base: "#1b2029", role.Button: "#232833"}
    else:
        colors = {
            role.Window: "#f5f6f8", role.WindowText: "#1d2330", role.Base: "#ffffff",
            role.AlternateBase: "#f0f2f5", role.ToolTipBase: "#ffffff", role.ToolTipText: "#1d2330",
            role.PlaceholderText: "#8a93a3", role.Text: "#1d2330", role.Button: "#eceef2",
            role.ButtonText: "#1d2330", role.BrightText: "#d92d20", role.Light: "#ffffff",
            role.Midlight: "#f4f5f7", role.Mid: "#c7ccd4", role.Dark: "#9aa2ae", role.Shadow: "#5b6473",
            role.Highlight: "#5a4de6", role.HighlightedText: "#ffffff", role.Link: "#3659d9",
            role.LinkVisited: "#6b46c1",
        }
        disabled = {role.WindowText: "#9ca3af", role.Text: "#9ca3af", role.ButtonText: "#9ca3af",
                    role.Base: "#f2f3f5", role.Button: "#e6e8ec"}
    for r, value in colors.items():
        p.setColor(r, QColor(value))
    for r, value in disabled.items():
        p.setColor(group.Disabled, r, QColor(value))
    return p


def stylesheet(scheme: str) -> str:
    try:
        return resource_path("styles", f"{scheme}.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


@functools.lru_cache(maxsize=512)
def _tinted_pixmap(name: str, color: str, size: int) -> QPixmap:
    path = resource_path("icons", f"{name}.svg")
    try:
        svg = path.read_text(encoding="utf-8")
    except OSError:
        return QPixmap()
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color).encode("utf-8")))
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return QPixmap.fromImage(image)


def icon(name: str, palette: QPalette | None = None) -> QIcon:
    """A monochrome icon from resources/icons/<name>.svg in the palette's text colours."""
    pal = palette or QGuiApplication.palette()
    normal = pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText).name()
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText).name()
    result = QIcon()
    for size in (16, 24, 32, 48, 64):
        result.addPixmap(_tinted_pixmap(name, normal, size), QIcon.Mode.Normal)
        result.addPixmap(_tinted_pixmap(name, disabled, size), QIcon.Mode.Disabled)
    return result


def app_icon() -> QIcon:
    result = QIcon()
    for size in APP_ICON_SIZES:
        png = resource_path("icons", "png", f"qwenvoice-{size}.png")
        if png.exists():
            result.addFile(str(png), QSize(size, size))
    if result.isNull():
        result.addFile(str(resource_path("icons", "qwenvoice.svg")))
    return result


class ThemeManager(QObject):
    """Applies a theme mode to the application and keeps "system" in step with the desktop.

    One per application: the first one created is returned by ``ThemeManager.current()``.
    """

    schemeChanged = Signal(str)  # "light" | "dark"
    _current: ThemeManager | None = None

    @classmethod
    def current(cls) -> ThemeManager | None:
        return cls._current

    def __init__(self, app: QApplication, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._mode = "system"
        self._scheme = ""
        # Taken before we install our own palette, so "system" keeps meaning the desktop's.
        self._platform_palette = QPalette(QGuiApplication.palette())
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_scheme_changed)
        if ThemeManager._current is None:
            ThemeManager._current = self

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def scheme(self) -> str:
        return self._scheme

    def apply(self, mode: str) -> str:
        if mode not in THEME_MODES:
            mode = "system"
        self._mode = mode
        scheme = effective_scheme(mode, self._platform_palette)
        if scheme != self._scheme:
            self._scheme = scheme
            self._app.setStyle("Fusion")
            self._app.setPalette(_palette(scheme))
            self._app.setStyleSheet(stylesheet(scheme))
            self.schemeChanged.emit(scheme)
        return scheme

    def _on_system_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._mode == "system":
            self.apply("system")


def repolish(widget: object) -> None:
    """Re-evaluate stylesheet rules after a dynamic property (``invalid``, ``severity``) changed."""
    from PySide6.QtWidgets import QWidget

    if isinstance(widget, QWidget):
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)
        widget.update()
