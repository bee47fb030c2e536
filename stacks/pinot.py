"""Pinot stack (docs/services.md, Pinot): controller, broker and server on the
Zookeeper that the Kafka stack shares, made for Pinot alone when Kafka is not chosen."""

from __future__ import annotations

import pulumi

from .kafka import zookeeper_service
from .platform import Platform
from .service import Service, curl_check

# role -> (upstream host port, container port, health URL path, heap full, heap lite)
ROLES = {
    "controller": (19000, 9000, "http://localhost:9000/health", ("512M", "1G"), ("256M", "512M")),
    "broker": (18099, 8099, "http://localhost:8099/health", ("1G", "2G"), ("256M", "512M")),
    "server": (18098, 8098, "http://localhost:8097/health/readiness", ("2G", "3G"), ("512M", "1G")),
}


def java_opts(role: str, heap: tuple[str, str]) -> str:
    low, high = heap
    return (f"-Dplugins.dir=/opt/pinot/plugins -Xms{low} -Xmx{high} -XX:+UseG1GC "
            f"-XX:MaxGCPauseMillis=200 -Xloggc:gc-pinot-{role}.log")


class PinotStack(pulumi.ComponentResource):
    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Pinot", "pinot", None, opts)
        s = platform.settings
        # upstream cannot start Pinot without the Kafka stack
        platform.shared(zookeeper_service(platform))

        previous = ("zookeeper", "started")
        for role, (host_port, port, health, heap_full, heap_lite) in ROLES.items():
            name = f"pinot-{role}"
            platform.run(Service(
                name=name,
                container=f"pinot_{role}",
                image=s.images["pinot"],
                ports=((host_port, port),),
                command=(f"Start{role.capitalize()}", "-zkAddress", "zookeeper:2181"),
                env={"JAVA_OPTS": java_opts(role, heap_lite if s.lite else heap_full)},
                healthcheck=curl_check(health, interval=30, timeout=10, retries=5, start_period=10),
                # controller after zookeeper; broker once the controller is healthy; server
                # once the broker is healthy
                depends_on=dict([previous]),
                restart="unless-stopped",
            ), self)
            previous = (name, "healthy")

        self.outputs = {"pinotControllerUrl": s.url(19000), "pinotBrokerUrl": s.url(18099)}
        self.register_outputs(self.outputs)
