"""Echo cancellation: the assistant must not hear itself on speakers.

- `capture_path` — the backends (WebRTC AEC3, SpeexDSP, pass-through), echo delay estimation and
  alignment, `CapturePathProcessor` (what the audio engine calls) and `HalfDuplexGate`.
- `speex` — the ctypes binding of the SpeexDSP echo canceller and preprocessor.
- `selftest` — play a probe, record the mic and recommend how to run on this speaker/mic pair.

The room simulator that measures all this lives with the tests (`tests/support/echo_sim.py`).
"""
