"""Every setting, fed any text an environment variable can hold: a value, or a LabError that names the variable.

Nothing else escapes the settings reader: no ValueError from a bare ``int()``, no OverflowError, no
traceback from deep inside a render. Seeds are fixed (``derandomize=True``) so CI runs the same examples.
"""

from __future__ import annotations

import inspect
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab import config
from lab.errors import LabError

PROPERTY = settings(derandomize=True, max_examples=50, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# What an environment variable can hold: any text without NUL, encodable for the OS (no lone surrogates).
env_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80)
# Text close to what the parsers take, so the examples reach past the first character.
near_miss = st.one_of(
    st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1", "0", "on", "OFF", "yes", "fp32", "bf16", "auto", "inductor", "30/m", "2.5/s", "http://h/x",
                     "https://", "redis://127.0.0.1:6379/0", "redis://", "１２", "1_0", " 7 ", "\t", "9" * 5000]),
    st.tuples(st.sampled_from(["http", "https", "redis", "ftp", "file", "h t"]),
              st.text(max_size=20)).map(lambda p: f"{p[0]}://{p[1]}"),
)
# Every public reader of lab.config that takes no argument: whichever variable it reads, it gives a value too.
READERS = [fn for name, fn in vars(config).items() if inspect.isfunction(fn) and fn.__module__ == "lab.config"
           and not name.startswith("_") and not inspect.signature(fn).parameters]


def holdable(text: str) -> bool:
    """Whether an environment variable can hold ``text`` (no NUL, encodable for the OS)."""
    try:
        return b"\x00" not in os.fsencode(text)
    except UnicodeEncodeError:
        return False


VARIABLES = sorted({getattr(config, name) for name in dir(config) if name.startswith("ENV_")})


def reads_or_names_the_variable(variable: str, text: str) -> None:
    old = os.environ.get(variable)
    os.environ[variable] = text
    try:
        for reader in READERS:
            reader()
        config.check("paths", "render", "mlflow", "worker", "studio")
        if not text.strip():
            assert config.value(variable) == config.SETTINGS[variable].default  # empty counts as unset
    except LabError as exc:
        assert exc.where == variable, repr(exc)
        assert " is not " in exc.what and "; it takes " in exc.what and "\n" not in str(exc) and "\x1b" not in str(exc), repr(str(exc))
    finally:
        if old is None:
            del os.environ[variable]
        else:
            os.environ[variable] = old


@pytest.mark.parametrize("variable", VARIABLES)
@PROPERTY
@given(text=(env_text | near_miss).filter(holdable))
def test_any_text_in_any_setting(variable, text):
    reads_or_names_the_variable(variable, text)


def test_every_variable_has_a_reader():
    assert set(VARIABLES) == set(config.SETTINGS)
