"""The studio's tabs, one module each: ``layout(ui, ...)`` registers its components by name, ``wire(ui, h, demo)``
connects them (``lab.studio.wiring.Ui.on``). Pickers of variants and experiments are read from disk when a
page loads and after any create, clone or copy (``pickers``), never only when the studio was built."""

from __future__ import annotations

from typing import Any

from lab.studio.common import SLOTS
from lab.studio.wiring import Choices

VARIANT_PICKERS = ("clone_src", "variant", "new_arms", *(f"cmp_slot_{i}" for i in range(SLOTS)))
EXPERIMENT_PICKERS = ("exp_key",)
PICKERS = (*VARIANT_PICKERS, *EXPERIMENT_PICKERS)


def pickers(h: Any, values: dict[str, Any], variant: str | None = None, experiment: str | None = None
            ) -> dict[str, Choices]:
    """Every picker with the choices on disk now; each keeps its value while that is still there (``variant`` and
    ``experiment``, when given, become the Design and Experiments pickers' values)."""
    ids, keys = h.variant_ids(), h.experiment_keys()
    out: dict[str, Choices] = {}
    for name in VARIANT_PICKERS:
        now = values.get(name)
        if name == "new_arms":
            out[name] = Choices(ids, [v for v in (now or []) if v in ids])
        elif name.startswith("cmp_slot"):
            out[name] = Choices(["", *ids], now if now in ids else "")
        else:
            pick = variant if (variant and name == "variant") else now
            out[name] = Choices(ids, pick if pick in ids else (ids[0] if ids else None))
    pick = experiment or values.get("exp_key")
    out["exp_key"] = Choices(keys, pick if pick in keys else (keys[0] if keys else None))
    return out
