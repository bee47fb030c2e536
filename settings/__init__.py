"""The program's settings: read, validated and frozen before any resource is made. The
stacks, the engines and the commands all read them.

What the CLI hands the program and how a key is read: settings/config.py. Each group of
settings is validated in a module of its own: the engine (settings/engine.py), passwords
and exposure (exposure.py), the stacks and the catalog (choice.py, on the defaults of
catalog.py), the licence files (licences.py), the images (images.py) and the downloads
(downloads.py). `load` runs every check and says every bad key at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import pulumi

from . import choice, config, downloads, engine, exposure, images, licences
from .choice import STACKS
from .config import PROJECT, PROJECT_DIR, RESOURCES, SettingsError, as_passed, cli_config, project_defaults
from .engine import ENGINE_KEYS, default_namespace, kubernetes_stack_label, stack_label
from .exposure import CLOUDBEAVER_PASSWORD_LENGTH, PUBLISHED_PORTS
from .licences import LICENSE_KEYS

# what the stacks, the engines and the commands read of the settings, by name
__all__ = ["CLOUDBEAVER_PASSWORD_LENGTH", "ENGINE_KEYS", "LICENSE_KEYS", "PROJECT", "PROJECT_DIR", "PUBLISHED_PORTS",
           "RESOURCES", "STACKS", "Settings", "SettingsError", "as_passed", "cli_config", "default_namespace",
           "kubernetes_stack_label", "load", "project_defaults", "stack_label"]


@dataclass(frozen=True)
class Settings:
    engine: str
    stacks: tuple[str, ...]
    edition: str
    kpow_license_file: Path
    flex_license_file: Path
    host_address: str
    bind_address: str
    port_offset: int
    name_prefix: str
    kafka_mode: str
    pyflink: bool
    profile: str
    persist_data: bool
    minio_user: str
    minio_password: pulumi.Output  # secret
    postgres_password: pulumi.Output  # secret
    redis_password: pulumi.Output  # secret
    catalog: str  # the analytics stack's catalog: rest or hive
    grafana_password: pulumi.Output  # secret
    marquez_password: pulumi.Output  # secret
    spark_thrift_ports: bool
    docker_host: str
    kube_context: str
    namespace: str  # the namespace's name, the default one included
    create_namespace: bool
    storage_class: str
    image_registry: str
    image_platform: str
    follow_latest: bool
    download_cache: Path
    download_mirror: str
    images: Mapping[str, str]
    clickhouse_password: pulumi.Output  # secret
    cloudbeaver_password: pulumi.Output  # secret
    openmetadata_password: pulumi.Output  # secret
    openmetadata_db_password: pulumi.Output  # secret
    airflow_password: pulumi.Output  # secret

    @property
    def lite(self) -> bool:
        return self.profile == "lite"

    @property
    def kraft(self) -> bool:
        return self.kafka_mode == "kraft"

    @property
    def hive(self) -> bool:
        """Whether the catalog is the Hive Metastore (which needs the analytics stack)."""
        return self.catalog == "hive"

    def runs(self, stack: str) -> bool:
        return stack in self.stacks

    def port(self, base: int) -> int:
        """The host port that a base (upstream) host port becomes."""
        return base + self.port_offset

    def name(self, base: str) -> str:
        """The Docker object name that an upstream name becomes."""
        return self.name_prefix + base

    def url(self, base_port: int, scheme: str = "http") -> str:
        return f"{scheme}://{self.host_address}:{self.port(base_port)}"


def load() -> Settings:
    """Read every declared key, validate all of them, and return frozen settings; raise
    SettingsError naming each bad key (one line each) before anything else happens."""
    errors: list[str] = []
    declared = config.declarations()
    values = config.read(declared, errors)
    engine.check_engine(values, declared, errors)
    chosen = choice.chosen_stacks(values, errors)
    choice.check_choices(values, errors)
    choice.check_catalog(values, chosen, errors)
    exposed = exposure.exposed(values, errors)
    exposure.check_passwords(values, declared, chosen, exposed, errors)
    exposure.check_store_passwords(values, errors)
    exposure.check_metadata_passwords(values, declared, errors)
    engine.check_docker(values, errors)
    namespace = engine.check_kubernetes(values, errors)
    downloads.check_downloads(values, errors)
    resolved = images.resolved_images(values, errors)
    kpow_license = licences.license_file("kpowLicenseFile", values["kpowLicenseFile"], errors)
    flex_license = licences.license_file("flexLicenseFile", values["flexLicenseFile"], errors)
    if errors:
        raise SettingsError("\n".join(f"invalid config {e}" for e in errors))

    return Settings(
        engine=values["engine"],
        stacks=chosen,
        edition=values["edition"],
        kpow_license_file=kpow_license,
        flex_license_file=flex_license,
        host_address=values["hostAddress"],
        bind_address=values["bindAddress"],
        port_offset=values["portOffset"],
        name_prefix=values["namePrefix"],
        kafka_mode=values["kafkaMode"],
        pyflink=values["pyflink"],
        profile=values["profile"],
        persist_data=values["persistData"],
        minio_user=values["minioUser"],
        minio_password=pulumi.Output.secret(values["minioPassword"]),
        postgres_password=pulumi.Output.secret(values["postgresPassword"]),
        redis_password=pulumi.Output.secret(values["redisPassword"]),
        catalog=values["catalog"],
        grafana_password=pulumi.Output.secret(values["grafanaPassword"]),
        marquez_password=pulumi.Output.secret(values["marquezPassword"]),
        spark_thrift_ports=values["sparkThriftPorts"],
        docker_host=values["dockerHost"],
        kube_context=values["kubeContext"],
        namespace=namespace,
        create_namespace=values["createNamespace"],
        storage_class=values["storageClass"],
        image_registry=values["imageRegistry"].rstrip("/"),
        image_platform=values["imagePlatform"],
        follow_latest=values["followLatest"],
        download_cache=downloads.cache_dir(values["downloadCache"]),
        download_mirror=values["downloadMirror"].rstrip("/"),
        images=MappingProxyType(resolved),
        clickhouse_password=pulumi.Output.secret(values["clickhousePassword"]),
        cloudbeaver_password=pulumi.Output.secret(values["cloudbeaverPassword"]),
        openmetadata_password=pulumi.Output.secret(values["openmetadataPassword"]),
        openmetadata_db_password=pulumi.Output.secret(values["openmetadataDbPassword"]),
        airflow_password=pulumi.Output.secret(values["airflowPassword"]),
    )
