"""Production serving defaults; every value can be overridden from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers, one per core: the work is CPU-bound Python plus short database calls.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# Gunicorn's default line writes the request's full URL and its Referer, where OAuth puts
# codes and (refused) tokens: the path only, never the query.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'
errorlog = "-"
# Load the app once in the master so workers share its memory pages.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() == "true"

# Prometheus metrics from every worker: prometheus-client keeps them in files under this
# directory (empty it before start); a dead worker's live gauges are dropped.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):

    def on_starting(server):
        # Counts from a previous run of the master would be added to this one's.
        directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.unlink(os.path.join(directory, name))

    def child_exit(server, worker):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
