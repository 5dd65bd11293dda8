"""Every shell command in README.md and docs/ refers to something that exists.

Management commands must exist and accept the arguments shown (parsed by the command's own
parser), `make` targets must be in the Makefile, paths given to `curl` on this server must
resolve, `docker compose` must name services of docker-compose.yml, and the Python snippets'
imports must work.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, get_commands, load_command_class
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "console"}
# Hosts that stand for this server in the docs; others are MCP servers or third parties.
THIS_SERVER = {"auth.example.com", "127.0.0.1:8000", "localhost:8000", "$ISSUER"}
EXTERNAL_PROGRAMS = {"claude", "npx", "echo", "grep"}


def code_blocks(path: Path, languages: set[str]) -> list[str]:
    blocks = re.findall(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", path.read_text(), flags=re.M | re.S)
    return [body for language, body in blocks if language in languages]


def simple_commands(block: str) -> list[list[str]]:
    text = block.replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for token in lexer:
            if set(token) <= set("|&;"):
                commands.append(words)
                words = []
            else:
                words.append(token)
        commands.append(words)
    cleaned = []
    for words in commands:
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value prefixes
            if "=$(" in words[0]:  # VAR=$(command …): check the command
                words = [words[0].split("=$(", 1)[1], *words[1:]]
                break
            words = words[1:]
        if words:
            cleaned.append(words)
    return cleaned


def all_commands() -> list[tuple[str, list[str]]]:
    found = []
    for page in PAGES:
        for block in code_blocks(page, SHELL):
            for words in simple_commands(block):
                found.append((f"{page.relative_to(ROOT)}: {' '.join(words)}", words))
    return found


COMMANDS = all_commands()


def check_manage_py(words: list[str]) -> None:
    name, args = words[0], words[1:]
    commands = get_commands()
    if name not in commands:
        pytest.fail(f"no management command {name!r}")
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    try:
        parser.parse_args(args)
    except (SystemExit, CommandError) as error:
        pytest.fail(f"`manage.py {name}` does not accept {args}: {error}")


def check_curl(words: list[str]) -> None:
    urls = [w for w in words if "://" in w or w.startswith("$ISSUER")]
    assert urls, "curl without a URL"
    for url in urls:
        host_and_path = url.split("://", 1)[-1]
        host, _, path = host_and_path.partition("/")
        if host not in THIS_SERVER:
            continue
        path = "/" + path.split("?", 1)[0]
        try:
            resolve(path)
        except Resolver404:
            pytest.fail(f"{url}: this server does not serve {path}")


def check_docker(words: list[str]) -> None:
    assert words[1] == "compose", "use `docker compose`"
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    sub, rest = words[2], words[3:]
    assert sub in {"up", "down", "ps", "logs", "exec", "run", "build", "pull"}
    positional = [w for w in rest if not w.startswith("-")]
    if sub in {"exec", "run", "logs"}:
        assert positional[0] in services, f"no service {positional[0]!r}"
        inner = rest[rest.index(positional[0]) + 1 :]
        if inner[:2] == ["python", "manage.py"]:
            check_manage_py(inner[2:])


@pytest.mark.parametrize(("where", "words"), COMMANDS, ids=[where for where, _ in COMMANDS])
def test_documented_command_refers_to_something_that_exists(where, words):
    program = words[0]
    if program in ("python", "python3") and len(words) > 1 and words[1] == "manage.py":
        check_manage_py(words[2:])
    elif program in ("python", "python3"):
        if "-r" in words:
            assert (ROOT / words[words.index("-r") + 1]).is_file()
    elif program == "make":
        targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M)
        assert all(target in targets for target in words[1:] if "=" not in target)
    elif program == "curl":
        check_curl(words)
    elif program == "docker":
        check_docker(words)
    elif program == "gunicorn":
        assert (ROOT / words[words.index("-c") + 1]).is_file()
        module, _, attribute = words[-1].partition(":")
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
    elif program == "cp":
        assert (ROOT / words[1]).is_file()
    else:
        assert program in EXTERNAL_PROGRAMS, f"unknown program {program!r}: teach this test about it"


def test_docs_have_commands_to_check():
    assert len(COMMANDS) > 30
    assert any(words[:2] == ["python", "manage.py"] for _, words in COMMANDS)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_snippets_import_what_exists(page):
    for block in code_blocks(page, {"python"}):
        imports = "\n".join(line for line in block.splitlines() if line.startswith(("from ", "import ")))
        exec(compile(imports, str(page), "exec"), {})  # noqa: S102 (our own docs)


def test_docs_index_links_every_page():
    index = (ROOT / "docs" / "README.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, page.name
    assert "docs/" in (ROOT / "README.md").read_text()
