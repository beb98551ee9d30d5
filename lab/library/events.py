"""Rank events as production emits them, validated before anything is rendered from them.

The payload is the whole contract with the business system, e.g.
``{"event": "rank_up", "user": "Alice", "user_id": "u-123", "old_rank": 3, "new_rank": 2,
"rival": "Bob", "challenge": "Weekly 5K", "event_id": "e-1", "locale": "en"}``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from lab.errors import EventError, excerpt

# The kinds of rank event, which are also a variant's and an experiment's scenario.
Scenario = Literal["rank_up", "defend", "first_entry"]
SCENARIOS: tuple[str, ...] = get_args(Scenario)
FIELDS = ("event", "user", "user_id", "old_rank", "new_rank", "rival", "challenge", "event_id", "locale")
REQUIRED = ("event", "user", "new_rank")
NAME_MAX = 40
CHALLENGE_MAX = 60
ID_MAX = 128  # user_id and event_id
# A rank event is a few hundred bytes; anything far larger is not one (and is not read whole into errors).
EVENT_MAX_CHARS = 64 * 1024
MAX_RANK = 10_000_000
# A BCP 47 language tag as the lab uses them: language, then optional script, region and up to two variants
# (``en``, ``zh-CN``, ``zh-Hant-TW``, ``es-419``, ``de-CH-1901``). Always ``fullmatch``; at most LOCALE_MAX long.
LOCALE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?"
                       r"(-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3})){0,2}")
LOCALE_MAX = 35  # RFC 5646 section 4.4.1: the longest such tag fits 35 characters
# Characters that reorder or hide text: a name holding one could display as something else.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Unicode categories that are never part of a displayable name; U+200D (ZWJ, Cf) stays allowed
# because emoji sequences need it.
REFUSED_CATEGORIES = {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"}
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters a renderer draws as
# nothing. A name made of them shows no name on the poster, and hidden ones make two names look alike.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
# Drawn as an empty cell though not default-ignorable.
BLANK_GLYPHS = frozenset("\u2800")
ZWJ, ZWNJ = "\u200d", "\u200c"
# Variation selectors pick a glyph for the character before them (\u2764\ufe0f is the red heart emoji).
VARIATION_SELECTORS = ((0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
# Emoji tag sequences: U+1F3F4 (black flag), tags U+E0020-U+E007E, then U+E007F (the England flag).
TAG_BASE, TAG_END = "\U0001f3f4", "\U000e007f"


@dataclass(frozen=True)
class RankEvent:
    """One leaderboard change for one user. ``user``, ``user_id`` and ``rival`` are personal data.

    ``scenario`` is the payload's ``event`` field (``rank_up``, ``defend``, ``first_entry``).
    """

    scenario: str
    user: str
    new_rank: int
    user_id: str | None = None
    old_rank: int | None = None
    rival: str | None = None
    challenge: str | None = None
    event_id: str | None = None
    locale: str = "en"

    @property
    def rank_delta(self) -> int:
        """Places gained (0 when defending or entering the board)."""
        return 0 if self.old_rank is None else self.old_rank - self.new_rank

    def to_dict(self) -> dict[str, Any]:
        """The event as its payload (``scenario`` under the payload's name, ``event``)."""
        data = {k: v for k, v in asdict(self).items() if v is not None}
        return {"event": data.pop("scenario"), **data}

    def public_fields(self) -> dict[str, Any]:
        """The fields that carry no personal data: the only ones a prompt or a log may use."""
        return {
            "event": self.scenario,
            "old_rank": self.old_rank,
            "new_rank": self.new_rank,
            "rank_delta": self.rank_delta,
            "challenge": self.challenge,
            "locale": self.locale,
        }


def parse_event(data: str | bytes | dict[str, Any], where: str = "event") -> RankEvent:
    """Validate a payload (JSON text or a dict) and return the event, or raise ``EventError``."""
    if isinstance(data, (str, bytes)):
        if len(data) > EVENT_MAX_CHARS:
            raise EventError(where, f"is {len(data):,} characters long; a rank event is at most "
                             f"{EVENT_MAX_CHARS:,}", "send one event object, not a file of them")
        try:
            data = json.loads(data, object_pairs_hook=_unique_keys(where))
        except RecursionError:
            raise EventError(where, "is nested too deeply to be a rank event",
                             "send one flat JSON object of the event's fields") from None
        except UnicodeDecodeError:
            raise EventError(where, "is not UTF-8 text", "send the event as UTF-8 JSON") from None
        except json.JSONDecodeError as exc:
            raise EventError(
                where,
                f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})",
                "send one JSON object such as "
                '{"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2}',
            ) from None
        except ValueError:  # a number past Python's 4300-digit limit for int()
            raise EventError(where, "holds a number too long to read", "send ranks as small whole numbers") from None
    if not isinstance(data, dict):
        raise EventError(where, f"must be a JSON object, got {_kind(data)}")
    unknown = sorted(set(data) - set(FIELDS), key=str)
    if unknown:
        raise EventError(
            where,
            f"unknown field {excerpt(unknown[0])}",
            f"allowed fields are {', '.join(FIELDS)}",
        )
    for name in REQUIRED:
        if data.get(name) is None:
            raise EventError(f"{where}.{name}", "is required")
    kind = data["event"]
    if kind not in SCENARIOS:
        raise EventError(f"{where}.event", f"unknown kind {_shown(kind, KIND_SHAPE)}",
                         f"use one of {', '.join(SCENARIOS)}")

    user = _name(data["user"], f"{where}.user")
    rival = _name(data["rival"], f"{where}.rival") if data.get("rival") is not None else None
    new_rank = _rank(data["new_rank"], f"{where}.new_rank")
    old_rank = _rank(data["old_rank"], f"{where}.old_rank") if data.get("old_rank") is not None else None

    if kind == "rank_up":
        if old_rank is None:
            raise EventError(f"{where}.old_rank", "is required for a rank_up event")
        if new_rank >= old_rank:
            raise EventError(
                where,
                f"rank_up needs new_rank < old_rank, got old_rank {old_rank} and new_rank {new_rank}",
                "a lower number is a better rank; send 'defend' when the rank was held",
            )
    elif kind == "defend":
        if old_rank is not None and old_rank != new_rank:
            raise EventError(
                where,
                f"defend keeps the rank, so old_rank must equal new_rank, got {old_rank} and {new_rank}",
            )
    elif old_rank is not None:
        raise EventError(
            f"{where}.old_rank",
            "must be absent for a first_entry event (the user had no rank before)",
        )

    return RankEvent(
        scenario=kind,
        user=user,
        new_rank=new_rank,
        user_id=_text(data.get("user_id"), f"{where}.user_id", ID_MAX),
        old_rank=old_rank,
        rival=rival,
        challenge=_text(data.get("challenge"), f"{where}.challenge", CHALLENGE_MAX),
        event_id=_text(data.get("event_id"), f"{where}.event_id", ID_MAX),
        locale=_locale(data.get("locale", "en"), f"{where}.locale"),
    )


def _unique_keys(where: str) -> Any:
    """A JSON object hook refusing a repeated key: which of two values counts would be a guess."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise EventError(where, f"has the field {excerpt(key)} twice", "send each field once")
            out[key] = value
        return out

    return build


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


# What a field's wrong value may be quoted as: text shaped like the field's own values. Other text is described,
# never quoted, since a value in the wrong field is often a name (``"old_rank": "Alice"``).
KIND_SHAPE = re.compile(r"[a-z]+(_[a-z0-9]+)+")
NUMBER_SHAPE = re.compile(r"[-+0-9.eE ]{1,40}")
TAG_SHAPE = re.compile(r"[a-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}")


def _shown(value: Any, shape: re.Pattern[str]) -> str:
    """``value`` quoted when it has the field's shape (or is not text), else only its length."""
    if isinstance(value, str) and not shape.fullmatch(value):
        return f"a text of {len(value):,} characters"
    return excerpt(value)


def _rank(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        short = isinstance(value, (str, bool, type(None))) and len(str(value)) <= 40
        if isinstance(value, str) and not NUMBER_SHAPE.fullmatch(value):
            got = _shown(value, NUMBER_SHAPE)
        else:
            got = json.dumps(value, ensure_ascii=False) if short else excerpt(value)
        raise EventError(where, f"must be a positive integer, got {got} ({_kind(value)})")
    if not 1 <= value <= MAX_RANK:
        raise EventError(where, f"must be a positive integer up to {MAX_RANK}, got {excerpt(value)}")
    return value


def _name(value: Any, where: str) -> str:
    """A display name: 1-40 printable characters; CJK, accents and emoji are fine."""
    if not isinstance(value, str):
        raise EventError(where, f"must be text, got {_kind(value)}")
    value = unicodedata.normalize("NFC", value)
    if not value.strip():
        raise EventError(where, "must not be empty")
    if value != value.strip():
        raise EventError(where, "must not start or end with whitespace", "trim the name before sending it")
    if len(value) > NAME_MAX:
        raise EventError(where, f"is {len(value)} characters long; the limit is {NAME_MAX}")
    _check_printable(value, where)
    _check_visible(value, where)
    return value


def _text(value: Any, where: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(where, f"must be text, got {_kind(value)}")
    if not value.strip():
        raise EventError(where, "must not be empty; leave the field out instead")
    if len(value) > limit:
        raise EventError(where, f"is {len(value)} characters long; the limit is {limit}")
    _check_printable(value, where)
    _check_visible(value, where)
    return value


def check_user_id(value: Any, where: str = "user_id") -> str:
    """A user id to assign an arm to: required, and held to the rule of an event's ``user_id``."""
    if not isinstance(value, str) or not value.strip():
        raise EventError(where, f"must be a non-empty id, got {excerpt(value)}",
                         "give the id the app knows the user by")
    return _text(value, where, ID_MAX) or value


def _check_printable(value: str, where: str) -> None:
    if value.isascii() and value.isprintable():  # no control, bidi or unassigned character: the common case, at C speed
        return
    _scan_printable(value, where)


def _scan_printable(value: str, where: str) -> None:
    for i, ch in enumerate(value):
        if ch in BIDI_CONTROLS:
            raise EventError(
                where,
                f"holds the bidirectional control character U+{ord(ch):04X} at position {i + 1}",
                "such characters can make a name display as something else; remove it",
            )
        if unicodedata.category(ch) in REFUSED_CATEGORIES:
            raise EventError(
                where,
                f"holds the non-printable character U+{ord(ch):04X} at position {i + 1}",
                "remove control characters",
            )


def _in(ranges: tuple[tuple[int, int], ...], ch: str) -> bool:
    return any(low <= ord(ch) <= high for low, high in ranges)


def is_visible(ch: str) -> bool:
    """A character that draws something: not a space, not default-ignorable, not a blank glyph."""
    return not (ch.isspace() or ch in BLANK_GLYPHS or _in(DEFAULT_IGNORABLE, ch)
                or unicodedata.category(ch) in REFUSED_CATEGORIES | {"Cf", "Zs"})


def _check_visible(value: str, where: str) -> None:
    """Refuse invisible characters except where they join or select a visible glyph, and demand a visible one.

    ZWJ and ZWNJ are kept between two visible characters (emoji sequences, Persian, Indic scripts), a
    variation selector right after a visible character, and tags only inside an emoji flag sequence.
    """
    # Printable ASCII holds no invisible, format or combining character, and one that is not a space is visible:
    # the answer of the scan without a Python step per character (every id assigned, every event parsed).
    if value.isascii() and value.isprintable() and not value.isspace():
        return
    _scan_visible(value, where)


def _scan_visible(value: str, where: str) -> None:
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == TAG_BASE and i + 1 < len(value) and "\U000e0020" <= value[i + 1] <= "\U000e007e":
            end = i + 1
            while end < len(value) and "\U000e0020" <= value[end] <= "\U000e007e":
                end += 1
            if end < len(value) and value[end] == TAG_END:
                i = end + 1
                continue
        # Every format character (Cf) is invisible too: U+FFF9-FFFB, U+13430.., U+0600.. are not default-ignorable.
        if _in(DEFAULT_IGNORABLE, ch) or ch in BLANK_GLYPHS or unicodedata.category(ch) == "Cf":
            before = value[i - 1] if i > 0 else ""
            after = value[i + 1] if i + 1 < len(value) else ""
            base = value[:i].rstrip("".join(chr(c) for c in range(0xFE00, 0xFE10)))  # ❤️‍🔥: heart, VS16, ZWJ
            if ch in (ZWJ, ZWNJ) and base and after and is_visible(base[-1]) and is_visible(after):
                i += 1
                continue
            if _in(VARIATION_SELECTORS, ch) and before and is_visible(before):
                i += 1
                continue
            raise EventError(
                where,
                f"holds the invisible character U+{ord(ch):04X} at position {i + 1}",
                "it draws nothing, so the name could show as empty or look like another; remove it "
                "(joiners are kept only between two visible characters)",
            )
        i += 1
    if unicodedata.category(value[0]).startswith("M"):
        raise EventError(where, f"starts with the combining mark U+{ord(value[0]):04X}, which has no letter to sit on",
                         "send the name as it should appear on the video")
    if not any(is_visible(ch) and not unicodedata.category(ch).startswith("M") for ch in value):
        raise EventError(where, "has no visible character", "send the name as it should appear on the video")


def _locale(value: Any, where: str) -> str:
    if isinstance(value, str) and len(value) > LOCALE_MAX:
        raise EventError(where, f"is {len(value):,} characters long; a language tag is at most {LOCALE_MAX}",
                         "send a tag such as 'en' or 'zh-CN'")
    if not isinstance(value, str) or not LOCALE_RE.fullmatch(value):
        raise EventError(where, f"must be a language tag such as 'en' or 'zh-CN', got {_shown(value, TAG_SHAPE)}")
    return value


SAMPLE_EVENTS: dict[str, dict[str, Any]] = {
    "rank_up": {"event": "rank_up", "user": "Alice", "user_id": "u-123", "old_rank": 3, "new_rank": 2,
                "rival": "Bob", "challenge": "Weekly 5K", "locale": "en"},
    "defend": {"event": "defend", "user": "李雷", "user_id": "u-456", "old_rank": 1, "new_rank": 1,
               "rival": "Han Meimei", "challenge": "Weekly 5K", "locale": "zh-CN"},
    "first_entry": {"event": "first_entry", "user": "小明", "user_id": "u-789", "new_rank": 15,
                    "challenge": "Weekly 5K", "locale": "zh-CN"},
}


def sample_event(scenario: str) -> RankEvent:
    """A made-up event for previews and demos of a scenario (the names are fictional)."""
    return parse_event(SAMPLE_EVENTS[scenario], where=f"sample {scenario} event")
