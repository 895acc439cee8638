"""The Celery app of the execution side: broker and backend from Settings, at-least-once delivery.

`celery -A node.worker.app worker -Q <queue> -P solo` starts a device worker; the dispatcher
builds its own app with `make_app(settings)`.
"""

from typing import Any

from celery import Celery

from neurolink.config import Settings, load_settings
from node.worker.broker import celery_backend_config, celery_broker_config

TASK_RUN_RANK = "neurolink.run_rank"
TASK_PING = "neurolink.ping"


def make_app(settings: Settings) -> Celery:
    """A Celery app on the configured broker; only JSON crosses it, never pickles."""
    app = Celery("neurolink", include=["node.worker.tasks"])
    conf: dict[str, Any] = {
        **celery_broker_config(settings),
        **celery_backend_config(settings),
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Ack only after the job ran: a worker that dies mid-job gets the message redelivered
        # (same task id = same job + rank), and the task refuses it once the deadline passed.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": 1,
        "result_extended": False,
        "result_expires": 24 * 3600,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        # Every task is routed explicitly to a device queue; nothing may land on a shared default.
        "task_default_queue": f"{settings.queue_prefix}.default",
        "worker_send_task_events": False,
        "task_send_sent_event": False,
    }
    app.conf.update(conf)
    return app


app = make_app(load_settings())
