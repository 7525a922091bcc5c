"""Airflow DAG: the okta-alerts notebooks on Airflow's PapermillOperator.

Use this instead of ``okta-alerts schedule`` when Airflow already runs your scheduled work.
Copy it into the DAGs folder of a deployment that has ``apache-airflow-providers-papermill``
and ``okta-alerts`` installed, and where the worker can read the data directory (the receiver
keeps running as ``okta-alerts serve``). Settings come from the worker's environment
(``OKTA_ALERTS_DATA_DIR``, ``OKTA_ALERTS_APPRISE_URLS``, ...), as for the CLI.

Each run writes ``<data dir>/reports/<job>/<logical time>.ipynb``; the notebooks' alerting cell
evaluates the alert rules at the run's logical end time and sends the digest through apprise.
Airflow's own retries and failure callbacks replace okta-alerts' failure notices here.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.papermill.operators.papermill import PapermillOperator

NOTEBOOKS = os.environ.get("OKTA_ALERTS_NOTEBOOKS", "/opt/okta-alerts/notebooks")
DATA_DIR = os.environ.get("OKTA_ALERTS_DATA_DIR", "/var/lib/okta-alerts/data")

# (job name, notebook, schedule, parameters, send_notifications): as examples/schedule.yaml
JOBS = [
    ("lockouts-hourly", "lockouts", "5 * * * *", {"window_hours": 24}, True),
    ("assignment-errors-hourly", "assignment_errors", "10 * * * *", {"window_hours": 24}, True),
    ("lockouts-daily", "lockouts", "0 8 * * *", {"window_hours": 24, "baseline_days": 28}, False),
    (
        "assignment-errors-daily",
        "assignment_errors",
        "0 8 * * *",
        {"window_hours": 24, "baseline_days": 28},
        False,
    ),
]

for name, notebook, schedule, parameters, notify in JOBS:
    with DAG(
        dag_id=f"okta_alerts_{name.replace('-', '_')}",
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,  # like okta-alerts schedule: after downtime, run once, not once per slot
        max_active_runs=1,
        default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
        tags=["okta-alerts"],
    ) as dag:
        PapermillOperator(
            task_id="run_notebook",
            input_nb=f"{NOTEBOOKS}/{notebook}.ipynb",
            output_nb=f"{DATA_DIR}/reports/{name}/{{{{ ts_nodash }}}}.ipynb",
            kernel_name="python3",
            parameters={
                **parameters,
                "data_dir": DATA_DIR,
                "end": "{{ data_interval_end.isoformat() }}",
                "send_notifications": notify,
            },
        )
    globals()[dag.dag_id] = dag
