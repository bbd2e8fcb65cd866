"""Device choice, the push-to-talk gate and the capture path, without PortAudio."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qwenvoice.audio import backend
from qwenvoice.audio.capture import Capture, PushToTalkGate
from qwenvoice.audio.devices import (
    DeviceInfo,
    _device_event,
    _parse_spec,
    choose_device,
    find_device,
    format_device_list,
)
from qwenvoice.audio.pcm import StreamResampler


def dev(name, kind="output", hostapi="PulseAudio", default=False, pulse=None, monitor=False) -> DeviceInfo:
    return DeviceInfo(name, hostapi, kind, 2, 48000, default, 0, pulse, monitor)


DEVICES = [
    dev("VirtualSpeaker", default=True, pulse="speaker"),
    dev("USB Headset", pulse="alsa_output.usb"),
    dev("pulse", hostapi="ALSA"),
    dev("Monitor of VirtualSpeaker", kind="input", pulse="speaker.monitor", monitor=True),
    dev("VirtualMic", kind="input", default=True, pulse="mic"),
]


def test_identity_is_name_and_host_api_and_routes_through_pulse():
    d = DEVICES[0]
    assert d.identity == "VirtualSpeaker [PulseAudio]"
    assert d.open_environment() == {"PULSE_SINK": "speaker"}
    assert DEVICES[4].open_environment() == {"PULSE_SOURCE": "mic"}
    assert DEVICES[2].open_environment() == {}


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [("USB Headset [PulseAudio]", "USB Headset"), ("usb headset", "USB Headset"),
     ("alsa_output.usb", "USB Headset"), ("headset", "USB Headset"), ("pulse [ALSA]", "pulse")],
)
def test_find_by_identity_name_pulse_name_or_unique_substring(wanted, expected):
    found = find_device(DEVICES, "output", wanted)
    assert found is not None and found.name == expected


def test_ambiguous_or_unknown_names_are_not_guessed():
    assert find_device(DEVICES, "output", "e") is None  # matches several
    assert find_device(DEVICES, "output", "nothing like it") is None


def test_choose_falls_back_to_the_default_with_a_notice():
    device, notice = choose_device(DEVICES, "output", "Gone Speaker")
    assert device is DEVICES[0]
    assert notice is not None and "'Gone Speaker' is not available" in notice and "VirtualSpeaker" in notice
    device, notice = choose_device(DEVICES, "input", None)
    assert device is DEVICES[4] and notice is None
    device, notice = choose_device([], "input", None)
    assert device is None and notice == "No microphone found."


def test_default_skips_monitors_when_nothing_is_marked():
    devices = [dev("Monitor", kind="input", monitor=True), dev("Mic", kind="input")]
    device, _ = choose_device(devices, "input", None)
    assert device is not None and device.name == "Mic"


def test_spec_parsing_and_listing_text():
    assert _parse_spec("s16le 2ch 48000Hz") == (2, 48000)
    assert _parse_spec("float32le 1ch 16000Hz") == (1, 16000)
    text = format_device_list(DEVICES)
    assert "  * VirtualSpeaker [PulseAudio]" in text and "  * VirtualMic [PulseAudio]" in text


def test_missing_portaudio_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backend, "_module", None)
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails like a missing library would
    with pytest.raises(backend.AudioUnavailable, match="sounddevice"):
        backend.sounddevice()
    from qwenvoice.audio.devices import safe_list_devices

    devices, error = safe_list_devices()
    assert devices == [] and error is not None


def test_gate_continuous_sends_everything():
    gate = PushToTalkGate(continuous=True)
    block = np.ones(320, np.int16)
    assert gate.feed(block) is block


def test_gate_push_to_talk_holds_back_and_releases_preroll():
    gate = PushToTalkGate(rate=16000, preroll_ms=100, continuous=False)
    for k in range(10):  # 200 ms before the key goes down
        assert gate.feed(np.full(320, k, np.int16)) is None
    preroll = gate.press()
    assert preroll.size == 1600  # the last 100 ms
    assert np.array_equal(preroll[-320:], np.full(320, 9))
    assert np.array_equal(preroll[:320], np.full(320, 5))
    live = np.full(320, 42, np.int16)
    assert gate.feed(live) is live
    assert gate.press().size == 0  # already held: no second pre-roll
    gate.release()
    assert gate.feed(live) is None


def test_gate_preroll_is_only_what_was_heard():
    gate = PushToTalkGate(rate=16000, preroll_ms=300, continuous=False)
    gate.feed(np.full(160, 3, np.int16))
    assert np.array_equal(gate.press(), np.full(160, 3))


def test_capture_path_downmixes_resamples_filters_and_gates():
    capture = Capture()
    capture._resampler = StreamResampler(48000, 16000)
    sent: list[np.ndarray] = []
    seen: list[np.ndarray] = []
    capture.subscribe(sent.append)
    capture.subscribe_all(seen.append)
    capture.filter = lambda pcm: (pcm // 2).astype(np.int16)
    t = np.arange(48000) / 48000
    left = 0.8 * np.sin(2 * np.pi * 500 * t)
    stereo = np.stack([left, left * 0.5], axis=1).astype(np.float32)
    for start in range(0, 48000, 960):
        capture.process_block(stereo[start : start + 960])
    out = np.concatenate(sent)
    assert out.dtype == np.int16 and abs(out.size - 16000) < 400  # 16 kHz (minus the filter's delay)
    # downmix (0.8 + 0.4) / 2 = 0.6, then the filter halves it
    assert np.abs(out[2000:]).max() / 32768 == pytest.approx(0.3, abs=0.01)
    assert sum(b.size for b in seen) == out.size
    assert capture.meter.levels.peak_dbfs == pytest.approx(20 * np.log10(0.6), abs=0.2)
    capture.gate.continuous = False
    before = len(sent)
    capture.process_block(stereo[:960])
    assert len(sent) == before  # key up: nothing sent
    capture.press()
    assert len(sent) == before + 1 and sent[-1].size > 0  # the pre-roll


def test_capture_callback_counts_overflows_and_drops_without_a_loop():
    class Status:
        input_overflow = True

        def __bool__(self) -> bool:
            return True

    capture = Capture()
    capture._callback(np.zeros((960, 1), np.float32), 960, None, Status())
    assert capture.overflows == 1 and capture.dropped_blocks == 1


def test_only_sink_source_and_default_changes_trigger_a_rescan():
    assert _device_event(b"Event 'new' on sink #67\n")
    assert _device_event(b"Event 'remove' on source #68\n")
    assert _device_event(b"Event 'change' on server #-1\n")  # default sink/source changed
    assert not _device_event(b"Event 'change' on sink #67\n")  # volume, state: no new device
    assert not _device_event(b"Event 'new' on sink-input #12\n")  # our own streams
    assert not _device_event(b"Event 'new' on client #6510\n")


def test_a_stalled_loop_makes_the_callback_drop_blocks_instead_of_queueing_forever():
    class StalledLoop:
        def __init__(self) -> None:
            self.posted = 0

        def call_soon_threadsafe(self, *args: object) -> None:
            self.posted += 1  # never runs them: the loop is blocked

        def is_closed(self) -> bool:
            return False

    capture = Capture(max_pending_blocks=5)
    loop = StalledLoop()
    capture._loop = loop  # type: ignore[assignment]
    block = np.zeros((960, 1), np.float32)
    for _ in range(8):
        capture._callback(block, 960, None, None)
    assert loop.posted == 5 and capture.dropped_blocks == 3 and capture.overflows == 0
    capture._resampler = StreamResampler(48000, 16000)
    received: list[int] = []
    capture.subscribe_all(lambda pcm: received.append(pcm.shape[0]))
    loud = np.full((960, 1), 0.5, np.float32)
    for _ in range(5):  # the loop catches up
        capture._on_block(loud, 0.0)
    capture._callback(block, 960, None, None)
    assert loop.posted == 6
    # The three dropped blocks came out as silence: the stream kept its clock (8 blocks of 20 ms, less
    # the few ms the streaming resampler still holds).
    assert 8 * 320 - 160 <= sum(received) <= 8 * 320, received


def test_missing_portaudio_library_names_the_package_to_install(monkeypatch):
    class NoPortAudio:
        """Makes `import sounddevice` fail the way it does when libportaudio2 is not installed."""

        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")
            return None

    monkeypatch.setattr(backend, "_module", None)
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    with pytest.raises(backend.AudioUnavailable) as caught:
        backend.sounddevice()
    text = str(caught.value)
    assert "libportaudio2" in text and "still work" in text


def test_the_callback_never_posts_to_a_closed_loop() -> None:
    # qasync posts through a Qt signal whose object is gone once its loop is closed: posting crashed.
    class ClosedLoop:
        posted = 0

        def call_soon_threadsafe(self, *args: object) -> None:
            self.posted += 1

        def is_closed(self) -> bool:
            return True

    capture = Capture()
    loop = ClosedLoop()
    capture._loop = loop  # type: ignore[assignment]
    block = np.zeros((160, 1), dtype=np.float32)
    capture._callback(block, 160, None, None)
    assert loop.posted == 0 and capture.dropped_blocks == 1
