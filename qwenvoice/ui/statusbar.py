"""Status bar: connection state (with a reconnect countdown), model, region, latency, tokens and cost."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from qwenvoice.session.metrics import SessionMetrics
from qwenvoice.session.status import (
    CONNECTING,
    DISCONNECTED,
    FAILED,
    IDLE,
    READY,
    RECONNECTING,
    STARTING_SERVER,
    ConnectionInfo,
)
from qwenvoice.ui.i18n import Retranslator, fill, translate


def state_text(state: str) -> str:
    """The connection state in the UI language."""
    texts = {
        IDLE: translate("AppStatusBar", "not connected"),
        STARTING_SERVER: translate("AppStatusBar", "starting offline server…"),
        CONNECTING: translate("AppStatusBar", "connecting…"),
        READY: translate("AppStatusBar", "ready"),
        RECONNECTING: translate("AppStatusBar", "reconnecting"),
        DISCONNECTED: translate("AppStatusBar", "disconnected"),
        FAILED: translate("AppStatusBar", "connection failed"),
    }
    return texts.get(state, state)
STATE_COLOR = {
    READY: "#2bb673",
    CONNECTING: "#e0b000",
    STARTING_SERVER: "#e0b000",
    RECONNECTING: "#e0b000",
    FAILED: "#e5484d",
    DISCONNECTED: "#e5484d",
}


def connection_text(info: ConnectionInfo, now: float | None = None) -> str:
    text = state_text(info.state)
    if info.state == READY and info.offline:
        text = translate("AppStatusBar", "ready (offline)")
    if info.state == RECONNECTING and info.retry_at is not None:
        left = max(0, math.ceil(info.retry_at - (time.monotonic() if now is None else now)))
        text = fill(translate("AppStatusBar", "reconnecting in %1 s"), str(left))
    elif info.detail and info.state in (FAILED, DISCONNECTED, RECONNECTING):
        text += f" — {info.detail}"
    return text


def cost_text(usd: float) -> str:
    """An estimate with as many digits as it needs: "≈ $0", "≈ $0.0042", "≈ $0.13", "≈ $12.40"."""
    if usd <= 0:
        return "≈ $0"
    if usd < 0.01:
        return f"≈ ${usd:.2g}" if usd >= 0.0001 else "< $0.0001"
    return f"≈ ${usd:.2f}"


class AppStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.connection = QLabel()
        self.connection.setObjectName("connectionState")
        self.model = QLabel()
        self.region = QLabel()
        self.latency = QLabel()
        self._i18n = Retranslator()  # texts set again on a live language change
        self._i18n.bind(
            self.latency.setToolTip,
            lambda: translate("AppStatusBar", "End of your speech to the first reply sample played at the speaker"),
        )
        self.usage = QLabel()
        self._i18n.bind(
            self.usage.setToolTip,
            lambda: translate(
                "AppStatusBar", "Tokens this session and an estimated cost (list prices; yours may differ)"
            ),
        )
        self._metrics = SessionMetrics()
        self._offline = False
        self.addWidget(self.connection, 1)
        for w in (self.model, self.region, self.latency, self.usage):
            self.addPermanentWidget(w)
        self.info = ConnectionInfo()
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._refresh_connection)
        self.show_connection(self.info)
        self.show_metrics(SessionMetrics())

    def show_connection(self, info: ConnectionInfo) -> None:
        self.info = info
        self.model.setText(self.tr("model: ") + (info.model or "—"))
        self.region.setText(self.tr("region: ") + (info.region or "—"))
        if info.state == RECONNECTING and info.retry_at is not None:
            self._countdown.start()
        else:
            self._countdown.stop()
        self._refresh_connection()

    def _refresh_connection(self) -> None:
        color = STATE_COLOR.get(self.info.state, "#7d8797")
        self.connection.setText(f"<span style='color:{color};'>●</span> {connection_text(self.info)}")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self.show_connection(self.info)
            self.show_metrics(self._metrics, self._offline)
        super().changeEvent(event)

    def show_metrics(self, metrics: SessionMetrics, offline: bool = False) -> None:
        self._metrics, self._offline = metrics, offline
        latency = metrics.last_latency
        self.latency.setText(self.tr("latency: ") + (f"{latency * 1000:.0f} ms" if latency is not None else "—"))
        usage = metrics.usage
        text = self.tr("tokens: ") + f"{usage.total_tokens}"
        if usage.cached_input_tokens:
            text += " (" + self.tr("cached: ") + f"{usage.cached_input_tokens})"
        if usage.tts_characters:
            text += "  " + self.tr("TTS characters: ") + f"{usage.tts_characters}"
        cost = self.tr("free (offline)") if offline else cost_text(metrics.estimated_cost_usd)
        self.usage.setText(f"{text}  {cost}")
