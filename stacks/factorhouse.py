"""Kpow and Flex, the Factor House UIs: one description for both products."""

from __future__ import annotations

from typing import Mapping

import pulumi

from .service import Mount, Platform, Service
from .settings import RESOURCES


def factorhouse_app(platform: Platform, product: str, host_port: int, env: Mapping[str, pulumi.Input[str]],
                    depends_on: Mapping[str, str]) -> Service:
    """Kpow or Flex of the chosen edition: its image (following `latest`), container
    name, settings from resources/<product>/, licence and, in the trial edition, login
    (JAAS) and RBAC files."""
    s = platform.settings
    trial = s.edition == "trial"
    licence = s.kpow_license_file if product == "kpow" else s.flex_license_file
    folder = RESOURCES / product
    return Service(
        name=product,
        container=f"{product}-ee" if trial else f"{product}-ce",
        image=s.images[product],
        always_pull=True,
        ports=((host_port, 3000),),
        env_files=(folder / "config.env",) + ((folder / "trial.env",) if trial else ()) + (licence,),
        env=env,
        mounts=(Mount(f"{product}/jaas", f"/etc/{product}/jaas"), Mount(f"{product}/rbac", f"/etc/{product}/rbac"))
        if trial else (),
        depends_on=depends_on,
        restart="always",
        memory_mb=1024 if s.lite else 2048,
    )
