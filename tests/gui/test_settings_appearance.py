"""Look and language: themes, icons, the app icon, the .desktop file, translations, shared widgets."""

from __future__ import annotations

import configparser
import re
import xml.etree.ElementTree as ET

import pytest
import shiboken6
from PySide6.QtGui import QImage, QPalette
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from qwenvoice.ui.i18n import LanguageManager, Retranslator, fill, resolve_language, translate
from qwenvoice.ui.theme import ThemeManager, app_icon, icon, resource_path
from qwenvoice.ui.widgets import LevelMeter, NoticeBar, NumberField

TRANSLATIONS = resource_path("translations")


# ------------------------------------------------------------------------------------------ language


@pytest.mark.parametrize(
    ("choice", "system", "expected"),
    [
        ("system", "zh_CN", "zh_CN"),
        ("system", "zh_SG", "zh_CN"),
        ("system", "zh_TW", "en"),
        ("system", "en_US", "en"),
        ("system", "de_DE", "en"),
        ("zh_CN", "en_US", "zh_CN"),
        ("en", "zh_CN", "en"),
    ],
)
def test_language_follows_the_system_unless_chosen(choice, system, expected):
    assert resolve_language(choice, system) == expected


def test_fill_replaces_numbered_placeholders():
    assert fill("%1 of %2 (%10)", "a", "b", 3, 4, 5, 6, 7, 8, 9, "j") == "a of b (j)"


def test_chinese_catalogue_covers_every_text_in_the_code(tmp_path):
    """lupdate over today's sources finds nothing the committed catalogue lacks (run
    resources/tools/update_translations.py and translate what it adds)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    lupdate = Path(sys.executable).parent / "pyside6-lupdate"
    if not lupdate.exists():
        pytest.skip("pyside6-lupdate is not installed")
    sources = [str(f) for f in sorted((root / "qwenvoice" / "ui").glob("*.py"))] + [
        str(root / "qwenvoice" / "settings" / "fields.py"), str(root / "qwenvoice" / "gui.py")]
    copy = tmp_path / "qwenvoice_zh_CN.ts"
    shutil.copy(TRANSLATIONS / "qwenvoice_zh_CN.ts", copy)
    subprocess.run([str(lupdate), "-locations", "none", "-source-language", "en", "-target-language", "zh_CN",
                    *sources, "-ts", str(copy)], check=True, capture_output=True, timeout=120)
    missing = [f"{ctx.findtext('name')}: {m.findtext('source')}" for ctx in ET.parse(copy).getroot().iter("context")
               for m in ctx.iter("message") if m.find("translation").get("type") == "unfinished"]  # type: ignore[union-attr]
    assert not missing, missing


def test_chinese_catalogue_is_complete_and_keeps_placeholders():
    tree = ET.parse(TRANSLATIONS / "qwenvoice_zh_CN.ts")
    messages = [m for m in tree.getroot().iter("message")]
    assert len(messages) > 200
    for message in messages:
        source = message.findtext("source") or ""
        translation = message.find("translation")
        assert translation is not None
        if translation.get("type") in ("obsolete", "vanished"):
            continue
        assert translation.get("type") != "unfinished", source
        texts = [translation.text or ""] + [n.text or "" for n in translation.findall("numerusform")]
        text = next(t for t in texts if t.strip())
        assert sorted(re.findall(r"%(?:\d+|n|v|m)", source)) == sorted(re.findall(r"%(?:\d+|n|v|m)", text)), source
    assert (TRANSLATIONS / "qwenvoice_zh_CN.qm").stat().st_size > 1000
    assert (TRANSLATIONS / "qwenvoice_en.ts").exists() and (TRANSLATIONS / "qwenvoice_en.qm").exists()


def test_language_manager_switches_translations(qapp):
    manager = LanguageManager.current() or LanguageManager()
    try:
        assert manager.apply("zh_CN") == "zh_CN"
        assert translate("SettingsPanel", "Conversation") == "对话"
        assert QApplication.translate("QPlatformTheme", "Cancel") == "取消"  # Qt's own catalogue
    finally:
        manager.apply("en")
    assert translate("SettingsPanel", "Conversation") == "Conversation"


def test_retranslator_reapplies_and_drops_dead_widgets(qtbot):
    from PySide6.QtWidgets import QLabel

    manager = LanguageManager.current() or LanguageManager()
    label = QLabel()
    qtbot.addWidget(label)
    doomed = QLabel()
    retranslator = Retranslator()
    retranslator.bind(label.setText, lambda: translate("SettingsPanel", "Speech"))
    retranslator.bind(doomed.setText, lambda: translate("SettingsPanel", "Speech"))
    shiboken6.delete(doomed)  # the C++ widget is gone; its setter now raises RuntimeError
    try:
        manager.apply("zh_CN")
        retranslator.retranslate()
        assert label.text() == "语音合成"
    finally:
        manager.apply("en")
    retranslator.retranslate()
    assert label.text() == "Speech"


# ------------------------------------------------------------------------------------------ theme


def test_dark_and_light_themes(qapp):
    manager = ThemeManager.current() or ThemeManager(qapp)
    try:
        assert manager.apply("dark") == "dark"
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
        assert 'invalid="true"' in qapp.styleSheet()
        dark_icon = icon("mic").pixmap(24, 24).toImage()
        assert manager.apply("light") == "light"
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 200
        light_icon = icon("mic").pixmap(24, 24).toImage()
        # icons are drawn in the palette's text colour: light strokes on dark, dark strokes on light
        assert _darkest_opaque(dark_icon) > 150 and _darkest_opaque(light_icon) < 80
        assert manager.apply("system") in ("light", "dark")
    finally:
        manager.apply("light")


def _darkest_opaque(image: QImage) -> int:
    values = [
        image.pixelColor(x, y).lightness()
        for y in range(image.height())
        for x in range(image.width())
        if image.pixelColor(x, y).alpha() > 200
    ]
    assert values, "icon is empty"
    return max(values) if min(values) > 128 else min(values)


def test_every_icon_is_a_valid_svg():
    icons = sorted(resource_path("icons").glob("*.svg"))
    assert len(icons) >= 25
    for path in icons:
        assert QSvgRenderer(str(path)).isValid(), path.name
        if path.stem != "qwenvoice":
            assert "currentColor" in path.read_text(encoding="utf-8"), path.name


def test_app_icon_has_every_size(qapp):
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        image = QImage(str(resource_path("icons", "png", f"qwenvoice-{size}.png")))
        assert (image.width(), image.height()) == (size, size)
    assert sorted(s.width() for s in app_icon().availableSizes()) == [16, 24, 32, 48, 64, 128, 256, 512]


def test_desktop_entry():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep key case
    parser.read(resource_path("qwenvoice.desktop"), encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Icon"] == "qwenvoice"
    assert entry["Exec"].startswith("qwenvoice") and entry["Terminal"] == "false"
    assert "AudioVideo" in entry["Categories"] and "Name" in entry and "Comment[zh_CN]" in entry


# ------------------------------------------------------------------------------------------ widgets


def test_number_field_parses_validates_and_reports(qtbot):
    errors = {}
    field = NumberField(int, optional=True, validator=lambda v: "too big" if v is not None and v > 10 else None)
    qtbot.addWidget(field)
    field.validityChanged.connect(lambda ok: errors.setdefault("changes", []).append(ok))
    with qtbot.waitSignal(field.valueChanged):
        field.setText("7")
    assert field.value() == 7 and field.is_valid()
    field.setText("12")
    assert not field.is_valid() and field.error() == "too big" and field.value() == 12
    field.setText("")
    assert field.is_valid() and field.value() is None
    field.setText("x")
    assert not field.has_number() and "not a number" in (field.error() or "")
    field.setText("3")
    field.set_external_error("clashes with another field")
    assert not field.is_valid() and field.edit.property("invalid") is True
    field.setEnabled(False)
    assert field.is_valid() and field.error() is None  # a disabled field is not used
    assert errors["changes"][:2] == [False, True]


def test_required_float_field():
    field = NumberField(float)
    field.setText(" 1,5 ")
    assert field.value() == 1.5
    field.setText("")
    assert "required" in (field.error() or "")
    field.setValue(2.0)
    assert field.text() == "2.0"


def test_notice_bar_and_level_meter(qtbot):
    bar = NoticeBar(closable=True)
    qtbot.addWidget(bar)
    bar.show_notice("Saved.", "ok")
    assert bar.severity() == "ok" and bar.text() == "Saved." and not bar.isHidden()
    bar.show_notice("?", "nonsense")
    assert bar.severity() == "info"
    bar.clear()
    assert bar.isHidden()
    meter = LevelMeter()
    qtbot.addWidget(meter)
    meter.set_level_db(-30.0)
    assert meter.value() == 500
    meter.set_level_db(float("-inf"))
    assert meter.value() == 0
    meter.set_level_db(6.0)
    assert meter.value() == 1000


def test_panel_icons_follow_a_live_theme_switch(qtbot, qapp):
    from qwenvoice.settings.schema import AppSettings
    from qwenvoice.ui.settings_panel import SettingsPanel

    manager = ThemeManager.current() or ThemeManager(qapp)
    manager.apply("light")
    panel = SettingsPanel(AppSettings())
    qtbot.addWidget(panel)
    before = _darkest_opaque(panel.test_tone_button.icon().pixmap(24, 24).toImage())
    try:
        manager.apply("dark")
        qtbot.waitUntil(
            lambda: _darkest_opaque(panel.test_tone_button.icon().pixmap(24, 24).toImage()) > 150, timeout=2000
        )
    finally:
        manager.apply("light")
    assert before < 80
