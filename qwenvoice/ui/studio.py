"""Speech studio (Qwen-TTS-Realtime): type or paste text, hear it as it streams, save it in the format set
(a WAV for PCM and WAV; the MP3 or Opus bytes the server sent)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qwenvoice.app.controller import Controller

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.settings.fields import QT_TRANSLATE_NOOP
from qwenvoice.ui import filedialogs
from qwenvoice.ui.i18n import Retranslator, translate

SAVE_FILTERS = {".wav": "WAV audio", ".mp3": "MP3 audio", ".opus": "Opus audio"}
# Marked so lupdate extracts them (translate() of a variable finds nothing, so they stayed English).
MODES = (("server_commit", QT_TRANSLATE_NOOP("StudioPanel", "Server decides segments (server_commit)")),
         ("commit", QT_TRANSLATE_NOOP("StudioPanel", "One segment per paragraph (commit)")))


class StudioPanel(QWidget):
    """Drives the controller's TTS methods; shows the progress of segments as they come back."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("studio")
        self.controller = controller
        self._i18n = Retranslator()  # texts set again on a live language change
        self._last_state = ("idle", "")
        tr = self._i18n.bind
        self.text = QPlainTextEdit()
        self.text.setObjectName("studioText")
        tr(self.text.setPlaceholderText, lambda: translate("StudioPanel", "Type or paste text to speak…"))
        self.mode = QComboBox()
        for index, (value, label) in enumerate(MODES):
            self.mode.addItem(label, value)
            tr(functools.partial(self.mode.setItemText, index), functools.partial(translate, "StudioPanel", label))
        self.voice_label = QLabel()
        self.voice_label.setObjectName("studioVoice")
        self.speak_button = QPushButton()
        tr(self.speak_button.setText, lambda: translate("StudioPanel", "Speak"))
        self.speak_button.setObjectName("primaryButton")
        self.speak_button.setDefault(True)
        self.speak_button.setMinimumWidth(110)
        self.speak_button.clicked.connect(self.speak)
        self.stop_button = QPushButton()
        tr(self.stop_button.setText, lambda: translate("StudioPanel", "Stop"))
        self.stop_button.clicked.connect(self.controller.stop_speaking)
        self.stop_button.setEnabled(False)
        self.save_button = QPushButton()
        tr(self.save_button.setText, lambda: translate("StudioPanel", "Save WAV…"))
        self.save_button.clicked.connect(self._save_clicked)
        self.save_button.setEnabled(False)
        self.progress = QProgressBar()
        tr(self.progress.setFormat, lambda: translate("StudioPanel", "%v of %m segments"))
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel(self.tr("Ready"))
        self.status.setObjectName("studioStatus")

        options = QHBoxLayout()
        mode_label = QLabel()
        tr(mode_label.setText, lambda: translate("StudioPanel", "Mode"))
        options.addWidget(mode_label)
        options.addWidget(self.mode)
        options.addStretch(1)
        options.addWidget(self.voice_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.speak_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.progress, 1)
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 10, 10, 10)
        box.addLayout(options)
        box.addWidget(self.text, 1)
        box.addLayout(buttons)
        box.addWidget(self.status)

        controller.tts_progress.connect(self.on_progress)
        controller.tts_state_changed.connect(self.on_state)
        self.refresh_voice()

    def refresh_voice(self) -> None:
        describe = getattr(self.controller, "tts_description", None)
        self.voice_label.setText(describe() if callable(describe) else "")

    def speak(self) -> None:
        text = self.text.toPlainText().strip()
        if not text:
            self.status.setText(self.tr("Nothing to speak: type some text first."))
            return
        self.refresh_voice()
        self.controller.speak(text, self.mode.currentData())

    def on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self.on_state(*self._last_state)
        super().changeEvent(event)

    def on_state(self, state: str, detail: str) -> None:
        self._last_state = (state, detail)
        busy = state in ("connecting", "speaking")
        self.speak_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.save_button.setEnabled(self.controller.speech_duration_s() > 0 and not busy)
        labels = {
            "connecting": self.tr("Connecting…"),
            "speaking": self.tr("Speaking…"),
            "done": self.tr("Done"),
            "stopped": self.tr("Stopped"),
            "failed": self.tr("Failed"),
            "idle": self.tr("Ready"),
        }
        text = labels.get(state, state)
        if detail:
            text += f" — {detail}"
        self.status.setText(text)

    def _save_clicked(self) -> None:
        suffix = self.controller.speech_file_suffix()  # what the server sent: .wav, .mp3 or .opus
        kind = SAVE_FILTERS.get(suffix, SAVE_FILTERS[".wav"])
        name, _ = QFileDialog.getSaveFileName(self, self.tr("Save speech"),
                                              filedialogs.start_path("speech", f"speech{suffix}", "music"),
                                              f"{kind} (*{suffix})")
        if name:
            filedialogs.remember("speech", name)
            path = Path(name)
            self.controller.save_speech(path if path.suffix.lower() == suffix else path.with_name(path.name + suffix))
