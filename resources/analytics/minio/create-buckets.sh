#!/bin/sh
# Makes sure that every bucket in $BUCKETS exists in MinIO with anonymous read access.
# An existing bucket and its objects are left as they are: this never removes anything.
# Runs in the mc container once MinIO is healthy; needs MINIO_URL, MINIO_ROOT_USER,
# MINIO_ROOT_PASSWORD and BUCKETS.
set -eu

mc alias set platform "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
for bucket in $BUCKETS; do
  mc mb --ignore-existing "platform/$bucket"
  mc anonymous set download "platform/$bucket"
done
echo "buckets ready: $BUCKETS"
