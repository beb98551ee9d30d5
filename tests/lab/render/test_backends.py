"""One backend table (issue 19): what makes a backend, whether it holds the model slot and why it cannot run here
all come from ``lab.render.backends.SPECS``; the ``Backend`` protocol declares every member a render uses."""

import shutil

import pytest

from lab import config
from lab.errors import LabError
from lab.experiments import workflow
from lab.render import backends
from lab.render.backends import SPECS, Backend, gpu_backends, make_backend, uses_gpu
from lab.render.pipeline import render
from lab.render.wan.files import WAN_LAYOUT
from lab.render.wan.tiny import ensure_tiny_wan
from tests.lab.render.conftest import event_for, small
from tests.lab.render.test_wan import TINY


def model_folder(path):
    """A folder with the layout the cheap availability check looks for (no weights are read)."""
    path.mkdir()
    for name in WAN_LAYOUT:
        (path / name).mkdir() if "." not in name else (path / name).write_text("{}")
    return path


def test_wan_distilled_availability_follows_its_own_variable(tmp_path, monkeypatch):
    """It read HIGHLIGHT_LAB_WAN_MODEL: available with only the base model set, refused with only its own."""
    monkeypatch.setattr(backends, "gpu_available", lambda: True)  # past the GPU check, to the folders
    base, distilled = model_folder(tmp_path / "base"), model_folder(tmp_path / "distilled")
    monkeypatch.setenv(config.ENV_WAN_MODEL, str(base))
    monkeypatch.delenv(config.ENV_WAN_DISTILLED, raising=False)
    av = workflow.backend_availability()  # what the studio shows
    assert av.keys() == {"auto", *(s.name for s in SPECS)}
    assert av["wan"] is None
    assert av["wan-distilled"] is not None and config.ENV_WAN_DISTILLED in av["wan-distilled"]
    monkeypatch.delenv(config.ENV_WAN_MODEL)
    monkeypatch.setenv(config.ENV_WAN_DISTILLED, str(distilled))
    av = workflow.backend_availability()
    assert av["wan-distilled"] is None
    assert av["wan"] is not None and config.ENV_WAN_MODEL in av["wan"]
    shutil.rmtree(distilled / "vae")
    assert "is missing vae" in workflow.backend_availability()["wan-distilled"]


def test_every_model_backend_is_routed_to_the_model_slot(tmp_path, monkeypatch):
    """The studio's queue routes by ``uses_gpu``; wan-distilled was missing from its own list of model backends.

    Each backend is made here for real (on the CPU, from the tiny model's folder): a backend that sends the
    prompt to a model must hold the slot, and one that does not must not.
    """
    tiny = ensure_tiny_wan(config.tiny_wan_dir())
    monkeypatch.setenv(config.ENV_WAN_MODEL, str(tiny))
    monkeypatch.setenv(config.ENV_WAN_DISTILLED, str(tiny))
    assert set(gpu_backends()) == {"wan", "wan-distilled", "tiny-wan"}
    for spec in SPECS:
        backend, notice = make_backend(spec.name, device="cpu")
        assert notice is None and backend.name == spec.name
        assert uses_gpu(spec.name) is spec.uses_gpu is backend.sends_prompt, spec.name
        assert (spec.name in gpu_backends()) is spec.uses_gpu
    # auto holds the slot exactly when it would make a model backend here.
    monkeypatch.setattr(backends, "gpu_available", lambda: False)
    assert uses_gpu("auto") is False and make_backend("auto")[0].name == "motion"
    monkeypatch.setattr(backends, "gpu_available", lambda: True)
    assert backends.resolve_auto() == ("wan", None) and uses_gpu("auto") is True
    with pytest.raises(LabError, match="unknown backend 'nope'"):
        uses_gpu("nope")


def protocol_members() -> set[str]:
    names = set(Backend.__annotations__)
    return names | {k for k, v in vars(Backend).items() if callable(v) and (k == "__call__" or not k.startswith("_"))}


class Recorder:
    """Wraps a backend and records every member a render reads from it."""

    def __init__(self, inner):
        self.inner = inner
        self.used = set()

    def __getattr__(self, name):
        self.used.add(name)
        return getattr(self.inner, name)

    def __call__(self, req):
        self.used.add("__call__")
        return self.inner(req)


@pytest.mark.parametrize("name", ["motion", "tiny-wan"])
def test_a_render_uses_only_what_the_protocol_declares(name, tmp_path, cache):
    """``pipeline.render`` read ``weights_resident``, ``settings`` and ``describe``, which ``Backend`` did not
    declare: a backend written to the protocol would have failed or been half-described."""
    recorder = Recorder(make_backend(name)[0])
    v = small("v3-rival-ghost", **(TINY if name == "tiny-wan" else {}))
    render(v, event_for("rank_up"), tmp_path / "r.mp4", backend=recorder, cache=cache, free_memory=1 << 40,
           extras=False)
    assert {"recipe", "__call__"} <= recorder.used
    assert recorder.used <= protocol_members(), recorder.used - protocol_members()
    for member in protocol_members():  # and the backend itself has all of them
        assert hasattr(recorder.inner, member), member
