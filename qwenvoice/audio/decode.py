"""Compressed speech as it streams in (Qwen-TTS-Realtime ``response_format`` mp3 and opus), decoded with
PyAV into what the player takes: mono int16 PCM at one chosen rate.

Both formats are decoded incrementally, delta by delta, so a response starts playing with its first
bytes rather than when it is complete:

- MP3 is a stream of self-delimiting frames: FFmpeg's MP3 parser cuts the bytes into frames as they
  arrive (a leading ID3 tag or a partial frame is simply waited on or skipped) and each is decoded.
- Opus comes in an Ogg container (one logical stream per response, starting with ``OpusHead``). Ogg pages
  are small and self-delimiting, so the pages are read here as they complete, their packets go to the
  Opus decoder, the header's pre-skip is dropped and the last page's granule position trims the end, so
  the PCM is exactly as long as what was encoded.

One decoder per response: each response is a stream of its own (its own Ogg stream, its own MP3 frames).
No Qt, no devices; the session layer owns the decoders.
"""

from __future__ import annotations

import logging
import struct
from typing import Final, Protocol

import numpy as np

log = logging.getLogger(__name__)

#: Formats the server sends compressed; pcm and wav arrive as 16-bit PCM already.
ENCODED_FORMATS: Final = ("mp3", "opus")

#: The file a job's audio is saved as, by ``response_format``: compressed audio is kept as the server sent
#: it; PCM (and WAV, whose header the server repeats per response) is written as one WAV file.
FILE_SUFFIX: Final = {"pcm": ".wav", "wav": ".wav", "mp3": ".mp3", "opus": ".opus"}

_OPUS_RATE: Final = 48000  # Opus always decodes (and counts granules) at 48 kHz


class StreamDecoder(Protocol):
    def feed(self, data: bytes) -> bytes:
        """PCM (mono int16 little-endian at the decoder's rate) for what can be decoded so far."""

    def end(self) -> bytes:
        """The PCM still held back, once the stream is complete."""


def make_decoder(response_format: str, rate: int) -> StreamDecoder | None:
    """A decoder for one response's audio in ``response_format``; None when it is PCM already."""
    if response_format == "mp3":
        return Mp3Decoder(rate)
    if response_format == "opus":
        return OggOpusDecoder(rate)
    return None


class _Pcm:
    """Decoded frames resampled to mono int16 at ``rate`` (PyAV's resampler keeps a little back until
    flushed)."""

    def __init__(self, rate: int) -> None:
        import av  # PyAV is loaded only when compressed audio is asked for

        self.rate = rate
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)

    def convert(self, frame: object | None) -> bytes:
        out = []
        for resampled in self._resampler.resample(frame):  # type: ignore[arg-type]
            samples = resampled.to_ndarray().reshape(-1)[: resampled.samples]
            out.append(np.ascontiguousarray(samples, dtype="<i2").tobytes())
        return b"".join(out)


class Mp3Decoder:
    """MP3 bytes in any cut, decoded frame by frame as the frames complete."""

    def __init__(self, rate: int) -> None:
        import av

        self._codec = av.CodecContext.create("mp3", "r")
        self._pcm = _Pcm(rate)
        self._bad = 0

    def _decode(self, packets: list[object]) -> bytes:
        import av

        out: list[bytes] = []
        for packet in packets:
            try:
                frames = self._codec.decode(packet)  # type: ignore[arg-type]
            except av.error.InvalidDataError:
                self._bad += 1  # an ID3 tag or a damaged frame: the next frame decodes again
                continue
            out.extend(self._pcm.convert(frame) for frame in frames)
        return b"".join(out)

    def feed(self, data: bytes) -> bytes:
        return self._decode(list(self._codec.parse(data))) if data else b""

    def end(self) -> bytes:
        out = self._decode(list(self._codec.parse(b"")))  # the parser's last frame
        out += self._decode([None])  # the decoder's
        if self._bad:
            log.debug("mp3: %d packets could not be decoded", self._bad)
        return out + self._pcm.convert(None)


class OggOpusDecoder:
    """An Ogg Opus stream in any cut: pages read as they complete, packets decoded, the end trimmed to the
    last page's granule position. A second ``OpusHead`` (a chained stream) starts over."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._buffer = bytearray()
        self._partial = bytearray()  # a packet continued on the next page
        self._codec: object | None = None
        self._pcm = _Pcm(rate)
        self._headers = 0  # OpusHead and OpusTags still to come before audio
        self._pre_skip = 0
        self._skip_48k = 0  # pre-skip still to drop
        self._decoded_48k = 0  # samples decoded at 48 kHz (after pre-skip) in this stream
        self._limit_48k: int | None = None  # the stream's length once its last page is known

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while True:
            page = self._next_page()
            if page is None:
                return bytes(out)
            out += page

    def end(self) -> bytes:
        out = self._decode(None) if self._codec is not None else b""
        return out + self._pcm.convert(None)

    def _next_page(self) -> bytes | None:
        buf = self._buffer
        start = buf.find(b"OggS")
        if start < 0:
            del buf[: max(0, len(buf) - 3)]
            return None
        if start:
            del buf[:start]  # not a page boundary: resynchronise
        if len(buf) < 27:
            return None
        flags, granule, segments = buf[5], struct.unpack_from("<q", buf, 6)[0], buf[26]
        header = 27 + segments
        if len(buf) < header:
            return None
        lacing = buf[27:header]
        size = header + sum(lacing)
        if len(buf) < size:
            return None
        body = bytes(buf[header:size])
        del buf[:size]
        out = bytearray()
        pos = 0
        for value in lacing:
            self._partial += body[pos : pos + value]
            pos += value
            if value < 255:
                packet, self._partial = bytes(self._partial), bytearray()
                out += self._packet(packet, last_page=bool(flags & 0x04), granule=granule)
        return bytes(out)

    def _packet(self, packet: bytes, *, last_page: bool, granule: int) -> bytes:
        if packet.startswith(b"OpusHead"):
            out = self.end() if self._codec is not None else b""  # a new stream follows the old one
            self._start(packet)
            return out
        if self._headers > 1:  # OpusTags
            self._headers -= 1
            return b""
        if self._codec is None:
            return b""  # audio without a header cannot be decoded
        if last_page and granule >= 0:
            self._limit_48k = max(0, granule - self._pre_skip)
        import av

        return self._decode(av.Packet(packet))

    def _start(self, head: bytes) -> None:
        import av

        codec = av.CodecContext.create("opus", "r")
        codec.extradata = head  # channels; the pre-skip is dropped here (the bare decoder keeps it)
        self._codec = codec
        self._pcm = _Pcm(self.rate)
        self._headers = 2
        self._pre_skip = struct.unpack_from("<H", head, 10)[0] if len(head) >= 12 else 0
        self._skip_48k = self._pre_skip
        self._decoded_48k = 0
        self._limit_48k = None

    def _decode(self, packet: object | None) -> bytes:
        import av

        codec = self._codec
        assert codec is not None
        try:
            frames = list(codec.decode(packet))  # type: ignore[attr-defined]
        except av.error.InvalidDataError:
            return b""
        out = []
        for frame in frames:
            start = min(self._skip_48k, frame.samples)  # the encoder's priming (the header's pre-skip)
            self._skip_48k -= start
            stop = frame.samples
            if self._limit_48k is not None:  # the end padding of the last packet
                stop = max(start, min(stop, start + self._limit_48k - self._decoded_48k))
            if stop <= start:
                continue
            if (start, stop) != (0, frame.samples):
                array = np.ascontiguousarray(frame.to_ndarray()[..., start:stop])
                trimmed = av.AudioFrame.from_ndarray(array, format=frame.format.name, layout=frame.layout.name)
                trimmed.sample_rate = frame.sample_rate
                frame = trimmed
            self._decoded_48k += frame.samples
            out.append(self._pcm.convert(frame))
        return b"".join(out)
