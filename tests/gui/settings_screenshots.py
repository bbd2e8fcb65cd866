"""Draw the settings panel on a real X display and save a PNG of every tab (run as a child process).

    QT_QPA_PLATFORM=xcb DISPLAY=:99 python -m tests.gui.settings_screenshots OUT_DIR

Writes <theme>-<language>-<tab>.png for light/dark in English and light in Simplified Chinese, plus
invalid-<tab>.png showing inline errors, at the smallest size the app supports (1024x700).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from qwenvoice.settings.presets import PresetBook, make_preset
from qwenvoice.settings.schema import AppSettings
from qwenvoice.settings.secrets import ApiKeyStore
from qwenvoice.settings.store import SettingsStore
from qwenvoice.ui.i18n import LanguageManager
from qwenvoice.ui.settings_panel import TAB_KEYS, SettingsPanel
from qwenvoice.ui.theme import ThemeManager
from tests.gui.settings_fakes import FakeServices

WIDTH, HEIGHT = 1024, 700


def settle(ms: int = 150) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    QCoreApplication.processEvents()


def shoot(panel: SettingsPanel, out: Path, prefix: str) -> list[Path]:
    written = []
    for index, key in enumerate(TAB_KEYS):
        panel.tabs.setCurrentIndex(index)
        settle(250 if key == "audio" else 120)  # the audio tab polls the mic level
        path = out / f"{prefix}-{key}.png"
        if not panel.grab().save(str(path)):
            raise SystemExit(f"could not write {path}")
        written.append(path)
    return written


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    themes = ThemeManager(app)
    languages = LanguageManager()
    config = Path(tempfile.mkdtemp(prefix="qwenvoice-shots-"))
    settings = AppSettings()
    settings.omni.instructions = "You are a friendly assistant. Keep answers short and speak naturally."
    settings.audio.input_device = "mic [PulseAudio]"
    book = PresetBook(settings.presets)
    book.save(make_preset("Friendly", settings.omni, settings.connection.omni_model))
    book.save(make_preset("Narrator", settings.tts, settings.connection.tts_model))
    # The machine's own keyring: on a headless box this shows the "no keyring" explanation.
    services = FakeServices(ApiKeyStore(config_dir=config, environ={}))
    services.level_db = -24.0

    written: list[Path] = []
    for theme, language in (("light", "en"), ("dark", "en"), ("light", "zh_CN")):
        themes.apply(theme)
        languages.apply(language)
        panel = SettingsPanel(
            settings, store=SettingsStore(config), services=services, languages=languages, themes=themes
        )
        panel.resize(WIDTH, HEIGHT)
        panel.show()
        settle(300)
        written += shoot(panel, out, f"{theme}-{language}")
        if theme == "light" and language == "en":
            panel.number_fields["omni.temperature"].setText("2.5")
            panel.number_fields["tts.volume"].setText("140")
            panel.tabs.setCurrentIndex(0)
            panel.number_fields["omni.temperature"].setFocus()
            settle()
            written += shoot(panel, out, "invalid")
        panel.close()
        panel.deleteLater()
        settle(50)
    languages.apply("en")
    for path in written:
        print(path)
    app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
