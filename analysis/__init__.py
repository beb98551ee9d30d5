"""A/B statistics for click-through: pure functions over sufficient statistics, no I/O in the maths."""
