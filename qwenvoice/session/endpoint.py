"""Where a session connects, with which key, and the offline server when it is the answer.

One choice for every face: a URL given for this run wins; else the region (or custom URL) saved in
the settings, or given for this run, through the workspace's endpoint when a workspace is set; the
offline server when the run asks for it, the "offline" region is saved, or no API key is found. A
model that is served only through a workspace (qwen3.8) is stopped before connecting when the choice
is a region's shared endpoint (``workspace_problem``). The key comes from ``DASHSCOPE_API_KEY`` or
the OS keyring (through ``qwenvoice.settings.secrets``) and is registered with the log redactor
before anything can log it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from qwenvoice.logsetup import register_secret
from qwenvoice.protocol.models import omni_capabilities
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
    workspace: bool = False  # the region's workspace endpoint (not its shared one)

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
                    api_key: str | None, region: str | None = None,
                    workspace: str | None = None) -> EndpointChoice:
    """The endpoint for this run (see the module docstring); ``api_key`` is the key found, if any;
    ``region`` and ``workspace`` override the saved ones for this run."""
    if region or workspace is not None:
        connection = replace(connection, region=region or connection.region,
                             workspace_id=connection.workspace_id if workspace is None else workspace)
    if url:
        return EndpointChoice(url, api_key, "custom")
    if offline or connection.region == "offline":
        return EndpointChoice(None, None, "offline")
    saved = connection.endpoint_url()
    if not api_key or saved is None:
        return EndpointChoice(None, None, "offline", no_key=not api_key)
    return EndpointChoice(saved, api_key, connection.region, workspace=connection.uses_workspace())


WORKSPACE_SETTING = "Workspace ID (Settings → Connection, or --workspace ID)"


def workspace_problem(choice: EndpointChoice, model: str) -> str | None:
    """Why ``model`` cannot be reached through ``choice`` (it needs a workspace endpoint), or None.
    A custom URL and the offline server are taken as they are."""
    if choice.offline or choice.region not in ("beijing", "singapore") or choice.workspace:
        return None
    if not omni_capabilities(model).needs_workspace:
        return None
    return (f"{model} is served only through a workspace endpoint: set the {WORKSPACE_SETTING} "
            f"with the region Beijing or Singapore.")


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
