"""Rendering: backgrounds, overlay, encode, cache, degrade."""
