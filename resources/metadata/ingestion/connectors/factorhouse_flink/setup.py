"""A Flink pipeline connector for OpenMetadata's ingestion: Flink's own connector, with
lineage edges named in the service's connection options (see factorhouse_flink/source.py)."""

from setuptools import find_packages, setup

setup(
    name="factorhouse-flink-connector",
    version="1.0.0",
    description="OpenMetadata Flink pipeline source with declared lineage",
    python_requires=">=3.9",
    package_dir={"": "src"},
    packages=find_packages(where="src"),
    entry_points={"openmetadata.ingestion.source": ["FactorhouseFlink = factorhouse_flink.source:FlinkWithLineage"]},
    install_requires=["openmetadata-ingestion==1.11.4"],
)
