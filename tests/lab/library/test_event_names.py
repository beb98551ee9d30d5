"""A name must show something: invisible (default-ignorable) characters are refused, joiners kept where they join."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Format characters (Unicode category Cf) that are not default-ignorable: the probe's finds and their kin.
@pytest.mark.parametrize("ch", ["\ufff9", "\ufffa", "\ufffb",  # interlinear annotation
                                "\U00013430", "\U00013436",  # Egyptian hieroglyph format controls
                                "\u0600", "\u06dd", "\u070f", "\u08e2", "\u180e",  # Arabic, Syriac, Mongolian
                                "\U000110bd", "\U000110cd"])  # Kaithi number signs
def test_format_characters_are_invisible_too(ch):
    assert error(with_(user=f"Ali{ch}ce")).startswith(f"event.user: holds the invisible character U+{ord(ch):04X} "
                                                      "at position 4")
    assert error(with_(user=ch)).startswith(f"event.user: holds the invisible character U+{ord(ch):04X}")


def test_every_format_character_is_refused_except_a_joiner_between_letters():
    import sys
    import unicodedata

    format_chars = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert len(format_chars) > 150
    for ch in format_chars:
        try:
            parse_event(with_(user=f"Ab{ch}cd"))
            accepted = True
        except EventError:
            accepted = False
        assert accepted == (ch in "\u200c\u200d"), f"U+{ord(ch):04X}"


@pytest.mark.parametrize("name, what", [
    ("\u0301\u0301", "starts with the combining mark U+0301, which has no letter to sit on"),
    ("\u0301", "starts with the combining mark U+0301, which has no letter to sit on"),
    ("\u20dd\u20dd\u20dd", "starts with the combining mark U+20DD, which has no letter to sit on"),  # enclosing marks
    ("\u0903a", "starts with the combining mark U+0903, which has no letter to sit on"),  # a spacing mark
])
def test_a_name_of_combining_marks_alone_is_refused(name, what):
    assert error(with_(user=name)) == f"event.user: {what}; send the name as it should appear on the video"


@pytest.mark.parametrize("name", ["Jose\u0301", "Nguyễn Thị", "Zoë", "क्\u200dष", "ñ"])
def test_marks_on_a_letter_are_fine(name):
    assert parse_event(with_(user=name)).user


def test_a_54_kb_locale_is_refused_by_its_length():
    locale = "en" + "-abcdefgh" * 6144
    assert error(with_(locale=locale)) == (f"event.locale: is {len(locale):,} characters long; a language tag is at "
                                           "most 35; send a tag such as 'en' or 'zh-CN'")


@pytest.mark.parametrize("locale", ["en", "zh-CN", "zh-Hant-TW", "sr-Latn", "es-419", "de-CH-1901", "sl-IT-nedis",
                                    "en-GB-oxendict", "yue-HK", "pt-BR"])
def test_real_language_tags_are_accepted(locale):
    assert parse_event(with_(locale=locale)).locale == locale


@pytest.mark.parametrize("locale", ["en-12", "en-abcdefgh-abcdefgh-abcdefgh", "en-US-x", "en-US-US", "e", "en--US",
                                    "en-Latn-Latn", "EN-us"])
def test_tags_without_the_shape_of_a_language_tag_are_refused(locale):
    assert error(with_(locale=locale)).startswith("event.locale: must be a language tag such as 'en' or 'zh-CN'")


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), min_size=1, max_size=40))  # callers refuse ""
@settings(max_examples=400, deadline=None)
def test_the_ascii_shortcut_gives_the_full_scans_answer(value):
    """Printable ASCII skips the per-character scans; for every ASCII string both ways must agree."""
    from lab.library import events

    def outcome(check, scan):
        try:
            check(value, "user")
        except EventError as exc:
            quick = str(exc)
        else:
            quick = None
        try:
            scan(value, "user")
        except EventError as exc:
            return quick, str(exc)
        return quick, None

    for check, scan in ((events._check_printable, events._scan_printable),
                        (events._check_visible, events._scan_visible)):
        quick, full = outcome(check, scan)
        assert quick == full, (value, check.__name__)
