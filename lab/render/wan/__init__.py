"""Wan2.2-TI2V-5B through diffusers, loaded from a local folder only.

- ``files``: the model folder's check and fingerprint; a variant's key visual and LoRA, checked and hashed.
- ``resident``: the process-wide switches (``WanSettings``) and the one loaded pipeline per (folder, device).
- ``sampling``: the lab's own denoising loops (batched guidance, the distilled few-step loop) and the decode.
- ``backend``: ``WanBackend``, ``DistilledWanBackend`` and the draft batch, the classes ``lab.render.backends``
  names.
- ``tiny``: a tiny random-weights pipeline built in code, for tests and CPU machines.

Nothing is imported here, so ``import lab.render.wan.files`` stays free of torch and diffusers.
"""
