"""Entry point of the frozen qwenvoice program (PyInstaller runs this file as ``__main__``).

It is the same ``qwenvoice`` command as the installed one: no arguments start the window, and the
subcommands (``serve``, ``speak``, ``ask``, ``devices``) run headless. The GUI starts the offline
server as ``<this program> serve ...`` (see ``qwenvoice.runtime.server_command``).
"""

from __future__ import annotations

import multiprocessing
import sys


def _give_windowed_program_streams() -> None:
    # A windowed Windows/macOS build starts without stdout/stderr (they are None); argparse's --help
    # and tracebacks would then fail. Send them to the user log folder instead of losing them.
    if sys.stdout is not None and sys.stderr is not None:
        return
    from qwenvoice.runtime import default_log_file

    stream = open(default_log_file("console.log"), "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream


def main() -> int:
    multiprocessing.freeze_support()
    _give_windowed_program_streams()
    args = sys.argv[1:]
    # The menu-entry flags work on every build of this program, whatever the GUI does with them,
    # because the tarball's install script relies on them.
    if args in (["--install-desktop-entry"], ["--uninstall-desktop-entry"]):
        from qwenvoice.desktop_entry import run_install

        return run_install(uninstall=args[0] == "--uninstall-desktop-entry")
    from qwenvoice.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
