"""Real-time audio, Qt-free: microphone capture, reply playback, devices, echo cancellation.

- `engine.AudioEngine` — the facade the controller and the terminal commands use (capture + playback +
  device monitor); keeps working (text only) when there is no PortAudio or no device.
- `capture.Capture` — device rate in, 16 kHz mono int16 blocks out on the loop; push-to-talk gate.
- `playback.Player` — 24 kHz reply audio through `jitter.JitterBuffer` to the device; flush on barge-in.
- `devices` — the device list with stable identities, choice by name, hot-plug monitor, `qwenvoice devices`.
- `pcm`, `ring` — resampling and format conversion; rings and level meters for the waveform.
- `wav` — 16-bit PCM WAV files, headers and growing conversation tracks (`WavTrack`).
- `headless` — speaker and microphone for `qwenvoice ask --play/--mic`.
- `echo` — echo cancellation on the capture path (a subpackage: backends, SpeexDSP binding, self-test).

Nothing here imports sounddevice at import time (`backend` loads it lazily).
"""
