"""Celery workers: queues ``cpu`` and ``gpu``; a task grades one submission by id."""
