"""The conversation as data: turns with roles, text, timestamps and an interrupted flag.

Qt-free. Every change is appended to ``transcript.jsonl`` in the conversation's folder as it happens
(the last record of a turn wins when reading back), and the user and assistant audio go to two WAV
tracks that stay valid after every block, so a crash loses nothing already heard.

Folder layout (under the data dir, see :func:`data_dir`)::

    conversations/<id>/transcript.jsonl   one JSON object per turn update
    conversations/<id>/user.wav           16 kHz mono PCM16, aligned to wall-clock time
    conversations/<id>/assistant.wav      24 kHz mono PCM16, aligned to wall-clock time
    conversations/<id>/events.jsonl       every client/server event (audio elided)

How much audio is kept is the user's choice (``audio.keep_audio``): all of it (both tracks padded to
wall-clock time), the user's speech only (the default, see :class:`Conversation`), or none. A
conversation that ends with no turn leaves no folder behind, and History never lists one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from qwenvoice.audio.wav import WavTrack, read_wav, write_wav
from qwenvoice.private_files import open_private, private_dir, write_private_text

USER = "user"
ASSISTANT = "assistant"
USER_RATE = 16000
ASSISTANT_RATE = 24000

KEEP_ALL = "all"
KEEP_SPEECH = "speech"
KEEP_NONE = "none"
# How long before the server says the user started speaking the user track starts. The server notices
# speech after its own prefix padding (300 ms by default) plus the trip back, so a second covers the
# first syllable without keeping much silence.
PRE_ROLL_S = 1.0


def data_dir() -> Path:
    """The user data dir (``QWENVOICE_DATA_DIR`` overrides the platform default)."""
    override = os.environ.get("QWENVOICE_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("qwenvoice", appauthor=False))


def conversations_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "conversations"


@dataclass(slots=True)
class Turn:
    turn_id: str
    role: str  # USER or ASSISTANT
    text: str = ""
    started_at: float = field(default_factory=time.time)  # epoch seconds
    item_id: str | None = None
    response_id: str | None = None
    final: bool = False
    interrupted: bool = False
    # what the user had heard of an interrupted reply (characters of text at the cut)
    heard_chars: int | None = None
    source: str = "voice"  # "voice" or "text"
    preview: str = ""  # tentative tail of a live transcription (not yet confirmed)
    # A reply the server ended as "incomplete" or "failed" (None: it completed, or was cut by the user),
    # with the reason its status_details gave.
    status: str | None = None
    status_reason: str = ""

    @property
    def display_text(self) -> str:
        return self.text + self.preview

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Turn:
        known = {k: record[k] for k in cls.__dataclass_fields__ if k in record}
        return cls(**known)


def _append_private(path: Path) -> TextIO:
    """A UTF-8 text file opened for appending, readable by this user alone (0600)."""
    return os.fdopen(open_private(path, os.O_WRONLY | os.O_APPEND), "a", encoding="utf-8")


def new_conversation_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class Conversation:
    """Turns of one conversation, updated from transcript notifications and persisted as they change."""

    def __init__(self, folder: Path | None = None, conversation_id: str | None = None,
                 keep_audio: str = KEEP_ALL) -> None:
        self.conversation_id = conversation_id or new_conversation_id()
        self.keep_audio = keep_audio
        # Speech only: the user track holds what was sent while the user spoke (the caller says when,
        # see append_user_audio), each stretch starting PRE_ROLL_S early; the assistant track holds the
        # replies as they were received for playing. Neither is padded with the silences in between,
        # so the two tracks no longer line up side by side (each turn's time is in the transcript).
        self._pre_roll: deque[bytes] = deque()
        self._pre_roll_bytes = 0
        self.turns: list[Turn] = []
        self.folder = folder
        self._by_key: dict[tuple[str, str], int] = {}
        self._transcript_file: TextIO | None = None
        self.user_track: WavTrack | None = None
        self.assistant_track: WavTrack | None = None
        self.events_file: TextIO | None = None
        if folder is not None:
            private_dir(folder)  # the data dir and conversations/ too, when they are new: 0700
            self._transcript_file = _append_private(folder / "transcript.jsonl")
            if keep_audio != KEEP_NONE:
                origin = time.monotonic() if keep_audio == KEEP_ALL else None
                self.user_track = WavTrack(folder / "user.wav", USER_RATE, origin)
                self.assistant_track = WavTrack(folder / "assistant.wav", ASSISTANT_RATE, origin)
            self.events_file = _append_private(folder / "events.jsonl")
            meta = {"id": self.conversation_id, "started_at": time.time()}
            write_private_text(folder / "meta.json", json.dumps(meta))

    @classmethod
    def create(cls, root: Path | None = None, keep_audio: str = KEEP_ALL) -> Conversation:
        conversation_id = new_conversation_id()
        return cls(conversations_dir(root) / conversation_id, conversation_id, keep_audio)

    # ----- updates (each returns the index of the changed turn) -----

    def _persist(self, turn: Turn) -> None:
        if self._transcript_file is not None and not self._transcript_file.closed:
            self._transcript_file.write(json.dumps(turn.to_record(), ensure_ascii=False) + "\n")
            self._transcript_file.flush()

    def _turn_for(self, role: str, key: str, *, item_id: str | None = None, response_id: str | None = None,
                  text: str = "", final: bool = False, source: str = "voice") -> tuple[int, bool]:
        index = self._by_key.get((role, key))
        if index is not None:
            return index, False
        turn = Turn(turn_id=uuid.uuid4().hex[:12], role=role, item_id=item_id, response_id=response_id, text=text,
                    final=final, source=source)
        self.turns.append(turn)
        index = len(self.turns) - 1
        self._by_key[(role, key)] = index
        return index, True

    def user_speech(self, item_id: str) -> int:
        """The user started a spoken turn (bubble appears before any text)."""
        index, created = self._turn_for(USER, item_id, item_id=item_id)
        if created:
            self._persist(self.turns[index])
        return index

    def user_transcript(self, item_id: str, text: str, final: bool, preview: str = "") -> int:
        """Live (delta: confirmed ``text`` + tentative ``preview``) or final user transcript."""
        index, _ = self._turn_for(USER, item_id, item_id=item_id)
        turn = self.turns[index]
        turn.text = text
        turn.preview = "" if final else preview
        turn.final = turn.final or final
        self._persist(turn)
        return index

    def user_text(self, text: str) -> int:
        """A typed message."""
        key = "text-" + uuid.uuid4().hex
        index, _ = self._turn_for(USER, key, text=text, final=True, source="text")
        self._persist(self.turns[index])
        return index

    def assistant_delta(self, response_id: str, delta: str, item_id: str | None = None) -> int:
        index, _ = self._turn_for(ASSISTANT, response_id, response_id=response_id, item_id=item_id)
        turn = self.turns[index]
        turn.text += delta
        if item_id and not turn.item_id:
            turn.item_id = item_id
        self._persist(turn)
        return index

    def assistant_set(self, response_id: str, text: str, item_id: str | None = None) -> int:
        """The reply's whole text so far (the state machine may send it whole instead of deltas)."""
        index, _ = self._turn_for(ASSISTANT, response_id, response_id=response_id, item_id=item_id)
        turn = self.turns[index]
        if not turn.interrupted:
            turn.text = text
            self._persist(turn)
        return index

    def assistant_started(self, response_id: str) -> int:
        index, created = self._turn_for(ASSISTANT, response_id, response_id=response_id)
        if created:
            self._persist(self.turns[index])
        return index

    def assistant_done(self, response_id: str, full_text: str | None = None) -> int | None:
        index = self._by_key.get((ASSISTANT, response_id))
        if index is None:
            return None
        turn = self.turns[index]
        if full_text and not turn.interrupted and len(full_text) >= len(turn.text):
            turn.text = full_text
        turn.final = True
        self._persist(turn)
        return index

    def assistant_status(self, response_id: str, status: str, reason: str = "") -> int | None:
        """The server ended the reply as ``status`` (``incomplete``, ``failed``) for ``reason``."""
        index = self._by_key.get((ASSISTANT, response_id))
        if index is None:
            return None
        turn = self.turns[index]
        turn.status, turn.status_reason = status, reason
        self._persist(turn)
        return index

    def mark_interrupted(self, response_id: str) -> int | None:
        """The user cut in: keep the text so far and mark where the cut happened."""
        index = self._by_key.get((ASSISTANT, response_id))
        if index is None:
            return None
        turn = self.turns[index]
        if not turn.interrupted:
            turn.interrupted = True
            turn.heard_chars = len(turn.text)
            turn.final = True
            self._persist(turn)
        return index

    def index_of_response(self, response_id: str) -> int | None:
        return self._by_key.get((ASSISTANT, response_id))

    # ----- audio -----

    def append_user_audio(self, pcm16k: bytes, speech: bool = True) -> None:
        """Audio sent to the server; ``speech``: the user is speaking now (between the server's
        speech_started and the turn's commit, or while push-to-talk is held)."""
        track = self.user_track
        if track is None:
            return
        if speech or self.keep_audio == KEEP_ALL:
            if self._pre_roll:
                track.append(b"".join(self._pre_roll))
                self._pre_roll.clear()
                self._pre_roll_bytes = 0
            track.append(pcm16k)
            return
        self._pre_roll.append(pcm16k)
        self._pre_roll_bytes += len(pcm16k)
        limit = int(PRE_ROLL_S * USER_RATE) * 2
        while self._pre_roll_bytes - len(self._pre_roll[0]) >= limit:
            self._pre_roll_bytes -= len(self._pre_roll.popleft())

    def append_assistant_audio(self, pcm24k: bytes) -> None:
        if self.assistant_track is not None:
            self.assistant_track.append(pcm24k)

    def log_event_line(self, line: str) -> None:
        if self.events_file is not None and not self.events_file.closed:
            self.events_file.write(line + "\n")
            self.events_file.flush()  # a line at a time: a crash keeps every event up to it

    def close(self) -> None:
        for track in (self.user_track, self.assistant_track):
            if track is not None:
                track.close()
        for f in (self._transcript_file, self.events_file):
            if f is not None and not f.closed:
                f.close()
        if self.folder is not None and not self.turns:
            # Nothing was said: no empty entry in History (a launch used to leave one each time).
            shutil.rmtree(self.folder, ignore_errors=True)

    def as_text(self) -> str:
        return "\n".join(f"{t.role}: {t.display_text}" for t in self.turns)


# ----- reading back, history and export -----


@dataclass(slots=True)
class ConversationSummary:
    conversation_id: str
    folder: Path
    started_at: float
    title: str
    turn_count: int


def load_turns(folder: Path) -> list[Turn]:
    """Read ``transcript.jsonl``; the last record of each turn wins; a torn last line is skipped.

    A reply whose last record is not final was cut by a crash (every reply that ends, even one the user
    cut, is saved final): it is marked interrupted, with all its text kept as what was heard."""
    path = folder / "transcript.jsonl"
    if not path.exists():
        return []
    latest: dict[str, Turn] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "turn_id" in record:
            latest[record["turn_id"]] = Turn.from_record(record)
    turns = list(latest.values())  # dicts keep first-insertion order = turn order
    for turn in turns:
        if turn.role == ASSISTANT and not turn.final:
            turn.interrupted, turn.final = True, True
            if turn.heard_chars is None:
                turn.heard_chars = len(turn.text)
    return turns


def _started_at(folder: Path) -> float:
    try:
        return float(json.loads((folder / "meta.json").read_text(encoding="utf-8"))["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return folder.stat().st_mtime


def list_conversations(root: Path | None = None) -> list[ConversationSummary]:
    base = conversations_dir(root)
    if not base.is_dir():
        return []
    out: list[ConversationSummary] = []
    for folder in base.iterdir():
        if not folder.is_dir():
            continue
        turns = load_turns(folder)
        if not turns:
            continue  # the live one before its first turn, or one a crash left empty
        first_user = next((t.display_text for t in turns if t.role == USER and t.display_text), "")
        title = first_user.strip()[:80] or "(no words yet)"
        out.append(ConversationSummary(folder.name, folder, _started_at(folder), title, len(turns)))
    out.sort(key=lambda s: s.started_at, reverse=True)
    return out


def delete_conversation(folder: Path) -> None:
    """Remove a saved conversation (transcript, audio and events) for good."""
    shutil.rmtree(folder, ignore_errors=True)


def transcript_markdown(turns: list[Turn], title: str = "qwenvoice conversation") -> str:
    lines = [f"# {title}", ""]
    for t in turns:
        stamp = datetime.fromtimestamp(t.started_at).strftime("%Y-%m-%d %H:%M:%S")
        who = "You" if t.role == USER else "Assistant"
        via = " (typed)" if t.source == "text" else ""
        lines.append(f"**{who}**{via} · {stamp}")
        lines.append("")
        text = t.display_text.strip() or "_(no transcript)_"
        if t.interrupted:
            heard = t.heard_chars if t.heard_chars is not None else len(t.text)
            text = text[:heard] + " — *[interrupted]*"
        elif t.status:
            text += f" — *[{t.status}{': ' + t.status_reason if t.status_reason else ''}]*"
        lines.append(text)
        lines.append("")
    return "\n".join(lines)


def export_bundle(folder: Path, out_dir: Path) -> list[Path]:
    """Markdown transcript, the two WAV tracks and the event log, copied into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    turns = load_turns(folder)
    written: list[Path] = []
    md = out_dir / "transcript.md"
    md.write_text(transcript_markdown(turns, f"qwenvoice conversation {folder.name}"), encoding="utf-8")
    written.append(md)
    for name in ("user.wav", "assistant.wav"):
        src = folder / name
        if src.exists():
            audio = read_wav(src)  # rewrites a clean header even after a crash
            dst = out_dir / name
            write_wav(dst, audio.pcm, audio.rate)
            written.append(dst)
    events = folder / "events.jsonl"
    dst_events = out_dir / "events.jsonl"
    dst_events.write_bytes(events.read_bytes() if events.exists() else b"")
    written.append(dst_events)
    return written
