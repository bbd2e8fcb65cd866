"""Where text for speech is cut: the one sentence splitter every part of the app and the offline server uses."""

from __future__ import annotations

from qwenvoice.protocol.tts_text import (
    sentence_pieces,
    split_paragraphs,
    split_sentences,
    take_complete_sentences,
    text_chunks,
)


def test_split_sentences() -> None:
    assert split_sentences("Hello there. How are you? Fine!") == ["Hello there.", "How are you?", "Fine!"]
    assert split_sentences("你好。今天天气很好！") == ["你好。", "今天天气很好！"]
    assert split_sentences("  ") == []


def test_paragraphs_without_punctuation_are_sentences_of_their_own() -> None:
    assert split_sentences("One. Two!  Three?\n\nFour") == ["One.", "Two!", "Three?", "Four"]
    assert split_sentences("A heading\n\nThe body. The end") == ["A heading", "The body.", "The end"]


def test_paragraphs_split_at_blank_lines_only() -> None:
    text = "First sentence. Second sentence!\nSame paragraph, next line?\n\n  \t\nA new paragraph. Still it.\n\n"
    assert split_paragraphs(text) == [
        "First sentence. Second sentence!\nSame paragraph, next line?",
        "A new paragraph. Still it.",
    ]
    assert split_paragraphs("你好。今天天气很好！\r\n\r\n再见。") == ["你好。今天天气很好！", "再见。"]
    assert split_paragraphs("One line only") == ["One line only"]
    assert split_paragraphs(" \n\n ") == []


def test_numbers_and_punctuation_runs_stay_whole() -> None:
    assert split_sentences("It costs 3.5 euros. Really?! Yes; sure") == ["It costs 3.5 euros.", "Really?!", "Yes;",
                                                                          "sure"]
    assert split_sentences("好！！再见。") == ["好！！", "再见。"]


def test_streamed_text_waits_for_what_follows_a_full_stop() -> None:
    assert take_complete_sentences("It costs 3.") == ([], "It costs 3.")
    assert take_complete_sentences("It costs 3.5 euros. And then") == (["It costs 3.5 euros."], "And then")
    assert take_complete_sentences("你好。再") == (["你好。"], "再")
    assert take_complete_sentences("Done. ") == (["Done."], "")


def test_sentence_pieces_keep_every_character() -> None:
    text = "\n\n  One two three four five. Six seven!  Eight?\n\nNine "
    pieces = sentence_pieces(text)
    assert "".join(pieces) == text
    assert [p.strip() for p in pieces] == split_sentences(text)
    assert sentence_pieces("   ") == []


def test_text_chunks_keep_spacing_and_group_words() -> None:
    text = "  One two three four five. Six seven!  Eight?"
    assert "".join(text_chunks(text)) == text
    assert [len(c.split()) for c in text_chunks(text)] == [3, 3, 2]
    assert text_chunks(" \n ") == []
