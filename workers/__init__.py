"""Celery entry points (thin tasks) and the training engine (``workers.engine``)."""
