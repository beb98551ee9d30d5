"""One way to wire the studio: components are registered by name once, and an event names its inputs and outputs
once; its function gets the inputs as a dict keyed by name and returns a dict keyed by name.

A refusal (``LabError``) is written, as text, into the tab's one message area, and nothing else changes: outputs
that did not change keep their value (a bad clone id never wipes the library table). A success clears the
message. ``Choices(...)`` in a result updates a picker's choices and value.
"""

# No ``from __future__ import annotations`` here: Gradio reads the wrappers' annotations (``gr.Request``,
# ``gr.SelectData``) as objects to know what to inject.

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from lab.errors import LabError
from lab.studio.common import CANCELS, RenderCancelled, designer_message, text

# How a queued event treats a trigger that fires while it runs, by what triggers it (unless an event says).
# A value change keeps its last trigger, run after the pending one ("once", Gradio's default for several
# triggers, drops it). A table click carries its row: each click runs, one at a time, in the order made
# ("always_last" reruns the first click's row after the pending one).
TRIGGER_DEFAULTS = {"select": {"trigger_mode": "multiple", "concurrency_limit": 1},
                    "change": {"trigger_mode": "always_last"}, "input": {"trigger_mode": "always_last"}}


@dataclass(frozen=True)
class Choices:
    """A picker's new choices (and value) in a handler's result."""

    choices: list[Any]
    value: Any = None


@dataclass(frozen=True)
class Visible:
    """A row or button shown or hidden by a handler's result."""

    visible: bool


def message_for(exc: BaseException) -> str:
    """What a tab's message area says about a refusal: plain text (escaped), in the user's words."""
    if isinstance(exc, RenderCancelled):
        return "Render cancelled: nothing was kept."
    assert isinstance(exc, LabError)
    return f"⚠ {text(designer_message(exc))}"


class Ui:
    """The page's components by name and the events between them."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}

    def add(self, name: str, component: Any) -> Any:
        if name in self.named:
            raise ValueError(f"two components named {name!r}")
        self.named[name] = component
        return component

    def __getitem__(self, name: str) -> Any:
        return self.named[name]

    def __contains__(self, name: str) -> bool:
        return name in self.named

    def shown(self, out: dict[str, Any], outputs: Iterable[str]) -> dict[Any, Any]:
        """A handler's result keyed by component; names the event does not output are left out."""
        wanted = set(outputs)
        res = {}
        for name, value in out.items():
            if name not in wanted:
                continue
            if isinstance(value, Choices):
                value = gr.update(choices=value.choices, value=value.value)
            elif isinstance(value, Visible):
                value = gr.update(visible=value.visible)
            res[self.named[name]] = value
        return res

    def on(self, triggers: Any, fn: Callable[..., Any], inputs: Iterable[str] = (), outputs: Iterable[str] = (),
           message: str | None = None, **options: Any) -> Any:
        """Wire ``fn(values_by_name, [session=], [progress=], [select=])`` to ``triggers``.

        ``fn`` returns a dict by name (or yields them); a ``LabError`` goes to the ``message`` area as text and
        leaves every other output as it was. ``fn`` may take ``session`` (the page's id, for Cancel),
        ``progress`` (Gradio's progress bar) and ``select`` (a table click) by keyword.
        """
        names = list(dict.fromkeys(inputs)) or [self._nothing()]
        # A handler's names that are no component here (width and height: the size picker holds both) are dropped.
        outs = [n for n in dict.fromkeys([*outputs, *([message] if message else [])]) if n in self.named]
        wants = set(inspect.signature(fn).parameters)
        streams = inspect.isgeneratorfunction(fn)

        def call(values: dict[Any, Any] | None, request: Any, progress: Any, select: Any) -> Any:
            by_name = {n: (values or {}).get(self.named[n]) for n in names}
            extra = {k: v for k, v in (("session", getattr(request, "session_hash", None) or ""),
                                       ("progress", progress), ("select", select)) if k in wants}
            if extra.get("session"):
                CANCELS.clear(extra["session"])
            return fn(by_name, **extra)

        def finish(out: Any) -> Any:
            if out is None or not isinstance(out, dict):
                return out  # gr.skip() and the like
            if message and message not in out:
                out = {**out, message: ""}
            return self.shown(out, outs)

        def refused(exc: BaseException) -> dict[Any, Any]:
            if message is None:
                raise gr.Error(message_for(exc).removeprefix("⚠ "), duration=None, print_exception=False)
            return {self.named[message]: message_for(exc)}

        if streams:
            def run_stream(values: dict[Any, Any] | None = None, request: gr.Request = None,
                           progress: gr.Progress = gr.Progress()) -> Iterator[Any]:
                try:
                    for out in call(values, request, progress, None):
                        yield finish(out)
                except (LabError, RenderCancelled) as exc:
                    yield refused(exc)
            wrapper: Callable[..., Any] = run_stream
        elif "select" in wants:
            def run_select(values: dict[Any, Any], select: gr.SelectData, request: gr.Request = None) -> Any:
                try:
                    return finish(call(values, request, None, select))
                except LabError as exc:
                    return refused(exc)
            wrapper = run_select
        elif "progress" in wants:
            def run_progress(values: dict[Any, Any] | None = None, request: gr.Request = None,
                             progress: gr.Progress = gr.Progress()) -> Any:
                try:
                    return finish(call(values, request, progress, None))
                except (LabError, RenderCancelled) as exc:
                    return refused(exc)
            wrapper = run_progress
        else:
            def run(values: dict[Any, Any] | None = None, request: gr.Request = None) -> Any:
                try:
                    return finish(call(values, request, None, None))
                except LabError as exc:
                    return refused(exc)
            wrapper = run
        wrapper.__name__ = getattr(fn, "__name__", "handler")
        triggers = triggers if isinstance(triggers, list) else [triggers]
        kinds = {getattr(t, "event_name", None) for t in triggers}
        kind = next((k for k in TRIGGER_DEFAULTS if k in kinds), None)
        options = {**TRIGGER_DEFAULTS.get(kind, {}), **options}
        return gr.on(triggers, wrapper, inputs={self.named[n] for n in names},
                     outputs={self.named[n] for n in outs} or None, **options)

    def _nothing(self) -> str:
        """An input for an event that reads nothing (Gradio then still passes one dict, so every wrapper has the
        same shape)."""
        if "_nothing" not in self.named:
            self.add("_nothing", gr.State(None))
        return "_nothing"
