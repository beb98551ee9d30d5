"""A name must show something: invisible (default-ignorable) characters are refused, joiners kept where they join."""

import json

import pytest

from lab.errors import EventError
from lab.library.events import parse_event
from tests.lab.library.test_events import error, with_


@pytest.mark.parametrize(
    "name, what",
    [
        ("\u200b", "holds the invisible character U+200B at position 1"),  # zero-width space
        ("Al\u200bice", "holds the invisible character U+200B at position 3"),
        ("\u200d", "holds the invisible character U+200D at position 1"),  # ZWJ alone
        ("\u200c", "holds the invisible character U+200C at position 1"),  # ZWNJ alone
        ("\u200d\u200d", "holds the invisible character U+200D at position 1"),
        ("Alice\u200d", "holds the invisible character U+200D at position 6"),  # ZWJ with nothing after
        ("\u2060", "holds the invisible character U+2060 at position 1"),  # word joiner
        ("\ufeff", "holds the invisible character U+FEFF at position 1"),  # BOM
        ("\u00ad", "holds the invisible character U+00AD at position 1"),  # soft hyphen
        ("\u00ad\u00ad", "holds the invisible character U+00AD at position 1"),
        ("Bo\u00adb", "holds the invisible character U+00AD at position 3"),
        ("\u3164", "holds the invisible character U+3164 at position 1"),  # Hangul filler
        ("\u2800", "holds the invisible character U+2800 at position 1"),  # braille blank
        ("\U000e0041\U000e0042", "holds the invisible character U+E0041 at position 1"),  # tag characters
        ("Eve\U000e0041", "holds the invisible character U+E0041 at position 4"),
        ("\ufe0f", "holds the invisible character U+FE0F at position 1"),  # a variation selector alone
        ("\u034f", "holds the invisible character U+034F at position 1"),  # combining grapheme joiner
        ("\u115f", "holds the invisible character U+115F at position 1"),
    ],
)
def test_invisible_characters_are_refused_with_their_position(name, what):
    assert error(with_(user=name)) == f"event.user: {what}; it draws nothing, so the name could show as empty or " \
                                      "look like another; remove it (joiners are kept only between two visible " \
                                      "characters)"
    assert error(with_(rival=name)).startswith(f"event.rival: {what}")


@pytest.mark.parametrize(
    "name",
    [
        "محمد",  # Arabic
        "فاطمة الزهراء",
        "שָׁלוֹם",  # Hebrew with points
        "דוד כהן",
        "می\u200cخواهم",  # Persian: ZWNJ between letters
        "क्\u200dष",  # Devanagari: ZWJ after a virama
        "👨\u200d👩\u200d👧",  # emoji ZWJ sequence
        "❤\ufe0f",  # variation selector after its base
        "❤\ufe0f\u200d🔥",  # ZWJ after a variation selector
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England flag (a tag sequence)
        "👍🏽",
    ],
)
def test_scripts_and_emoji_that_need_joiners_keep_working(name):
    event = parse_event(json.dumps(with_(user=name, rival=name), ensure_ascii=False))
    assert event.user == event.rival


def test_challenge_text_follows_the_same_rule():
    assert error(with_(challenge="\u200b\u200b")).startswith("event.challenge: holds the invisible character U+200B")


def test_a_space_only_name_has_nothing_visible():
    with pytest.raises(EventError, match="must not be empty"):
        parse_event(with_(user="\u3000"))
