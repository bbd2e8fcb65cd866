"""qwenvoice.settings: what the user chooses, kept between runs (no Qt here).

- ``schema``: the ``AppSettings`` tree, validated by the protocol's own session config rules
- ``store``: the versioned JSON file in the user config dir (atomic writes, recovery, migrations)
- ``secrets``: the DashScope API key in the OS keyring (environment first; never in the settings file)
- ``presets``: named voice + instructions + parameters, with JSON import/export
- ``changes``: what an Apply changed (live ``session.update`` or a reconnect)
- ``services``: what the settings panel needs from the running app (devices, checks, the API key)
"""
