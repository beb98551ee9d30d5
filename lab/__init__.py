"""Highlight Lab: design, A/B test and ship leaderboard celebration videos."""

__version__ = "0.1.0"
