"""The API key rows of the Connection tab. The key is handed to the settings services on Apply
(``SettingsServices.save_api_key``), which keep it in the OS keyring; this widget never stores it,
never shows a stored key again, and never puts it in the settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QMessageBox, QWidget

from qwenvoice.settings.secrets import ApiKeyStatus, KeySource, SecretStoreError
from qwenvoice.settings.services import SettingsServices
from qwenvoice.ui.i18n import fill, translate
from qwenvoice.ui.widgets import ErrorLabel

if TYPE_CHECKING:
    from qwenvoice.ui.settings_tabs import TabBuilder


class ApiKeySection:
    """Key field, "forget" button, where-the-key-lives line and the no-keyring opt-in."""

    def __init__(self, services: SettingsServices | None, parent: QWidget,
                 show_problem: Callable[[str], None]) -> None:
        self._services = services
        self._parent = parent
        self._show_problem = show_problem  # the panel points at the tab and says why
        self.remove_requested = False
        self.edit = QLineEdit()
        self.edit.setObjectName("apiKey")
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setClearButtonEnabled(True)
        self.edit.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.edit.textChanged.connect(self._on_edited)
        self.status_label = QLabel()
        self.status_label.setObjectName("keyStatus")
        self.status_label.setProperty("role", "hint")
        self.status_label.setWordWrap(True)
        self.plaintext_check = QCheckBox()
        self.plaintext_check.setObjectName("allowPlaintextKey")
        self.plaintext_check.toggled.connect(self._on_plaintext_toggled)
        self.error: ErrorLabel | None = None

    def build(self, form: QFormLayout, build: TabBuilder) -> None:
        from qwenvoice.ui.settings_tabs import icon_button

        self.remove_button = icon_button("trash")
        self.remove_button.setObjectName("removeKey")
        build.i18n.bind(self.remove_button.setText, lambda: translate("SettingsPanel", "Forget stored key"))
        self.remove_button.clicked.connect(self.request_removal)
        form.addRow(
            build.form.label("api_key", lambda: translate("SettingsPanel", "DashScope key:")),
            build.with_error("api_key", self.edit, self.remove_button),
        )
        build.form.controls["api_key"] = self.edit  # the label's buddy
        self.error = build.form.error_labels["api_key"]
        form.addRow("", self.status_label)
        build.i18n.bind(
            self.plaintext_check.setText,
            lambda: translate("SettingsPanel", "No keyring here: store the key unencrypted in a private file"),
        )
        form.addRow("", self.plaintext_check)

    def status(self) -> ApiKeyStatus | None:
        return self._services.api_key_status() if self._services is not None else None

    def _on_edited(self, text: str) -> None:
        # Not registered with the log scrubber per keystroke (that would scrub every prefix); Apply
        # and Test connection register the finished key.
        if text:
            self.remove_requested = False
        self.update_status()

    def request_removal(self) -> None:
        self.remove_requested = True
        self.edit.clear()
        self.update_status()

    def reset(self) -> None:
        self.remove_requested = False
        self.edit.clear()

    def _on_plaintext_toggled(self, checked: bool) -> None:
        if not checked:
            return
        status = self.status()
        path = str(status.plaintext_path) if status is not None else "?"
        answer = QMessageBox.warning(
            self._parent,
            translate("SettingsPanel", "Store the key unencrypted?"),
            fill(
                translate(
                    "SettingsPanel",
                    "This machine has no keyring. The key will be written unencrypted to %1 (readable only by "
                    "your user account, but by every program you run). Setting DASHSCOPE_API_KEY in the "
                    "environment avoids this. Store it in the file?",
                ),
                path,
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.plaintext_check.blockSignals(True)
            self.plaintext_check.setChecked(False)
            self.plaintext_check.blockSignals(False)
        self.update_status()

    def update_status(self) -> None:
        key_status = self.status()
        if self.error is not None:
            self.error.show_message(None)
        if key_status is None:
            self.edit.setEnabled(False)
            self.remove_button.setEnabled(False)
            self.plaintext_check.hide()
            self.status_label.setText(translate("SettingsPanel", "Key storage is not available."))
            return
        keyring = key_status.keyring
        source = key_status.source
        stored_in = key_status.stored_in
        self.plaintext_check.setVisible(not keyring.available)
        self.remove_button.setEnabled(stored_in is not KeySource.NONE and not self.remove_requested)
        self.edit.setPlaceholderText(self._placeholder(source, stored_in))
        lines: list[str] = []
        if source is KeySource.ENV:
            lines.append(
                translate("SettingsPanel", "DASHSCOPE_API_KEY is set in the environment; it takes precedence.")
            )
        if keyring.available:
            lines.append(translate("SettingsPanel", "Keys are kept in the system keyring; they are never shown again."))
        else:
            lines.append(self._keyring_reason(keyring.kind, keyring.reason))
        if source is KeySource.NONE and not self.edit.text():
            lines.append(translate("SettingsPanel", "Without a key the app uses its built-in offline server."))
        self.status_label.setText(" ".join(lines))

    def _placeholder(self, source: KeySource, stored_in: KeySource) -> str:
        if self.remove_requested:
            return translate("SettingsPanel", "The stored key will be forgotten on Apply")
        if stored_in is KeySource.PLAINTEXT_FILE:
            return translate("SettingsPanel", "•••• stored in a private file")
        if stored_in is KeySource.KEYRING:
            return translate("SettingsPanel", "•••• stored in the keyring")
        if source is KeySource.ENV:
            return translate("SettingsPanel", "•••• from DASHSCOPE_API_KEY")
        return translate("SettingsPanel", "Paste your DashScope API key")

    @staticmethod
    def _keyring_reason(kind: str, reason: str) -> str:
        texts = {
            "none": lambda: translate(
                "SettingsPanel",
                "This machine has no system keyring (Secret Service, KWallet, macOS Keychain or Windows "
                "Credential Manager). Set DASHSCOPE_API_KEY in the environment, or store the key in a "
                "private file below if you accept that risk.",
            ),
            "empty": lambda: translate("SettingsPanel", "The system keyring has no working backend."),
            "unusable": lambda: translate("SettingsPanel", "The system keyring is not usable."),
            "read_error": lambda: translate("SettingsPanel", "The system keyring could not be read."),
        }
        text = texts.get(kind)
        return text() if text is not None else fill(translate("SettingsPanel", "No keyring: %1"), reason)

    def hand_over(self) -> bool:
        """On Apply: give a typed key to the services (or ask them to forget the stored one)."""
        status = self.status()
        if status is None or self._services is None:
            return True
        text = self.edit.text().strip()
        try:
            if text:
                allow_file = self.plaintext_check.isChecked() and not status.keyring.available
                self._services.save_api_key(text, allow_plaintext_file=allow_file)
            elif self.remove_requested:
                self._services.clear_api_key()
        except SecretStoreError as exc:
            message = str(exc)
            if self.error is not None:
                self.error.show_message(message)
            self._show_problem(fill(translate("SettingsPanel", "The API key was not stored: %1"), message))
            return False
        self.reset()
        self.update_status()
        return True
