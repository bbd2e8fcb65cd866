"""Where a session connects, with which key, and the offline server when it is the answer.

One choice for every face: a URL given for this run wins; else the region (or custom URL) saved in
the settings; the offline server when the run asks for it, the "offline" region is saved, or no API
key is found. The key comes from ``DASHSCOPE_API_KEY`` or the OS keyring (through
``qwenvoice.settings.secrets``) and is registered with the log redactor before anything can log it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qwenvoice.logsetup import register_secret
from qwenvoice.session.offline_server import OfflineServer
from qwenvoice.settings.schema import ConnectionSettings

if TYPE_CHECKING:
    from qwenvoice.settings.secrets import ApiKeyStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EndpointChoice:
    url: str | None  # None: start (or reuse) the offline server
    api_key: str | None
    region: str  # "beijing", "singapore", "custom" or "offline"
    no_key: bool = False  # offline because no key was found (not because the user chose it)

    @property
    def offline(self) -> bool:
        return self.url is None


def lookup_api_key(store: ApiKeyStore | None = None) -> str | None:
    """``DASHSCOPE_API_KEY``, else the key in ``store`` (default: the user's); None when there is none.
    Never logged."""
    key: str | None
    try:
        if store is None:
            from qwenvoice.settings.secrets import ApiKeyStore
            from qwenvoice.settings.store import default_config_dir

            store = ApiKeyStore(config_dir=default_config_dir())
        key = store.get()
    except Exception as exc:  # no backend, locked keychain, D-Bus down...: the environment still works
        log.info("key store unavailable: %s", type(exc).__name__)
        key = os.environ.get("DASHSCOPE_API_KEY", "").strip() or None
    register_secret(key)
    return key


def choose_endpoint(connection: ConnectionSettings, *, url: str | None, offline: bool,
                    api_key: str | None) -> EndpointChoice:
    """The endpoint for this run (see the module docstring); ``api_key`` is the key found, if any."""
    if url:
        return EndpointChoice(url, api_key, "custom")
    if offline or connection.region == "offline":
        return EndpointChoice(None, None, "offline")
    saved = connection.endpoint_url()
    if not api_key or saved is None:
        return EndpointChoice(None, None, "offline", no_key=not api_key)
    return EndpointChoice(saved, api_key, connection.region)


class LocalServer:
    """The offline server child process, started on first use and reused while it runs."""

    def __init__(self, log_file: Path | None = None, start_timeout: float = 180.0) -> None:
        self._log_file = log_file
        self._start_timeout = start_timeout
        self.server: OfflineServer | None = None

    @property
    def token(self) -> str | None:
        return self.server.token if self.server is not None else None

    async def url(self) -> str:
        """The running server's URL; starts it (raising OfflineServerError) when it is not running."""
        if self.server is not None and self.server.running and self.server.url:
            return self.server.url
        if self.server is not None:
            await self.server.stop()
        self.server = OfflineServer(log_file=self._log_file, start_timeout=self._start_timeout)
        return await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
