"""How text for speech is cut up: sentences (commit mode, the offline server's synthesis, streamed text),
paragraphs (the speech studio's "one segment per paragraph") and small word groups (text streamed as a
typing user would send it).

Pure text logic, shared by the app, the terminal commands and the offline server, so that all of them
agree on where a sentence ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Where a sentence ends: Latin punctuation only once whitespace follows (so "3.5" stays whole), CJK full
# stops at once, and a blank line (a heading or paragraph without punctuation). Runs such as "?!" or
# "。。" stay with their sentence; the whitespace after a boundary belongs to the sentence before it.
_SENTENCE_END = re.compile(r"[.!?;]\s+|[。！？；]+\s*|\n\s*\n\s*")


def _pieces(text: str) -> Iterator[tuple[str, bool]]:
    """Consecutive slices of ``text`` that add up to all of it, each with whether it ended on a
    sentence boundary (only the last slice may not)."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        yield text[start : match.end()], True
        start = match.end()
    if start < len(text):
        yield text[start:], False


def sentence_pieces(text: str) -> list[str]:
    """Sentences with every character kept (each carries the whitespace that follows it), so that
    ``"".join(sentence_pieces(t)) == t`` whenever ``t`` has something to say."""
    pieces = [piece for piece, _ in _pieces(text)]
    if len(pieces) > 1 and not pieces[0].strip():
        lead = pieces.pop(0)
        pieces[0] = lead + pieces[0]  # leading blank lines belong to the first sentence
    return [piece for piece in pieces if piece.strip()]


def split_sentences(text: str) -> list[str]:
    """Sentences (with their punctuation, without surrounding whitespace) in order, empty ones dropped."""
    return [piece.strip() for piece, _ in _pieces(text) if piece.strip()]


_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")  # a blank line (spaces on it allowed), and what follows


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs in order, cut at blank lines only (sentence ends and single line breaks stay inside),
    without surrounding whitespace, empty ones dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [part.strip() for part in _PARAGRAPH_BREAK.split(text) if part.strip()]


def take_complete_sentences(buffer: str) -> tuple[list[str], str]:
    """Split streamed text into finished sentences and the unfinished rest.

    A Latin sentence counts as finished only once something follows its punctuation (the next append
    may still continue "3." into "3.5"); CJK full stops end a sentence at once.
    """
    sentences: list[str] = []
    rest = ""
    for piece, finished in _pieces(buffer):
        if not finished:
            rest = piece
        elif piece.strip():
            sentences.append(piece.strip())
    return sentences, rest


def text_chunks(text: str, words_per_chunk: int = 3) -> list[str]:
    """Small word groups with their spacing kept, as a typing user would send them."""
    words = re.findall(r"\S+\s*", text)
    if not words:
        return []
    lead = text[: len(text) - len(text.lstrip())]
    chunks = ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]
    chunks[0] = lead + chunks[0]
    return chunks
