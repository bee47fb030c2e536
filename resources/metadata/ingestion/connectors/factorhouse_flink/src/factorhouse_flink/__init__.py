"""Flink pipelines with declared lineage, for OpenMetadata's ingestion."""
