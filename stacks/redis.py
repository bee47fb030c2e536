"""Redis stack (docs/services.md, Redis): the key-value store that Flink jobs use for
lookup joins. Upstream runs it with the Flink side (compose-flex.yml); here it is a stack
of its own, chosen in `stacks`, so that the seed's four stacks stay as they were."""

from __future__ import annotations

import pulumi

from .platform import Platform
from .service import HealthCheck, Service

PORT = 6379

# Upstream's command, with the password from the container's settings (a secret) rather
# than written into the command. The image's entrypoint drops to the redis user and
# loads its modules when it starts redis-server itself, so the shell hands over to it.
COMMAND = ("sh", "-c", 'exec docker-entrypoint.sh redis-server --appendonly yes --loglevel warning '
                       '--requirepass "$REDIS_PASSWORD"')
# Redis answers PING with PONG once it takes commands, and only to a client with the
# password (redis-cli reads it from REDISCLI_AUTH, so it is never on a command line)
CHECK = HealthCheck(("CMD-SHELL", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG'),
                    interval=5, timeout=3, retries=10)


def redis_service(platform: Platform) -> Service:
    """Redis 8 with append-only persistence in a kept volume, behind the redisPassword
    setting."""
    s = platform.settings
    return Service(
        name="redis",
        container="redis",
        image=s.images["redis"],
        ports=((PORT, PORT),),
        command=COMMAND,
        env={"REDIS_PASSWORD": s.redis_password},
        data=(("redis-data", "/data"),),
        healthcheck=CHECK,
        restart="always",
    )


class RedisStack(pulumi.ComponentResource):
    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Redis", "redis", None, opts)
        s = platform.settings
        platform.run(redis_service(platform), self)
        # the password for `make check` (docs/check.md): a secret
        self.outputs = {"redisUrl": s.url(PORT, scheme="redis"), "redisPassword": s.redis_password}
        self.register_outputs(self.outputs)
