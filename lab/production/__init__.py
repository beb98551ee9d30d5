"""Production: rank events become per-user videos (in process or on Celery workers), and taps flow back."""
