"""The README and docs/ against the project: every setting with its default, every service,
container, address and login as the program makes them, and every command they show
(make targets and the variables they take, `pulumi config` keys, each recipe applied to a
fresh stack as the CLI applies it and then run, output names, scripts and their flags,
paths); every relative link and anchor resolves; the README's first screen gets a
newcomer from a fresh clone to a working platform."""

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from functools import lru_cache

import pytest
import yaml

from harness import PROJECT_DIR, run_program
from logins import realm, verifies

README_PATH = PROJECT_DIR / "README.md"
README = README_PATH.read_text()
PAGES = [README_PATH, *sorted((PROJECT_DIR / "docs").glob("*.md"))]
DECLARED = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
MAKEFILE = (PROJECT_DIR / "Makefile").read_text()
PROJECT = "factorhouse-local"


def section(text: str, title: str) -> str:
    """The body of the section headed `## title`, up to the next `## `."""
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


# --- reading Markdown -----------------------------------------------------------------

FENCE = re.compile(r"^([ \t]*)```(\w*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, indented ones (in a list) dedented."""
    return [(m.group(2), textwrap.dedent(m.group(3))) for m in FENCE.finditer(text)]


def prose(text: str) -> str:
    return FENCE.sub("", text)


def spans(text: str) -> list[str]:
    """Every inline code span outside the blocks (one spread over two lines is one)."""
    return [s.replace("\n", " ") for s in re.findall(r"`([^`]+)`", prose(text))]


def shell_lines(text: str) -> list[str]:
    """Every line of the shell blocks (comments included: they show commands too)."""
    return [line for lang, body in blocks(text) if lang in ("", "bash", "sh") for line in body.splitlines()]


def shown(text: str) -> list[str]:
    """Every piece of code a page shows: its shell blocks' lines and its inline spans."""
    return shell_lines(text) + spans(text)


def table_rows(text: str, columns: int) -> list[list[str]]:
    """The cells of every table row of `columns` columns, header and rule left out."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and line.rstrip().endswith("|"):
            cells = [c.strip() for c in line.strip()[1:-1].split("|")]
            if len(cells) == columns and not set(cells[0]) <= set("-:"):
                rows.append(cells)
    return rows[1:] if rows else rows  # the header


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


# --- the program, as the docs describe it ------------------------------------------------

def all_stacks() -> str:
    from settings import STACKS
    return json.dumps(list(STACKS))


@lru_cache(maxsize=None)
def run_with(**config: str):
    return run_program(dict(config))


def base_run():
    return run_with(stacks=all_stacks())


def published(run, service: str) -> set[int]:
    return {host for _, host, _ in run.ports(service)}


def known_outputs() -> set[str]:
    names = set()
    for config in ({"stacks": all_stacks()}, {"stacks": all_stacks(), "catalog": "hive"},
                   {"sparkThriftPorts": "true"}, {"engine": "kubernetes", "minioPassword": "a-password",
                                                  "postgresPassword": "b-password"}):
        names |= set(run_with(**config).outputs)
    return names


# --- settings -----------------------------------------------------------------------------

def test_every_setting_is_in_the_readme_table_with_its_default():
    rows = {m.group(1): m.group(2) for m in
            re.finditer(r"^\| `(\w+)` \| ([^|]+) \|", section(README, "Settings"), re.M)}
    assert set(DECLARED) <= set(rows), set(DECLARED) - set(rows)
    for key, spec in DECLARED.items():
        default = spec.get("default", spec.get("value"))
        shown_default = rows[key]
        if isinstance(default, list):
            assert shown_default.startswith(f"`[{', '.join(default)}]`"), key
        elif isinstance(default, dict):
            assert shown_default.startswith("`{}`"), key
        elif default == "":
            assert shown_default.startswith('`""`'), key
        else:
            assert shown_default.startswith(f"`{str(default).lower() if isinstance(default, bool) else default}`"), key


def test_the_choosing_stacks_table_lists_every_stack_and_says_which_run_by_default():
    from settings import STACKS
    rows = table_rows(section(README, "Choosing stacks"), 3)
    listed = {ticked(stack)[0]: default for stack, _, default in rows}
    assert list(listed) == list(STACKS)
    assert [s for s, default in listed.items() if default == "yes"] == DECLARED["stacks"]["default"]


# --- make ---------------------------------------------------------------------------------

def makefile_rules() -> dict[str, tuple[list[str], str]]:
    """target (as written, `$(VENV)/.installed` too) -> (prerequisites, recipe)."""
    rules, current = {}, []
    for line in MAKEFILE.splitlines():
        if line.startswith("\t"):
            for target in current:
                rules[target] = (rules[target][0], rules[target][1] + line + "\n")
            continue
        match = re.match(r"^([^\s.:#=][^:=]*):(?!=)([^#]*)", line)
        current = match.group(1).split() if match else []
        prerequisites = match.group(2).split("##")[0].split() if match else []
        for target in current:
            rules[target] = (prerequisites, "")
    return rules


def make_targets() -> set[str]:
    return {t for t in makefile_rules() if re.fullmatch(r"[a-z][\w-]*", t)}


def variables_of(target: str, rules, seen=None) -> set[str]:
    """The make variables a target's recipe, or its prerequisites' recipes, read."""
    seen = set() if seen is None else seen
    if target in seen or target not in rules:
        return set()
    seen.add(target)
    prerequisites, recipe = rules[target]
    found = set(re.findall(r"\$\((\w+)\)", recipe))
    for prerequisite in prerequisites:
        found |= variables_of(prerequisite, rules, seen)
    return found


MAKE = re.compile(r"\bmake ([a-z][\w-]*)((?: [A-Z]+=\S*)*)")


def make_commands() -> list[tuple[str, str, list[str]]]:
    """(page, target, variables) of every `make ...` a page shows."""
    return [(page.name, m.group(1), [a.split("=")[0] for a in m.group(2).split()])
            for page in PAGES for snippet in shown(page.read_text()) for m in MAKE.finditer(snippet)]


def test_every_make_command_shown_is_a_target_that_reads_the_variables_given():
    rules = makefile_rules()
    commands = make_commands()
    assert {"up", "preview", "down", "test", "check", "ps", "logs", "drop-data", "tunnel", "forward"} <= \
        {target for _, target, _ in commands}
    for page, target, variables in commands:
        assert target in rules, (page, target)
        unread = set(variables) - variables_of(target, rules)
        assert not unread, (page, f"make {target}", unread)


def test_the_readme_names_only_make_targets():
    targets = make_targets()
    assert "drop-data" in targets
    for command in set(re.findall(r"make ([\w-]*\w)", README)):
        assert command in targets, command


def test_make_help_lists_every_described_target():
    described = re.findall(r"^([a-z][\w-]*):.*## (.+)$", MAKEFILE, re.M)
    help_text = subprocess.run(["make", "--no-print-directory", "help"], cwd=PROJECT_DIR, capture_output=True,
                               text=True, check=True).stdout
    listed = dict(re.findall(r"^  make (\S+) +(.+)$", help_text, re.M))
    assert listed == dict(described)


# --- pulumi config, as the CLI does it ----------------------------------------------------

STRUCTURED = {key for key, spec in DECLARED.items() if spec.get("type") == "array" or "value" in spec}
PLACEHOLDER = re.compile(r"…|<|\$\(|\.\.\.")


def is_placeholder(word: str) -> bool:
    return bool(PLACEHOLDER.search(word)) or word.isupper()


def words_of(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:  # an inline span that quotes across what it shows
        return command.split()


CONFIG = re.compile(r"pulumi config (set|rm|get)\b(.*)")


def config_commands() -> list[tuple[str, str, set[str], list[str], bool]]:
    """(page, verb, flags, arguments, in a block) of every `pulumi config set|rm|get`."""
    found = []
    for page in PAGES:
        text = page.read_text()
        for in_block, snippets in ((True, shell_lines(text)), (False, spans(text))):
            for snippet in snippets:
                for m in CONFIG.finditer(snippet):
                    words = words_of(m.group(2))
                    found.append((page.name, m.group(1), {w for w in words if w.startswith("--")},
                                  [w for w in words if not w.startswith("--")], in_block))
    return found


def root_of(key: str) -> str:
    return re.split(r"[.\[]", key, maxsplit=1)[0]


def path_of(key: str) -> list:
    """`stacks[4]` -> ['stacks', 4]; `images.kpow` -> ['images', 'kpow']."""
    return [int(index) if index else name for index, name in re.findall(r"\[(\d+)\]|([\w-]+)", key)]


class StackFile:
    """A stack's own configuration, changed as `pulumi config set|rm` change it. The
    project's defaults (Pulumi.yaml) are not in it: the CLI adds them only when it runs
    the program, for keys the stack file lacks."""

    def __init__(self):
        self.config: dict = {}
        self.secrets: set[str] = set()

    def set(self, key: str, value: str, path: bool, secret: bool) -> None:
        if secret:
            self.secrets.add(root_of(key))
        if not path:
            self.config[key] = value
            return
        parts = path_of(key)
        # with --path the CLI reads true/false and whole numbers as such
        value = {"true": True, "false": False}.get(value, int(value) if re.fullmatch(r"-?[1-9]\d*|0", value)
                                                   else value)
        container, at = self.config, parts[0]
        for part in parts[1:]:
            child = container.get(at) if isinstance(container, dict) else container[at]
            if not isinstance(child, (list, dict)):
                child = [] if isinstance(part, int) else {}
                self._put(container, at, child, key)
            container, at = child, part
        self._put(container, at, value, key)

    @staticmethod
    def _put(container, at, value, key: str) -> None:
        if isinstance(container, dict):
            container[at] = value
        elif at < len(container):
            container[at] = value
        elif at == len(container):
            container.append(value)
        else:  # pulumi 3 before its object rewrite: an error; after it: empty items before it
            raise AssertionError(f"`pulumi config set --path {key}`: the list there has {len(container)} "
                                 f"item(s), so index {at} is out of range (or makes empty items before it)")

    def rm(self, key: str, path: bool) -> None:
        assert not path, f"`pulumi config rm --path {key}` is not modelled"
        self.config.pop(key, None)
        self.secrets.discard(key)

    def as_the_cli_passes(self) -> tuple[dict[str, str], tuple[str, ...]]:
        from settings import as_passed
        config = {}
        for key, value in self.config.items():
            if key.endswith("LicenseFile"):  # the user's own file: the placeholder stands in
                value = DECLARED[key]["default"]
            if isinstance(value, str) and is_placeholder(value):
                continue  # a value only the user's machine gives ($(docker context ...))
            config[key] = as_passed(value)
        return config, tuple(sorted(self.secrets & set(config)))


def test_every_pulumi_config_command_shown_names_a_declared_key_as_the_cli_takes_it():
    commands = config_commands()
    assert len(commands) > 20
    for page, verb, flags, args, _ in commands:
        if not args or args[0].isupper():
            continue  # `pulumi config set KEY VALUE`, `pulumi config set --secret`: the form itself
        key, root = args[0], root_of(args[0])
        where = (page, verb, key)
        assert root in DECLARED, where
        assert flags <= {"--path", "--secret", "--plaintext"}, where
        # a path without --path would set a key named `stacks[0]`
        assert ("--path" in flags) == (key != root), where
        assert key == root or root in STRUCTURED, where
        if verb == "set" and len(args) > 1:
            assert ("--secret" in flags) == root.endswith("Password"), where


def test_every_single_setting_shown_is_a_value_the_program_takes():
    from settings import SettingsError
    checked = 0
    for page, verb, flags, args, in_block in config_commands():
        if in_block or verb != "set" or len(args) < 2 or args[0].isupper() or is_placeholder(args[1]):
            continue  # blocks are run whole below
        stack = StackFile()
        stack.set(args[0], args[1], "--path" in flags, "--secret" in flags)
        config, secrets = stack.as_the_cli_passes()
        try:
            run_program(config, secrets)
        except SettingsError as error:  # only what the setting itself is refused for counts
            assert not [line for line in str(error).splitlines()
                        if line.startswith(f"invalid config {root_of(args[0])}")], (page, args, str(error))
        checked += 1
    assert checked >= 5


def recipes() -> list:
    """(page, block) of every shell block that sets something, with the page as its id."""
    found = [(page.name, body) for page in PAGES for lang, body in blocks(page.read_text())
             if lang in ("", "bash", "sh") and "pulumi config" in body]
    return [pytest.param(page, body, id=f"{page}-{n}") for n, (page, body) in enumerate(found)]


STACK_COMMANDS = {"up", "preview", "down", "forward", "check", "ps", "drop-data", "tunnel"}


def simulate(block: str) -> tuple[str, StackFile, list[tuple[str, str]]]:
    """A block's commands applied to a fresh clone's stack `dev` (or the stack it makes or
    selects): (the stack, its file, the make commands with the stack each names)."""
    stack, stack_file, makes = "dev", StackFile(), []
    for line in block.splitlines():
        words = words_of(line)
        if words[:3] in (["pulumi", "stack", "init"], ["pulumi", "stack", "select"]):
            stack = [w for w in words[3:] if not w.startswith("-")][0]
            if words[2] == "init":
                stack_file = StackFile()
        elif words[:3] == ["pulumi", "config", "set"]:
            flags = {w for w in words[3:] if w.startswith("--")}
            args = [w for w in words[3:] if not w.startswith("--")]
            stack_file.set(args[0], args[1], "--path" in flags, "--secret" in flags)
        elif words[:3] == ["pulumi", "config", "rm"]:
            stack_file.rm(words[-1], "--path" in words)
        elif words[:1] == ["make"] and words[1] in STACK_COMMANDS:
            given = dict(w.split("=", 1) for w in words[2:] if "=" in w)
            makes.append((words[1], given.get("STACK", "dev")))
    return stack, stack_file, makes


@pytest.mark.parametrize("page, block", recipes())
def test_every_recipe_works_on_a_fresh_stack_as_the_cli_applies_it(page, block):
    stack, stack_file, makes = simulate(block)
    for target, named in makes:  # a recipe that sets up one stack and runs make on another
        assert named == stack, (page, f"make {target} runs on {named}, the recipe set up {stack}")
    config, secrets = stack_file.as_the_cli_passes()
    run = run_program(config, secrets, stack=stack)  # a SettingsError names what is wrong
    assert run.containers or run.of_type("kubernetes:apps/v1:Deployment"), page


def test_the_stack_file_shown_is_one_the_program_takes():
    shown_files = [yaml.safe_load(body) for page in PAGES for lang, body in blocks(page.read_text())
                   if lang == "yaml" and body.lstrip().startswith("config:")]
    assert shown_files
    for stack_file in shown_files:
        config = {}
        for key, value in stack_file["config"].items():
            project, _, name = key.partition(":")
            assert project == PROJECT and name in DECLARED, key
            config[name] = value if isinstance(value, str) else json.dumps(value)
        run = run_program(config)
        assert run.outputs["stacks"] == stack_file["config"][f"{PROJECT}:stacks"]


def test_the_simulated_cli_refuses_the_broken_form_of_adding_a_stack():
    # the form the docs must not show: on a stack that never set `stacks`, index 4 alone
    stack_file = StackFile()
    with pytest.raises(AssertionError, match="out of range"):
        stack_file.set("stacks[4]", "telemetry", path=True, secret=False)
    for n, name in enumerate(["kpow", "flex", "analytics", "pinot", "telemetry"]):
        stack_file.set(f"stacks[{n}]", name, path=True, secret=False)
    assert stack_file.config == {"stacks": ["kpow", "flex", "analytics", "pinot", "telemetry"]}
    stack_file.set("images.kpow", "factorhouse/kpow:1", path=True, secret=False)
    stack_file.set("portOffset", "100", path=False, secret=False)
    assert stack_file.as_the_cli_passes()[0]["images"] == '{"kpow":"factorhouse/kpow:1"}'


# --- outputs, scripts and paths -----------------------------------------------------------

def test_every_stack_output_shown_is_one_the_program_exports():
    names = known_outputs()
    asked = [(page.name, m.group(1)) for page in PAGES for snippet in shown(page.read_text())
             for m in re.finditer(r"pulumi stack output (\w+)", snippet)]
    assert asked
    for page, name in asked:
        assert name in names, (page, name)


def test_every_output_is_described_in_the_readme():
    described = set(ticked(section(README, "Outputs, ports and URLs")))
    assert known_outputs() <= described, known_outputs() - described


PATH = re.compile(r"(?:^|[\s(])((?:scripts|commands|checks|settings|bench|resources|stacks|engines|tests|docs)/[\w./-]*\w/?)")


def test_every_project_path_shown_exists():
    paths = [(page.name, m.group(1)) for page in PAGES for snippet in shown(page.read_text())
             for m in PATH.finditer(snippet)]
    assert len(paths) > 10
    for page, path in paths:
        assert (PROJECT_DIR / path).exists(), (page, path)


SCRIPT = re.compile(r"(?:python3?|venv/bin/python) ((?:scripts|commands|bench|tests)/\w+\.py)((?: +--?[\w-]+(?: +[^-\s]\S*)?)*)")


def test_every_script_shown_takes_the_options_shown():
    invocations = [(page.name, m.group(1), re.findall(r"(--[\w-]+)", m.group(2)))
                   for page in PAGES for snippet in shown(page.read_text()) for m in SCRIPT.finditer(snippet)]
    assert {script for _, script, _ in invocations} >= {"commands/check.py", "bench/bench_downloads.py"}
    helps = {}
    for page, script, options in invocations:
        if script not in helps:
            helps[script] = subprocess.run([sys.executable, "-B", script, "--help"], cwd=PROJECT_DIR,
                                           capture_output=True, text=True, timeout=60).stdout
        for option in options:
            assert re.search(rf"{option}\b", helps[script]), (page, script, option)


# --- links --------------------------------------------------------------------------------

def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces
    as hyphens, a repeated one numbered."""
    found: dict[str, int] = {}
    result = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", prose(text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        result.add(slug if slug not in found else f"{slug}-{found[slug]}")
        found[slug] = found.get(slug, 0) + 1
    return result


def test_anchors_are_made_as_github_makes_them():
    assert anchors("## Day to day: `make ps`, `logs`\n## Is it working?\n## A\n## A\n") == \
        {"day-to-day-make-ps-logs", "is-it-working", "a", "a-1"}


def test_every_relative_link_and_anchor_resolves():
    links = 0
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", prose(page.read_text())):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            file, _, anchor = target.partition("#")
            linked = (page.parent / file).resolve() if file else page
            assert linked.exists(), (page.name, target)
            if anchor:
                assert anchor in anchors(linked.read_text()), (page.name, target)
            links += 1
    assert links > 40


# --- the README's first screen ------------------------------------------------------------

FIRST_SCREEN = README.split("\n## Contents\n", 1)[0]


def test_the_first_screen_gets_a_newcomer_from_clone_to_platform():
    # 68: it also says which commands ask the passphrase, that Enter alone cancels Pulumi's
    # confirmation, and what a licence file holds (issue 33: a newcomer tripped on each)
    assert len(FIRST_SCREEN.splitlines()) <= 68
    start = section(FIRST_SCREEN + "\n## ", "Start")
    for fact in ("24 GB", "13 GB", "Python 3", "pulumi.com/docs/install", "Docker Desktop", "colima start --memory",
                 "passphrase", "PULUMI_CONFIG_PASSPHRASE", "edition community", "dockerHost"):
        assert fact in start, fact
    steps = [line.split("#")[0].strip() for line in blocks(start)[0][1].splitlines()]
    order = [next(i for i, step in enumerate(steps) if step.startswith(command)) for command in
             ("pulumi stack init dev", "pulumi config set kpowLicenseFile", "pulumi config set flexLicenseFile",
              "pulumi config set profile lite", "pulumi config set pyflink false", "make up")]
    assert order == sorted(order), steps  # a stack first, the licences before the first up
    everyday = {m.group(1) for m in MAKE.finditer(blocks(start)[1][1])}
    assert {"preview", "check", "ps", "logs", "down", "drop-data", "test"} <= everyday
    assert "make test" in blocks(start)[1][1] and "contributors" in blocks(start)[1][1]


def login_problem(container: str, pair: tuple[str, str] | None, run) -> str | None:
    """Why a login the table shows for a container is not the program's, else None."""
    realms = {"kpow-ee": ("kpow", "kpow/jaas/hash-realm.properties"),
              "flex-ee": ("flex", "flex/jaas/hash-realm.properties")}
    pairs = {"schema_registry": ("schemaRegistryUser", "schemaRegistryPassword"),
             "minio": ("minioUser", "minioPassword")}
    if container in realms:
        product, file = realms[container]
        if pair is None:
            return "the login is on" if run.outputs[f"{product}Login"] else None
        users = realm(PROJECT_DIR / "resources" / file)
        works = run.outputs[f"{product}Login"] and pair[0] in users and verifies(pair[1], users[pair[0]][0])
        return None if works else "no such login"
    if container in pairs:
        actual = tuple(run.outputs[key] for key in pairs[container])
        return None if pair == actual else f"the outputs say {actual}"
    if container == "postgres":
        return None if pair and f"{pair[0]}:{pair[1]}@" in run.outputs["postgresDsn"] else "not the DSN's login"
    return None if pair is None else "the program sets no login there"


def test_what_runs_where_matches_the_program():
    run = run_with()  # the default settings, as the table says
    rows = table_rows(section(FIRST_SCREEN + "\n## ", "Start"), 4)
    assert rows
    names = {r["name"]: service for service, r in run.containers.items()}
    listed = set()
    url_values = {v for v in run.outputs.values() if isinstance(v, str)}
    for what, containers, addresses, login in rows:
        services = [names[c] for c in ticked(containers)]  # a KeyError names a container that is not made
        listed |= set(ticked(containers))
        ports = set().union(*(published(run, s) for s in services))
        shown_ports = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", addresses)}
        assert shown_ports == ports, (what, shown_ports, ports)
        for url in re.findall(r"\w+://\S+?(?=,|$| )", addresses):
            assert url.rstrip(",") in url_values, (what, url)
        for servers in [a for a in addresses.split(", ") if "," in a]:  # bootstrap servers
            assert servers in url_values, (what, servers)
        pairs = re.findall(r"`([^`]+)` / `([^`]+)`", login)
        for container in ticked(containers):
            problem = login_problem(container, pairs[0] if pairs else None, run)
            assert problem is None, (what, container, problem)
    assert listed == {r["name"] for s, r in run.containers.items() if run.ports(s)}  # every published one


def test_the_names_with_a_prefix_and_in_the_community_edition_are_the_programs():
    note = FIRST_SCREEN.split("| none |\n\n", 1)[1] if "| none |\n\n" in FIRST_SCREEN else FIRST_SCREEN
    assert "`<prefix>factorhouse`" in note
    prefixed = run_with(namePrefix="alice-")
    assert prefixed.one("docker:index/network:Network", "network")["name"] == "alice-factorhouse"
    prefixed_names = {r["name"] for r in prefixed.containers.values()}
    community = {r["name"] for r in run_with(edition="community").containers.values()}
    examples = [n for n in ticked(note) if n.startswith("alice-")]
    assert examples and set(examples) <= prefixed_names
    editions = [n for n in ticked(note) if n.endswith("-ce")]
    assert sorted(editions) == ["flex-ce", "kpow-ce"] and set(editions) <= community


def test_the_outputs_table_matches_the_program():
    rows = table_rows(section(README, "Outputs, ports and URLs"), 4)
    assert len(rows) > 20
    covered: dict[tuple, set] = {}
    for services_cell, containers, outputs, addresses in rows:
        conditions = dict(c.split(": ", 1) for c in ticked(services_cell) if ": " in c)
        services = [s for s in ticked(services_cell) if ": " not in s]
        run = run_with(stacks=all_stacks(), **conditions)
        assert [run.container(s)["name"] for s in services] == ticked(containers), services
        values = [a.strip() for a in re.sub(r" \([^)]*\)", "", addresses).split(", ") if a.strip()]
        for name, value in zip(ticked(outputs), values):
            actual = run.outputs[name]
            assert re.fullmatch(re.escape(value).replace("…", ".+"), actual), (name, value, actual)
        ports = set().union(*(published(run, s) for s in services))
        for port in re.findall(r"127\.0\.0\.1:(\d+)", addresses):
            assert int(port) in ports, (services, port)
        key = tuple(sorted(conditions.items()))
        covered.setdefault(key, set()).update((s, int(p)) for s in services
                                              for p in re.findall(r"127\.0\.0\.1:(\d+)", addresses))
        covered[key].update(("output", name) for name in ticked(outputs))
    for key in covered:
        run = run_with(stacks=all_stacks(), **dict(key))
        shown_here = covered[key] | covered[()]
        for service in run.containers:
            for port in published(run, service):
                assert (service, port) in shown_here, (dict(key), service, port)
        addresses = {n for n, v in run.outputs.items() if isinstance(v, str) and re.match(r"\w+://|127\.", v)}
        assert {("output", n) for n in addresses} <= shown_here, (dict(key), addresses)


# --- benchmarks ---------------------------------------------------------------------------

def test_the_benchmark_runs_and_its_warm_run_makes_no_request():
    result = subprocess.run([sys.executable, "bench/bench_downloads.py", "--artifacts", "4", "--size-kib", "64",
                             "--latency-ms", "20", "--kib-per-s", "8192"],
                            capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"warm .* 0 requests", result.stdout), result.stdout


def test_the_start_up_benchmark_runs_and_reports_both_chains():
    # which is faster is the benchmark's to show (docs/benchmarks.md), not a test's: a
    # loaded machine would make a timed claim flaky
    import engine
    engine.need(engine.engine_problem(), "a Docker engine")
    result = subprocess.run([sys.executable, "bench/bench_health_chain.py", "--interval", "3", "--links", "2"],
                            capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Docker's status.*?[\d.]+ s", result.stdout), result.stdout
    assert re.search(r"our gate.*?[\d.]+ s", result.stdout), result.stdout


def test_the_check_benchmark_runs_and_reports_both_ways():
    result = subprocess.run([sys.executable, "bench/bench_check.py", "--latency-ms", "100"], capture_output=True,
                            text=True, cwd=PROJECT_DIR, timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    assert re.search(r"^one after another: [\d.]+ s$", result.stdout, re.M), result.stdout
    assert re.search(r"^at the same time \(make check\): [\d.]+ s", result.stdout, re.M), result.stdout


# --- commands.md: every command's failure paths, each with its test ---------------------

COMMANDS_DOC = (PROJECT_DIR / "docs/commands.md").read_text()


def test_every_failure_path_of_every_command_names_tests_that_exist():
    makefile = (PROJECT_DIR / "Makefile").read_text()
    # the user's commands: the targets that run one of commands/ (install, help and test aside)
    targets = {t for t, recipe in re.findall(r"^([a-z-]+):[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M)
               if "commands/" in recipe}
    assert {"up", "preview", "down", "check", "ps", "logs", "restart", "shell", "drop-data", "tunnel"} <= targets
    headings = re.findall(r"^## (.+)$", COMMANDS_DOC, re.M)
    covered = {t for h in headings for t in re.findall(r"`make ([a-z-]+)`", h)}
    assert covered == targets, covered ^ targets
    rows = re.findall(r"^\| (?!failure path|---)(.+?) \| (.+?) \| (.+) \|$", COMMANDS_DOC, re.M)
    assert len(rows) >= 40
    for path, seen, tests in rows:
        named = re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", tests)
        assert named, path
        for file, test in named:
            assert re.search(rf"^def {test}\(", (PROJECT_DIR / file).read_text(), re.M), (path, file, test)


def test_the_no_op_benchmark_runs_and_a_no_op_make_up_starts_no_pulumi():
    import engine
    engine.need(engine.engine_problem(), "a Docker engine")
    result = subprocess.run([sys.executable, "bench/bench_noop.py", "--containers", "3", "--runs", "1",
                             "--skip-program", "--check"], capture_output=True, text=True, cwd=PROJECT_DIR, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"nothing to do: .* 0 pulumi commands", result.stdout), result.stdout


# --- services.md --------------------------------------------------------------------------

SERVICES_DOC = (PROJECT_DIR / "docs/services.md").read_text()
# the section of the services that `catalog: hive` runs in place of the REST catalog's
HIVE_SECTION = "## The Hive Metastore (`catalog: hive`)"


def documented_services(text: str) -> dict[str, tuple[str, str, set[str]]]:
    """service -> (image, container, {"host:container", ...}) of the tables in `text`."""
    rows = re.findall(r"^\| `([\w-]+)` \| `([^`]+)`[^|]*\| `([^`]+)`[^|]*\| ([^|]+) \|$", text, re.M)
    return {name: (image, container, set(re.findall(r"`(\d+:\d+)`", ports))) for name, image, container, ports in rows}


def sections() -> tuple[str, str]:
    """docs/services.md without the Hive Metastore's section, and that section."""
    before, rest = SERVICES_DOC.split(HIVE_SECTION)
    hive, after = rest.split("\n## ", 1)
    return before + "\n## " + after, hive


def made_as_documented(run, documented: dict) -> None:
    for name, (image, container, ports) in documented.items():
        assert run.image_of(name) == image, name
        assert run.container(name)["name"] == container, name
        assert {f"{host}:{inside}" for _, host, inside in run.ports(name)} == ports, name


def test_every_documented_service_is_made_as_documented_and_nothing_else():
    run = base_run()
    documented = documented_services(sections()[0])
    assert set(documented) == set(run.containers)
    made_as_documented(run, documented)


def test_with_the_hive_metastore_its_documented_services_replace_the_rest_catalogs():
    run = run_with(stacks=all_stacks(), catalog="hive")
    default, hive = (documented_services(part) for part in sections())
    assert set(run.containers) == set(default) - {"rest"} | set(hive)
    made_as_documented(run, hive)


# --- the project --------------------------------------------------------------------------

def test_the_project_stands_alone():
    # the facts it relies on are in docs/, not in files outside the repository
    for path in PROJECT_DIR.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".yaml", ".yml", ".sh", "") and "venv" not in path.parts \
                and ".git" not in path.parts and path.stat().st_size < 1_000_000:
            text = path.read_text(errors="replace")
            for outside in ("SPEC" + ".md", "../" + "shared", "PULUMI" + "-NOTES"):
                assert outside not in text, (path, outside)


def test_the_layout_names_every_module_and_page():
    layout = (PROJECT_DIR / "docs/layout.md").read_text()
    folders = ("stacks", "engines", "settings", "commands", "checks", "scripts", "tests", "bench", "docs")
    modules = [p for folder in folders for p in (PROJECT_DIR / folder).iterdir()
               if p.suffix in (".py", ".md") and p.name != "__init__.py"]
    missing = [f"{p.parent.name}/{p.name}" for p in modules if f"`{p.name}`" not in layout]
    assert not missing, missing


def test_the_readme_links_every_page_of_docs():
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)", README))
    assert linked == {p.name for p in (PROJECT_DIR / "docs").glob("*.md")}


def test_every_third_party_import_is_pinned_in_requirements():
    # a fresh clone installs requirements.txt and nothing else
    import ast
    import importlib.metadata
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in
              (PROJECT_DIR / "requirements.txt").read_text().split() if "==" in line}
    assert all("==" in line for line in (PROJECT_DIR / "requirements.txt").read_text().split())
    local = {p.stem for p in PROJECT_DIR.rglob("*.py") if "venv" not in p.parts} | {"stacks", "engines", "settings", "commands", "checks", "scripts"}
    distributions = importlib.metadata.packages_distributions()
    missing = set()
    for path in PROJECT_DIR.rglob("*.py"):
        if "venv" in path.parts or ".git" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local:
                    continue
                for dist in distributions.get(top, [top]):
                    if dist.lower().replace("_", "-") not in pinned:
                        missing.add((path.relative_to(PROJECT_DIR).as_posix(), top, dist))
    assert not missing, sorted(missing)


def test_the_first_make_says_it_installs_the_dependencies_before_it_does(tmp_path):
    # the first `make up` spends about a minute in pip: said first, not a silent minute
    python = tmp_path / "python3"
    python.write_text('#!/bin/sh\necho "ran: python $*"\n'
                      '[ "$2" = venv ] && mkdir -p "$3/bin" && cp "$0" "$3/bin/python"\nexit 0\n')
    python.chmod(0o755)
    venv = tmp_path / "venv"
    result = subprocess.run(["make", "--no-print-directory", "install", f"PYTHON={python}", f"VENV={venv}"],
                            cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0] == f"Installing the Python dependencies into {venv}/ (once; about a minute)..."
    assert [line.split()[:4] for line in lines[1:3]] == [["ran:", "python", "-m", "venv"],
                                                          ["ran:", "python", "-m", "pip"]]
    assert lines[-1] == f"Installed the Python dependencies into {venv}/."
    # and only once
    again = subprocess.run(["make", "--no-print-directory", "install", f"PYTHON={python}", f"VENV={venv}"],
                           cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert "Installing" not in again.stdout
