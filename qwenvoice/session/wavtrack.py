"""A mono 16-bit WAV file that is valid on disk after every append.

The RIFF sizes are patched after each write, so a crash (or a killed process) leaves a playable file
holding everything appended so far. Optional wall-clock alignment pads silence so that the user and
assistant tracks of one conversation line up when played side by side.
"""

from __future__ import annotations

import struct
import time
import wave
from pathlib import Path

import numpy as np

_HEADER_BYTES = 44
_SILENCE_CHUNK = 24000  # samples written per chunk while padding, keeps memory flat


class WavTrack:
    """Append-only PCM16 mono WAV writer whose header is always correct."""

    def __init__(self, path: Path, sample_rate: int, origin: float | None = None) -> None:
        self.path = path
        self.sample_rate = sample_rate
        # origin: the monotonic time that sample 0 stands for (None = no alignment padding)
        self.origin = origin
        self.samples_written = 0
        self.patch_interval_s = 0.5
        self._patched_at = 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "w+b")  # noqa: SIM115 - the track lives as long as the conversation
        self._file.write(self._header(0))
        self._file.flush()

    def _header(self, data_bytes: int) -> bytes:
        return (
            b"RIFF"
            + struct.pack("<I", 36 + data_bytes)
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, self.sample_rate, self.sample_rate * 2, 2, 16)
            + b"data"
            + struct.pack("<I", data_bytes)
        )

    @property
    def closed(self) -> bool:
        return self._file.closed

    @property
    def duration_s(self) -> float:
        return self.samples_written / self.sample_rate

    def pad_to_now(self, now: float | None = None) -> None:
        """Write silence up to the wall-clock position (only when an origin is set)."""
        if self.origin is None or self._file.closed:
            return
        now = time.monotonic() if now is None else now
        target = int((now - self.origin) * self.sample_rate)
        missing = target - self.samples_written
        while missing > 0:
            n = min(missing, _SILENCE_CHUNK)
            self._write_raw(bytes(2 * n))
            missing -= n

    def append(self, pcm: bytes, align: bool = True) -> None:
        if self._file.closed or not pcm:
            return
        if align and self.origin is not None:
            # Place this block so it ends no earlier than now; a burst arriving ahead of real time
            # (replies stream faster than they play) is simply written back to back.
            block_s = (len(pcm) // 2) / self.sample_rate
            self.pad_to_now(time.monotonic() - block_s)
        self._write_raw(pcm)
        # The data is flushed every block; the RIFF sizes are patched a few times a second (readers
        # here take the data length from the file, so a crash in between still loses nothing).
        now = time.monotonic()
        if now - self._patched_at >= self.patch_interval_s:
            self._patch_sizes()
        else:
            self._file.flush()

    def _write_raw(self, pcm: bytes) -> None:
        self._file.seek(0, 2)
        self._file.write(pcm)
        self.samples_written += len(pcm) // 2

    def _patch_sizes(self) -> None:
        data_bytes = self.samples_written * 2
        self._file.seek(4)
        self._file.write(struct.pack("<I", 36 + data_bytes))
        self._file.seek(40)
        self._file.write(struct.pack("<I", data_bytes))
        self._file.flush()
        self._patched_at = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._patch_sizes()
            self._file.close()


def read_wav_mono16(path: Path) -> tuple[np.ndarray, int]:
    """Read a mono 16-bit WAV into int16 samples (tolerates a header whose sizes lag the data)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < _HEADER_BYTES or raw[:4] != b"RIFF":
        with wave.open(str(path), "rb") as w:
            return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), w.getframerate()
    sample_rate = struct.unpack_from("<I", raw, 24)[0]
    data = raw[_HEADER_BYTES:]
    data = data[: len(data) - len(data) % 2]
    return np.frombuffer(data, dtype=np.int16).copy(), sample_rate


def write_wav_mono16(path: Path, samples: np.ndarray | bytes, sample_rate: int) -> None:
    pcm = samples if isinstance(samples, bytes) else np.asarray(samples, dtype=np.int16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
