"""Kpow, Flex and schema registry logins exactly as upstream (factorhouse-local at
de461d4, transcribed in docs/services.md): users, passwords, roles, RBAC policies and the
trial settings; and the README lists every login, each of which works."""

import re

import pytest
import yaml

from harness import PROJECT_DIR
from logins import can_check, realm, verifies
from settings.envfile import read_env_file

RESOURCES = PROJECT_DIR / "resources"
README = (PROJECT_DIR / "README.md").read_text()

# upstream's realms: user -> (password, roles)
UPSTREAM_USERS = {
    "kpow": {
        "jetty": ("jetty", ["kafka-users", "content-administrators"]),
        "admin": ("admin", ["server-administrators", "content-administrators", "kafka-admins"]),
        "other": ("other", ["kafka-admins", "kafka-users"]),
        "plain": ("plain", ["content-administrators"]),
        "user": ("password", ["kafka-users"]),
    },
    "flex": {
        "jetty": ("jetty", ["flex-user"]),
        "admin": ("admin", ["flex-admin", "flex-user"]),
        "other": ("other", ["flex-user"]),
        "plain": ("plain", ["flex-user"]),
        "user": ("password", ["flex-user"]),
    },
    "schema": {"admin": ("admin", ["schema-admin"])},
}
REALMS = {
    "kpow": RESOURCES / "kpow/jaas/hash-realm.properties",
    "flex": RESOURCES / "flex/jaas/hash-realm.properties",
    "schema": RESOURCES / "kpow/schema/schema_realm.properties",
}


def allow(role, resource, *actions):
    return {"actions": list(actions), "effect": "Allow", "resource": resource, "role": role}


UPSTREAM_KPOW_RBAC = {
    "admin_roles": ["kafka-admins", "server-administrators"],
    "authorized_roles": ["kafka-admins", "kafka-users", "server-administrators"],
    "policies": [
        allow("kafka-admins", ["cluster", "*"], "TOPIC_CREATE", "TOPIC_PRODUCE", "TOPIC_EDIT", "TOPIC_DELETE",
              "GROUP_EDIT", "ACL_EDIT", "BULK_ACTION"),
        allow("kafka-admins", ["connect", "*"], "CONNECT_CREATE", "CONNECT_EDIT"),
        allow("kafka-admins", ["schema", "*"], "SCHEMA_EDIT", "SCHEMA_CREATE"),
        allow("kafka-admins", ["cluster", "*"], "BROKER_EDIT"),
        allow("kafka-users", ["cluster", "*"], "TOPIC_PRODUCE", "TOPIC_EDIT", "ACL_EDIT"),
        allow("kafka-users", ["connect", "*"], "CONNECT_CREATE", "CONNECT_EDIT"),
        {"actions": ["SCHEMA_EDIT", "SCHEMA_CREATE"], "effect": "Deny", "resource": ["schema", "*"],
         "role": "kafka-users"},
        {"actions": ["TOPIC_INSPECT"], "effect": "Allow", "resource": ["cluster", "*"],
         "roles": ["kafka-users", "kafka-admins"]},
    ],
}
UPSTREAM_FLEX_RBAC = {
    "admin_roles": ["flex-admin"],
    "authorized_roles": ["*"],
    "policies": [
        allow("flex-admin", ["flink", "*"], "FLINK_SUBMIT", "FLINK_JAR_DELETE", "FLINK_JOB_EDIT", "FLINK_JOB_TERMINATE"),
        {"actions": ["FLINK_JOB_EDIT"], "effect": "Allow", "role": "flex-user",
         "resources": [["flink", "*", "flink-job", "PaymentStreamJob"], ["flink", "*", "flink-job", "ReconciliationJob"]]},
        {"actions": ["FLINK_JOB_TERMINATE"], "effect": "Stage", "role": None, "roles": ["flex-user"],
         "resource": ["flink", "*", "flink-job", "PaymentStreamJob"]},
    ],
}
UPSTREAM_KAFKA_ENV = {
    "ENVIRONMENT_NAME": "Local Kafka Cluster",
    "BOOTSTRAP": "kafka-1:19092,kafka-2:19093,kafka-3:19094",
    "CONNECT_NAME": "Local Connect Cluster",
    "CONNECT_REST_URL": "http://connect:8083",
    "SCHEMA_REGISTRY_NAME": "Local Schema Registry",
    "SCHEMA_REGISTRY_URL": "http://schema:8081",
    "SCHEMA_REGISTRY_AUTH": "USER_INFO",
    "SCHEMA_REGISTRY_USER": "admin",
    "SCHEMA_REGISTRY_PASSWORD": "admin",
}
KPOW_LOGIN = {
    "JAVA_TOOL_OPTIONS": "-Djava.security.auth.login.config=/etc/kpow/jaas/hash-jaas.conf",
    "AUTH_PROVIDER_TYPE": "jetty",
    "RBAC_CONFIGURATION_FILE": "/etc/kpow/rbac/hash-rbac.yml",
}
FLEX_SETTINGS = {
    "FLINK_REST_URL": "http://jobmanager:8081", "ENVIRONMENT_NAME": "Local Flink Cluster",
    "ALLOW_FLINK_SUBMIT": "true", "ALLOW_FLINK_JOB_TERMINATE": "true",
    "ALLOW_FLINK_JAR_DELETE": "true", "ALLOW_FLINK_JOB_EDIT": "true",
}


def normalised(policy: dict) -> dict:
    """A policy with `role: x` and `roles: [x]` alike, and its actions as a set."""
    roles = policy.get("roles") or [policy["role"]]
    out = {k: v for k, v in policy.items() if k not in ("role", "roles", "actions")}
    return {**out, "roles": sorted(roles), "actions": sorted(policy["actions"])}


@pytest.mark.parametrize("product", ["kpow", "flex", "schema"])
def test_users_passwords_and_roles_are_upstreams(product):
    users = realm(REALMS[product])
    assert {u: roles for u, (_, roles) in users.items()} == {u: r for u, (_, r) in UPSTREAM_USERS[product].items()}
    for user, (password, _) in UPSTREAM_USERS[product].items():
        credential = users[user][0]
        if can_check(credential):
            assert verifies(password, credential), f"{product} {user}"


@pytest.mark.parametrize("product, expected", [("kpow", UPSTREAM_KPOW_RBAC), ("flex", UPSTREAM_FLEX_RBAC)])
def test_rbac_is_upstreams(product, expected):
    rbac = yaml.safe_load((RESOURCES / product / "rbac/hash-rbac.yml").read_text())
    assert rbac["admin_roles"] == expected["admin_roles"]
    assert rbac["authorized_roles"] == expected["authorized_roles"]
    policies = [normalised({k: v for k, v in p.items() if v is not None}) for p in rbac["policies"]]
    assert policies == [normalised({k: v for k, v in p.items() if v is not None}) for p in expected["policies"]]


def test_admin_may_edit_schemas_and_kafka_users_may_not():
    rbac = yaml.safe_load((RESOURCES / "kpow/rbac/hash-rbac.yml").read_text())
    denied = {r for p in rbac["policies"] if p["effect"] == "Deny" for r in p.get("roles", [p.get("role")])}
    admin_roles = set(realm(REALMS["kpow"])["admin"][1])
    assert denied == {"kafka-users"} and not admin_roles & denied


@pytest.mark.parametrize("folder", ["kpow/jaas", "flex/jaas"])
def test_jaas_points_at_the_realm_inside_the_container(folder):
    jaas = (RESOURCES / folder / "hash-jaas.conf").read_text()
    product = folder.split("/")[0]
    # upstream names Flex's login module `kpow` as well
    assert jaas.lstrip().startswith("kpow {")
    assert "org.eclipse.jetty.jaas.spi.PropertyFileLoginModule" in jaas
    assert f'file="/etc/{product}/jaas/hash-realm.properties"' in jaas


def test_trial_and_community_settings_are_upstreams():
    assert read_env_file(RESOURCES / "kpow/config/trial.env") == {**KPOW_LOGIN, **UPSTREAM_KAFKA_ENV}
    assert read_env_file(RESOURCES / "kpow/config/community.env") == UPSTREAM_KAFKA_ENV
    # upstream's Flex trial leaves the login commented out
    assert read_env_file(RESOURCES / "flex/config/trial.env") == FLEX_SETTINGS
    # fix: upstream's community edition names a missing file and a wrong REST URL
    assert read_env_file(RESOURCES / "flex/config/community.env") == FLEX_SETTINGS


def readme_logins() -> list[tuple[str, str, str, list[str]]]:
    """(where, user, password, roles) of the README's login table."""
    section = README.split("## Logins", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (Kpow|Flex|Schema registry) \| `([^`]+)` \| `([^`]+)` \| ([^|]*)\|", section, re.M)
    return [(w, u, p, [r.strip(" `") for r in roles.split(",") if r.strip()]) for w, u, p, roles in rows]


def test_the_readme_lists_every_login_and_each_works():
    listed = readme_logins()
    where = {"Kpow": "kpow", "Flex": "flex", "Schema registry": "schema"}
    assert {(where[w], u) for w, u, _, _ in listed} == {(p, u) for p, users in UPSTREAM_USERS.items() for u in users}
    for place, user, password, roles in listed:
        credential, actual_roles = realm(REALMS[where[place]])[user]
        assert roles == actual_roles, (place, user)
        if can_check(credential):
            assert verifies(password, credential), (place, user)
