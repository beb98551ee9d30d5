import json

import pytest

from lab.errors import EventError
from lab.library.events import parse_event, sample_event

BASE = {"event": "rank_up", "user": "Alice", "user_id": "u-123", "old_rank": 3, "new_rank": 2,
        "rival": "Bob", "challenge": "Weekly 5K", "event_id": "e-1", "locale": "en"}


def with_(**changes):
    data = dict(BASE)
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return data


def error(data) -> str:
    with pytest.raises(EventError) as info:
        parse_event(data)
    return str(info.value)


def test_the_seed_payload_parses():
    event = parse_event(json.dumps(BASE))
    assert (event.scenario, event.user, event.old_rank, event.new_rank, event.rank_delta) == ("rank_up", "Alice", 3, 2, 1)
    assert event.to_dict() == BASE


def test_public_fields_hold_no_personal_data():
    public = parse_event(BASE).public_fields()
    assert "Alice" not in json.dumps(public) and "Bob" not in json.dumps(public) and "u-123" not in json.dumps(public)


@pytest.mark.parametrize("name", ["小明", "李雷", "José Ñúñez", "Zoë 🏃‍♀️", "O'Brien-Smith", "a" * 40])
def test_names_in_any_script_are_accepted(name):
    assert parse_event(with_(user=name)).user == name


def test_json_that_does_not_parse_is_named_as_such():
    assert error('{"event": "rank_up", ') == (
        "event: not valid JSON (line 1 column 22: Expecting property name enclosed in double quotes); send one "
        'JSON object such as {"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2}'
    )


def test_a_list_is_not_an_event():
    assert error("[1, 2]") == "event: must be a JSON object, got a list"


def test_unknown_fields_are_refused():
    assert error(with_(usr="Alice")) == (
        "event: unknown field 'usr'; allowed fields are event, user, user_id, old_rank, new_rank, rival, "
        "challenge, event_id, locale"
    )


def test_required_fields():
    assert error(with_(user=...)) == "event.user: is required"
    assert error(with_(new_rank=...)) == "event.new_rank: is required"
    assert error(with_(event=...)) == "event.event: is required"


def test_unknown_kind():
    assert error(with_(event="rank_down")) == (
        "event.event: unknown kind 'rank_down'; use one of rank_up, defend, first_entry"
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ("3", 'event.old_rank: must be a positive integer, got "3" (a string)'),
        (2.5, "event.old_rank: must be a positive integer, got 2.5 (float)"),
        (True, "event.old_rank: must be a positive integer, got true (a boolean)"),
        (0, "event.old_rank: must be a positive integer up to 10000000, got 0"),
        (-4, "event.old_rank: must be a positive integer up to 10000000, got -4"),
    ],
)
def test_ranks_are_positive_integers(value, message):
    assert error(with_(old_rank=value)) == message


def test_rank_up_must_improve_the_rank():
    assert error(with_(old_rank=2, new_rank=3)) == (
        "event: rank_up needs new_rank < old_rank, got old_rank 2 and new_rank 3; a lower number is a better rank; "
        "send 'defend' when the rank was held"
    )
    assert error(with_(old_rank=2, new_rank=2)).startswith("event: rank_up needs new_rank < old_rank")
    assert error(with_(old_rank=...)) == "event.old_rank: is required for a rank_up event"


def test_defend_keeps_the_rank():
    assert parse_event(with_(event="defend", old_rank=2, new_rank=2)).rank_delta == 0
    assert parse_event(with_(event="defend", old_rank=..., new_rank=2)).old_rank is None
    assert error(with_(event="defend", old_rank=3, new_rank=2)) == (
        "event: defend keeps the rank, so old_rank must equal new_rank, got 3 and 2"
    )


def test_first_entry_has_no_old_rank():
    assert parse_event(with_(event="first_entry", old_rank=..., new_rank=15)).old_rank is None
    assert error(with_(event="first_entry")) == (
        "event.old_rank: must be absent for a first_entry event (the user had no rank before)"
    )


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "event.user: must not be empty"),
        ("   ", "event.user: must not be empty"),
        (" Alice", "event.user: must not start or end with whitespace; trim the name before sending it"),
        ("a" * 41, "event.user: is 41 characters long; the limit is 40"),
        ("Al\u202eice", "event.user: holds the bidirectional control character U+202E at position 3; such characters "
                        "can make a name display as something else; remove it"),
        ("Al\u2066ice", "event.user: holds the bidirectional control character U+2066 at position 3; such characters "
                        "can make a name display as something else; remove it"),
        ("Al\nice", "event.user: holds the non-printable character U+000A at position 3; remove control characters"),
        ("Al\x00ice", "event.user: holds the non-printable character U+0000 at position 3; remove control characters"),
        (42, "event.user: must be text, got int"),
    ],
)
def test_bad_names(name, message):
    assert error(with_(user=name)) == message


def test_rival_follows_the_same_rules():
    assert error(with_(rival="B\u202eob")).startswith("event.rival: holds the bidirectional control character U+202E")


def test_locale_must_be_a_language_tag():
    assert parse_event(with_(locale="zh-CN")).locale == "zh-CN"
    assert error(with_(locale="Chinese!")) == (
        "event.locale: must be a language tag such as 'en' or 'zh-CN', got a text of 8 characters"
    )


def test_a_sample_event_exists_for_each_scenario():
    for scenario in ("rank_up", "defend", "first_entry"):
        assert sample_event(scenario).scenario == scenario


def test_a_number_past_pythons_digit_limit_is_refused():
    text = '{"event": "first_entry", "user": "A", "new_rank": ' + "9" * 5000 + "}"
    assert error(text) == "event: holds a number too long to read; send ranks as small whole numbers"


@pytest.mark.parametrize("field", ["old_rank", "new_rank", "event", "locale"])
def test_a_name_in_the_wrong_field_is_described_never_quoted(field):
    """A value in the wrong field is often a name: the message says what kind of value it was, not the value."""
    name = "Zorbina Probe-Sentinel"
    message = error(with_(**{field: name}))
    assert name not in message and "Zorbina" not in message and "22 characters" in message
