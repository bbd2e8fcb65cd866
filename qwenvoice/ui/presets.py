"""A preset bar for one settings section: pick, load, save as, rename, delete, import, export.

The bar edits a :class:`qwenvoice.settings.presets.PresetBook` (the panel's working copy, so Cancel
discards preset edits too). The button handlers ask the user (name dialogs, file dialogs,
confirmation); each action is also a plain method (``save_as``, ``rename``, ``delete``,
``import_file``, ``export_file``, ``load``) that takes its inputs as arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from qwenvoice.settings.presets import PresetBook, PresetError, make_preset
from qwenvoice.settings.schema import OmniSettings, SettingsError, TtsSettings
from qwenvoice.ui import filedialogs
from qwenvoice.ui.i18n import Retranslator, fill, translate
from qwenvoice.ui.theme import icon

Section = OmniSettings | TtsSettings


class PresetBar(QWidget):
    presetLoaded = Signal(str)
    presetsChanged = Signal()
    message = Signal(str, str)  # text, severity ("ok" | "error" | "warning")

    def __init__(
        self,
        kind: str,
        book: PresetBook,
        current_section: Callable[[], Section | None],
        current_model: Callable[[], str],
        apply_section: Callable[[Section], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kind = kind
        self.book = book
        self._current_section = current_section
        self._current_model = current_model
        self._apply_section = apply_section
        self._i18n = Retranslator()

        self.label = QLabel(self)
        self.combo = QComboBox(self)
        self.combo.setObjectName(f"{kind}PresetCombo")
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.setMinimumContentsLength(14)
        self.load_button = self._button(
            "check", lambda: translate("PresetBar", "Load the selected preset into the fields below")
        )
        self.save_button = self._button("save", lambda: translate("PresetBar", "Save the current values as a preset"))
        self.rename_button = self._button("edit", lambda: translate("PresetBar", "Rename the selected preset"))
        self.delete_button = self._button("trash", lambda: translate("PresetBar", "Delete the selected preset"))
        self.import_button = self._button("import", lambda: translate("PresetBar", "Import presets from a JSON file"))
        self.export_button = self._button(
            "export", lambda: translate("PresetBar", "Export these presets to a JSON file")
        )
        self._i18n.bind(self.label.setText, lambda: translate("PresetBar", "Preset:"))
        self._i18n.bind(self.load_button.setText, lambda: translate("PresetBar", "Load"))
        self.load_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.combo, 1)
        for button in (
            self.load_button,
            self.save_button,
            self.rename_button,
            self.delete_button,
            self.import_button,
            self.export_button,
        ):
            layout.addWidget(button)

        self.load_button.clicked.connect(lambda: self.load(self.combo.currentText()))
        self.save_button.clicked.connect(self._ask_save)
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button.clicked.connect(self._ask_delete)
        self.import_button.clicked.connect(self._ask_import)
        self.export_button.clicked.connect(self._ask_export)
        self.refresh()

    def _button(self, icon_name: str, tip: Callable[[], str]) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon(icon_name))
        button.setAutoRaise(False)
        self._i18n.bind(button.setToolTip, tip)
        self._i18n.bind(button.setAccessibleName, tip)
        button.setProperty("icon_name", icon_name)
        return button

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self.refresh()
        elif event.type() == QEvent.Type.PaletteChange:
            for button in self.findChildren(QToolButton):
                name = button.property("icon_name")
                if name:
                    button.setIcon(icon(str(name), self.palette()))

    def refresh(self, select: str | None = None) -> None:
        current = select if select is not None else self.combo.currentText()
        names = self.book.names(self.kind)
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(names)
        if names:
            index = self.combo.findText(current)
            self.combo.setCurrentIndex(max(index, 0))
        else:
            self.combo.setPlaceholderText(translate("PresetBar", "No presets yet"))
        self.combo.blockSignals(False)
        has = bool(names)
        for button in (self.load_button, self.rename_button, self.delete_button, self.export_button):
            button.setEnabled(has)

    # ------------------------------------------------------------------ actions with explicit inputs

    def load(self, name: str) -> bool:
        preset = self.book.find(self.kind, name)
        if preset is None:
            return False
        section = preset.omni if self.kind == "omni" else preset.tts
        if section is None:
            return False
        self._apply_section(section)
        self.presetLoaded.emit(preset.name)
        self.message.emit(fill(translate("PresetBar", "Loaded preset “%1”. Apply to use it."), preset.name), "ok")
        return True

    def save_as(self, name: str, *, overwrite: bool = False) -> bool:
        section = self._current_section()
        if section is None:
            self.message.emit(translate("PresetBar", "Fix the highlighted fields before saving a preset."), "error")
            return False
        try:
            self.book.save(make_preset(name, section, self._current_model()), overwrite=overwrite)
        except SettingsError as exc:
            self.message.emit(fill(translate("PresetBar", "The preset was not saved: %1"), str(exc)), "error")
            return False
        except PresetError as exc:
            self.message.emit(str(exc), "error")
            return False
        self.refresh(select=name.strip())
        self.presetsChanged.emit()
        self.message.emit(fill(translate("PresetBar", "Saved preset “%1”."), name.strip()), "ok")
        return True

    def rename(self, old: str, new: str) -> bool:
        try:
            self.book.rename(self.kind, old, new)
        except (PresetError, SettingsError) as exc:
            self.message.emit(str(exc), "error")
            return False
        self.refresh(select=new.strip())
        self.presetsChanged.emit()
        return True

    def delete(self, name: str) -> bool:
        try:
            self.book.delete(self.kind, name)
        except PresetError as exc:
            self.message.emit(str(exc), "error")
            return False
        self.refresh()
        self.presetsChanged.emit()
        return True

    def import_file(self, path: Path) -> int:
        try:
            added, notices = self.book.import_json(path)
        except PresetError as exc:
            self.message.emit(str(exc), "error")
            return 0
        self.refresh(select=added[-1].name if added and added[-1].kind == self.kind else None)
        self.presetsChanged.emit()
        text = fill(translate("PresetBar", "Imported %1 preset(s) from %2."), len(added), path.name)
        if notices:
            skipped = "; ".join(str(n) for n in notices)
            self.message.emit(text + " " + fill(translate("PresetBar", "Skipped: %1"), skipped), "warning")
        else:
            self.message.emit(text, "ok")
        return len(added)

    def export_file(self, path: Path) -> int:
        try:
            count = self.book.export_json(path, kind=self.kind)
        except OSError as exc:
            self.message.emit(
                fill(translate("PresetBar", "Could not write %1: %2"), str(path), exc.strerror or str(exc)), "error"
            )
            return 0
        self.message.emit(fill(translate("PresetBar", "Exported %1 preset(s) to %2."), count, path.name), "ok")
        return count

    # ------------------------------------------------------------------ button handlers (ask first)

    def _ask_save(self) -> None:
        name, ok = QInputDialog.getText(
            self,
            translate("PresetBar", "Save preset"),
            translate("PresetBar", "Preset name:"),
            QLineEdit.EchoMode.Normal,
            self.combo.currentText(),
        )
        if not ok or not name.strip():
            return
        overwrite = False
        if self.book.find(self.kind, name) is not None:
            answer = QMessageBox.question(
                self,
                translate("PresetBar", "Replace preset"),
                fill(translate("PresetBar", "Replace the preset “%1”?"), name.strip()),
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            overwrite = True
        self.save_as(name, overwrite=overwrite)

    def _ask_rename(self) -> None:
        old = self.combo.currentText()
        if not old:
            return
        new, ok = QInputDialog.getText(
            self,
            translate("PresetBar", "Rename preset"),
            translate("PresetBar", "New name:"),
            QLineEdit.EchoMode.Normal,
            old,
        )
        if ok and new.strip() and new.strip() != old:
            self.rename(old, new)

    def _ask_delete(self) -> None:
        name = self.combo.currentText()
        if not name:
            return
        answer = QMessageBox.question(
            self, translate("PresetBar", "Delete preset"), fill(translate("PresetBar", "Delete the preset “%1”?"), name)
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(name)

    def _ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            translate("PresetBar", "Import presets"),
            filedialogs.start_path("presets"),
            translate("PresetBar", "Preset files (*.json)"),
        )
        if path:
            filedialogs.remember("presets", path)
            self.import_file(Path(path))

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            translate("PresetBar", "Export presets"),
            filedialogs.start_path("presets", f"qwenvoice-{self.kind}-presets.json"),
            translate("PresetBar", "Preset files (*.json)"),
        )
        if path:
            filedialogs.remember("presets", path)
            self.export_file(Path(path))
