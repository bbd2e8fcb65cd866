"""``qwenvoice devices``: the audio devices as the app sees them."""

from __future__ import annotations

import argparse
import sys

from qwenvoice.audio.devices import format_device_list, safe_list_devices


def run_devices(args: argparse.Namespace) -> int:
    devices, error = safe_list_devices()
    if error is not None:
        print(f"qwenvoice: no audio: {error}", file=sys.stderr)
        return 1
    if not devices:
        print(
            "qwenvoice: no audio devices found (is a sound server such as PulseAudio running?). "
            "Text conversations and speech to a file still work.",
            file=sys.stderr,
        )
        return 1
    print(format_device_list(devices))
    return 0
