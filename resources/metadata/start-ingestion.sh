#!/bin/bash
# The ingestion container's start: the administrator's token for Airflow's OpenMetadata
# lineage backend (the container starts once the server is healthy and omt-setup set the
# administrator's password), then the image's own start (Airflow's database, its admin
# user, the web server and the scheduler).
set -euo pipefail
AIRFLOW__LINEAGE__JWT_TOKEN="$(python3 /opt/factorhouse/omt.py token)"
export AIRFLOW__LINEAGE__JWT_TOKEN
exec /opt/airflow/ingestion_dependency.sh
