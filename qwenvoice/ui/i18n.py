"""UI languages: English (the source texts) and Simplified Chinese, via Qt translations (.ts → .qm).

Texts are written as ``translate("Context", "text")`` with literal strings, the form
``pyside6-lupdate`` extracts (resources/tools/update_translations.py runs lupdate + lrelease). A
widget registers each visible text once with a :class:`Retranslator` as a setter and a text
function; on ``QEvent.LanguageChange`` it calls ``retranslate()`` and every label, tooltip and item
text is set again in the new language, without rebuilding the widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QObject, QTranslator, Signal

from qwenvoice.settings.fields import LANGUAGE_NATIVE_NAMES  # each language's own name
from qwenvoice.ui.theme import resource_path

UI_LANGUAGES = ("en", "zh_CN")
LANGUAGE_CHOICES = ("system", "en", "zh_CN")
__all__ = ["LANGUAGE_CHOICES", "LANGUAGE_NATIVE_NAMES", "UI_LANGUAGES", "LanguageManager", "Retranslator", "fill",
           "resolve_language", "translate"]


def resolve_language(choice: str, system_locale: str | None = None) -> str:
    """Map a settings choice ("system" | "en" | "zh_CN") to a shipped UI language."""
    if choice in UI_LANGUAGES:
        return choice
    name = system_locale if system_locale is not None else QLocale.system().name()
    # zh_CN, zh_SG and bare zh use Simplified script; zh_TW/zh_HK fall back to English for now.
    if name == "zh" or name.startswith(("zh_CN", "zh_SG", "zh_Hans")):
        return "zh_CN"
    return "en"


def translate(context: str, source: str) -> str:
    """The text in the current UI language. Call it with two literal strings (lupdate reads them)."""
    return QCoreApplication.translate(context, source)


def fill(text: str, *args: object) -> str:
    """Fill Qt-style %1, %2 … placeholders: ``fill(translate("Ctx", "Saved %1."), name)``."""
    # Highest index first, so %1 does not eat the start of %10.
    for index in range(len(args), 0, -1):
        text = text.replace(f"%{index}", str(args[index - 1]))
    return text


class LanguageManager(QObject):
    """Installs the app's and Qt's own translators for one language at a time.

    One per application: the first one created is returned by ``LanguageManager.current()``.
    """

    languageChanged = Signal(str)
    _current: LanguageManager | None = None

    @classmethod
    def current(cls) -> LanguageManager | None:
        return cls._current

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._language = "en"
        self._translators: list[QTranslator] = []
        if LanguageManager._current is None:
            LanguageManager._current = self

    @property
    def language(self) -> str:
        return self._language

    def apply(self, choice: str) -> str:
        language = resolve_language(choice)
        app = QCoreApplication.instance()
        if app is None:
            return language
        for translator in self._translators:
            app.removeTranslator(translator)
        self._translators.clear()
        if language != "en":
            ours = QTranslator(self)
            if ours.load(str(resource_path("translations", f"qwenvoice_{language}.qm"))):
                self._translators.append(ours)
            qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
            qtbase = QTranslator(self)
            if qtbase.load(f"qtbase_{language}", qt_dir):  # standard buttons, context menus
                self._translators.append(qtbase)
            for translator in self._translators:
                app.installTranslator(translator)
        changed = language != self._language
        self._language = language
        QLocale.setDefault(QLocale(language))
        if changed:
            self.languageChanged.emit(language)
        return language


@dataclass(slots=True)
class _Binding:
    setter: Callable[[str], object]
    text: Callable[[], str]


class Retranslator:
    """Remembers (setter, text function) pairs and re-applies them after a language change.

    Write the text function as ``lambda: translate("Context", "Source text")`` with literal strings:
    that is the form ``pyside6-lupdate`` extracts.
    """

    def __init__(self) -> None:
        self._bindings: list[_Binding] = []

    def bind(self, setter: Callable[[str], object], text: Callable[[], str]) -> str:
        self._bindings.append(_Binding(setter, text))
        value = text()
        setter(value)
        return value

    def retranslate(self) -> None:
        alive: list[_Binding] = []
        for binding in self._bindings:
            try:
                binding.setter(binding.text())
            except RuntimeError:  # the C++ widget behind the setter is gone
                continue
            alive.append(binding)
        self._bindings = alive

    def clear(self) -> None:
        self._bindings.clear()
