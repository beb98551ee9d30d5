"""The overlay's own words, per language (the CTA is the variant's)."""

from __future__ import annotations

from lab.library.events import RankEvent
from lab.render.backends import RANDOM_WEIGHTS_LABEL

WORDS = {
    "en": {"welcome": "Welcome!", "places": "▲ {n} places", "place": "▲ 1 place", "defended": "Rank defended",
           "new": "NEW", "entered": "New on the board", "replay": "SLOW-MO REPLAY", "rewind": "◀◀ REPLAY",
           "random": RANDOM_WEIGHTS_LABEL},
    "zh": {"welcome": "欢迎上榜！", "places": "▲ 上升 {n} 名", "place": "▲ 上升 1 名", "defended": "守擂成功",
           "new": "新", "entered": "首次上榜", "replay": "慢动作回放", "rewind": "◀◀ 回放", "random": "随机权重"},
}


def words(locale: str) -> dict[str, str]:
    return WORDS.get(locale.split("-")[0], WORDS["en"])


def subtitle(event: RankEvent, locale_words: dict[str, str], entered: str = "entered") -> str:
    """What happened, in words: "▲ 2 places · Weekly 5K", "Rank defended", "New on the board" (``entered``: the
    word for a first entry)."""
    if event.scenario == "rank_up":
        sub = locale_words["place"] if event.rank_delta == 1 else locale_words["places"].format(n=event.rank_delta)
    elif event.scenario == "defend":
        sub = locale_words["defended"]
    else:
        sub = locale_words[entered]
    return f"{sub} · {event.challenge}" if event.challenge else sub
