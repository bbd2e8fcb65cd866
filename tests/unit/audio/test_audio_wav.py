"""The one WAV module: what it writes the standard library reads, and it reads what others write,
including a track cut short by a crash and the RIFF prefix of streamed TTS audio."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from qwenvoice.audio.wav import (
    HEADER_BYTES,
    UNKNOWN_SIZE,
    WavAudio,
    WavFormatError,
    WavTrack,
    read_wav,
    split_wav_header,
    wav_header,
    write_wav,
)


def stdlib_wav(path: Path, pcm: bytes, rate: int, channels: int = 1, width: int = 2) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)


def test_written_files_read_back_with_the_standard_library(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "a.wav"
    write_wav(path, np.array([1, -2, 32767, -32768], dtype=np.int16), 24000)
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
        assert np.frombuffer(w.readframes(10), "<i2").tolist() == [1, -2, 32767, -32768]
    write_wav(path, b"\x01\x00\x02\x00\x03\x00\x04", 8000, channels=2)  # a partial frame is dropped
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 2 and w.getnframes() == 1


def test_reads_any_rate_and_channel_count_and_averages_to_mono(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    stdlib_wav(path, np.array([1000, 3000, -2000, 0], dtype="<i2").tobytes(), 44100, channels=2)
    audio = read_wav(path)
    assert audio == WavAudio(44100, 2, np.array([1000, 3000, -2000, 0], dtype="<i2").tobytes())
    rate, channels, _ = audio  # unpacks like the (rate, channels, frames) triples tests compare
    assert (rate, channels) == (44100, 2)
    assert audio.mono() * 32768 == pytest.approx([2000, -1000])


def test_refuses_what_is_not_16_bit_pcm_wav(tmp_path: Path) -> None:
    eight_bit = tmp_path / "8bit.wav"
    stdlib_wav(eight_bit, bytes(80), 8000, width=1)
    with pytest.raises(WavFormatError, match="only 16-bit PCM"):
        read_wav(eight_bit)
    text = tmp_path / "note.wav"
    text.write_bytes(b"not audio at all")
    with pytest.raises(WavFormatError):
        read_wav(text)
    with pytest.raises(OSError):
        read_wav(tmp_path / "missing.wav")


def test_a_track_header_matches_its_data_after_every_append(tmp_path: Path) -> None:
    track = WavTrack(tmp_path / "t.wav", 16000)
    for n in range(1, 4):  # appends in quick succession, as a reply streams
        track.append(np.arange(100, dtype="<i2").tobytes(), align=False)
        data = (tmp_path / "t.wav").read_bytes()
        riff_size, data_size = struct.unpack_from("<I", data, 4)[0], struct.unpack_from("<I", data, 40)[0]
        assert data_size == len(data) - 44 == 200 * n and riff_size == 36 + data_size
        with wave.open(str(tmp_path / "t.wav")) as w:  # still open for writing: other readers take it all
            assert w.getnframes() == 100 * n
    # A header that lags the data (a file from an older version) still reads whole here.
    with open(tmp_path / "t.wav", "r+b") as f:
        f.seek(40)
        f.write(struct.pack("<I", 10))
    assert read_wav(tmp_path / "t.wav").samples().tolist() == list(range(100)) * 3
    track.close()
    with wave.open(str(tmp_path / "t.wav")) as w:
        assert w.getnframes() == 300


def test_streamed_wav_prefix_is_split_from_the_pcm() -> None:
    pcm = np.arange(50, dtype="<i2").tobytes()
    header = wav_header(24000)
    assert len(header) == HEADER_BYTES and struct.unpack_from("<I", header, 40)[0] == UNKNOWN_SIZE
    assert split_wav_header(header + pcm) == (pcm, 24000)
    assert split_wav_header(pcm) == (pcm, None)
    # A header with an extra chunk before the data, as some writers add.
    extra = b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    assert split_wav_header(header[:36] + extra + header[36:] + pcm) == (pcm, 24000)


def test_a_complete_header_matches_the_standard_library() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(bytes(400))
    assert buffer.getvalue()[:HEADER_BYTES] == wav_header(48000, 400, channels=2)
