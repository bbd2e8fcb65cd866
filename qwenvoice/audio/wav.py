"""16-bit PCM WAV: headers, files, RIFF-prefixed streams and tracks that grow while a conversation runs.

The one place that knows the RIFF layout. Readers take the PCM after the ``data`` chunk up to the end
of the file rather than trusting its size field: a track cut short by a crash, or a stream whose sizes
were set to "unknown", still reads whole. Pure stdlib and numpy, so the offline server may use it too.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from qwenvoice.private_files import open_private, private_dir

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]

HEADER_BYTES = 44  # the canonical header written here: RIFF, fmt (16 bytes), data
UNKNOWN_SIZE = 0xFFFFFFFF  # what streamers put in the size fields when the length is not known yet
_SILENCE_CHUNK = 24000  # samples written per chunk while padding, keeps memory flat


class WavFormatError(ValueError):
    """Not a RIFF/WAVE file, or not 16-bit PCM."""


class WavAudio(NamedTuple):
    """A WAV file's format and its interleaved little-endian int16 frames."""

    rate: int
    channels: int
    pcm: bytes

    def samples(self) -> Int16Array:
        """The samples as int16, interleaved when there is more than one channel."""
        return np.frombuffer(self.pcm, dtype="<i2").astype(np.int16)

    def mono(self) -> Float32Array:
        """The channels averaged, as float in [-1, 1)."""
        frames = self.samples().reshape(-1, max(1, self.channels)).astype(np.float32)
        return np.asarray(frames.mean(axis=1) / 32768.0, dtype=np.float32)


def wav_header(rate: int, data_bytes: int | None = None, channels: int = 1) -> bytes:
    """A canonical 44-byte 16-bit PCM header; ``data_bytes=None`` marks a stream of unknown length."""
    block = channels * 2
    riff_size = UNKNOWN_SIZE if data_bytes is None else min(36 + data_bytes, UNKNOWN_SIZE)
    data_size = UNKNOWN_SIZE if data_bytes is None else data_bytes
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16)
        + b"data"
        + struct.pack("<I", data_size)
    )


class _Header(NamedTuple):
    data_offset: int  # where the PCM starts (len(data) when there is no data chunk)
    rate: int | None
    channels: int
    bits: int


def _parse_header(data: bytes) -> _Header | None:
    """The format and the start of the PCM, or None when ``data`` does not start with RIFF/WAVE."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, rate, channels, bits = 12, None, 1, 16
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        if chunk_id == b"fmt " and pos + 16 <= len(data):
            channels, rate = struct.unpack_from("<HI", data, pos + 10)
            if pos + 24 <= len(data):  # a streamed header may be cut short; the rate is what matters
                (bits,) = struct.unpack_from("<H", data, pos + 22)
        if chunk_id == b"data":
            return _Header(pos + 8, rate, channels, bits)
        pos += 8 + size + (size & 1)
    return _Header(len(data), rate, channels, bits)


def split_wav_header(data: bytes) -> tuple[bytes, int | None]:
    """If ``data`` starts with a RIFF/WAVE header, return (the PCM after it, its sample rate)."""
    header = _parse_header(data)
    if header is None:
        return data, None
    return data[header.data_offset :], header.rate


def read_wav(path: str | Path) -> WavAudio:
    """A 16-bit PCM WAV file (any rate, any channel count); a header whose sizes lag the data is fine.

    Raises OSError when the file cannot be read and WavFormatError when it is not 16-bit PCM WAV.
    """
    data = Path(path).read_bytes()
    header = _parse_header(data)
    if header is None or header.rate is None:
        raise WavFormatError("not a WAV file")
    if header.bits != 16:
        raise WavFormatError(f"only 16-bit PCM WAV is supported (got {header.bits}-bit)")
    pcm = data[header.data_offset :]
    frame = 2 * max(1, header.channels)
    return WavAudio(header.rate, header.channels, pcm[: len(pcm) // frame * frame])


def write_wav(path: str | Path, pcm: bytes | npt.NDArray[np.generic], rate: int, channels: int = 1) -> None:
    """Write 16-bit PCM (bytes, or samples converted to int16) to ``path``, creating its folder."""
    data = pcm if isinstance(pcm, bytes | bytearray) else np.asarray(pcm, dtype="<i2").tobytes()
    frame = 2 * channels
    data = bytes(data[: len(data) // frame * frame])
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:
        f.write(wav_header(rate, len(data), channels) + data)


class WavTrack:
    """Append-only PCM16 mono WAV writer whose file stays playable after every append.

    After every append the data is flushed and the RIFF sizes are patched to match (two 4-byte writes),
    so a crash or ``kill -9`` leaves a file any player reads whole, up to the last block. With an
    ``origin``, silence pads each block to its wall-clock position, so that the user and assistant tracks
    of one conversation line up when played side by side.
    """

    def __init__(self, path: Path, sample_rate: int, origin: float | None = None) -> None:
        self.path = path
        self.sample_rate = sample_rate
        # origin: the monotonic time that sample 0 stands for (None = no alignment padding)
        self.origin = origin
        self.samples_written = 0
        private_dir(path.parent)
        # 0600: a conversation's audio is the user's alone. The track lives as long as the conversation.
        self._file = os.fdopen(open_private(path, os.O_RDWR | os.O_TRUNC), "w+b")
        self._file.write(wav_header(sample_rate, 0))
        self._file.flush()

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
        if missing <= 0:
            return
        while missing > 0:
            n = min(missing, _SILENCE_CHUNK)
            self._write_raw(bytes(2 * n))
            missing -= n
        self._patch_sizes()

    def append(self, pcm: bytes, align: bool = True) -> None:
        if self._file.closed or not pcm:
            return
        if align and self.origin is not None:
            # Place this block so it ends no earlier than now; a burst arriving ahead of real time
            # (replies stream faster than they play) is simply written back to back.
            block_s = (len(pcm) // 2) / self.sample_rate
            self.pad_to_now(time.monotonic() - block_s)
        self._write_raw(pcm)
        self._patch_sizes()

    def _write_raw(self, pcm: bytes) -> None:
        self._file.seek(0, 2)
        self._file.write(pcm)
        self.samples_written += len(pcm) // 2

    def _patch_sizes(self) -> None:
        """Hand the data to the OS, then make both size fields say how much there is: what a reader
        sees after a crash is a whole file (at worst the header is one block behind the data, never ahead)."""
        self._file.flush()
        data_bytes = self.samples_written * 2
        fd = self._file.fileno()
        os.pwrite(fd, struct.pack("<I", min(36 + data_bytes, UNKNOWN_SIZE)), 4)
        os.pwrite(fd, struct.pack("<I", min(data_bytes, UNKNOWN_SIZE)), 40)

    def close(self) -> None:
        if not self._file.closed:
            self._patch_sizes()
            self._file.close()
