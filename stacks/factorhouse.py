"""Kpow and Flex, the Factor House UIs: one description for both products."""

from __future__ import annotations

from typing import Mapping

import pulumi

from .platform import Platform
from .service import File, Metrics, Service
from settings import RESOURCES, Settings

# The Prometheus endpoints of the trial edition (the community edition serves none, as
# upstream scrapes none of it): (job, path), on the UI's port; every metric is stored
# with the product's prefix (kpow_, flex_)
PROMETHEUS_ENDPOINTS = {
    "kpow": (("kpow", "/metrics/v1"), ("kpow_offsets", "/offsets/v1"), ("kpow_group_offsets", "/group-offsets/v1")),
    "flex": (("flex", "/metrics/v1"),),
}


def prometheus_egress(s: Settings, product: str) -> tuple[dict[str, str], tuple[Metrics, ...]]:
    """The settings that turn on a product's Prometheus endpoints, and the endpoints, when
    the telemetry stack scrapes them (trial edition); none otherwise. `env` labels every
    metric with the environment's name."""
    if not (s.runs("telemetry") and s.edition == "trial"):
        return {}, ()
    metrics = tuple(Metrics(job, 3000, path, prefix=f"{product}_", rules=f"telemetry/prometheus/rules/{product}.yml")
                    for job, path in PROMETHEUS_ENDPOINTS[product])
    return {"PROMETHEUS_EGRESS": "true", "PROMETHEUS_LABEL_ENV": "true"}, metrics


def factorhouse_app(platform: Platform, product: str, host_port: int, env: Mapping[str, pulumi.Input[str]],
                    depends_on: Mapping[str, str]) -> Service:
    """Kpow or Flex of the chosen edition: its image, container name, settings from
    resources/<product>/config/<edition>.env (upstream's files), the licence and, in
    the trial edition, the login (JAAS) and RBAC files."""
    s = platform.settings
    trial = s.edition == "trial"
    licence = s.kpow_license_file if product == "kpow" else s.flex_license_file
    egress, metrics = prometheus_egress(s, product)
    return Service(
        name=product,
        container=f"{product}-ee" if trial else f"{product}-ce",
        image=s.images[product],
        ports=((host_port, 3000),),
        env_files=(RESOURCES / product / "config" / f"{s.edition}.env", licence),
        env={**env, **egress},
        # the login realm holds users and passwords
        files=(File(f"/etc/{product}/jaas", f"{product}/jaas", secret=True),
               File(f"/etc/{product}/rbac", f"{product}/rbac"))
        if trial else (),
        depends_on=depends_on,
        restart="always",
        memory_mb=1024 if s.lite else 2048,
        metrics=metrics,
    )


def asks_login(app: Service) -> bool:
    """Whether Kpow or Flex asks its users to log in: its settings name an authentication
    provider (the trial edition's files of Kpow; Flex's when its login is switched on)."""
    return "AUTH_PROVIDER_TYPE" in app.environment()
