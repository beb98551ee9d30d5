import pytest

from lab.library.events import parse_event
from lab.library.schema import with_changes
from lab.library.versions import VariantLibrary
from tests.conftest import REPO

SMALL = {"generation__width": 320, "generation__height": 192, "generation__fps": 12, "generation__duration_s": 2.0}


def small(variant_id: str, **changes):
    """A shipped variant at a small size, so a test render takes a fraction of a second."""
    v = VariantLibrary(REPO / "variants").load(variant_id)
    return with_changes(v, **{**SMALL, **changes})


def event_for(scenario: str, user: str = "Alice", rival: str | None = "Bob", locale: str = "en", **extra):
    data = {"event": scenario, "user": user, "new_rank": {"first_entry": 15, "defend": 1}.get(scenario, 2),
            "challenge": "Weekly 5K", "locale": locale, **extra}
    if scenario == "rank_up":
        data.setdefault("old_rank", 3)
    if scenario == "defend":
        data.setdefault("old_rank", 1)
    if rival and scenario != "first_entry":
        data["rival"] = rival
    return parse_event(data)


@pytest.fixture
def cache(tmp_path):
    from lab.render.cache import BackgroundCache

    return BackgroundCache(tmp_path / "cache", 10**9)
