"""GPU (or CPU-slot) execution: the Celery app, one worker per device, workloads, the dispatcher."""
