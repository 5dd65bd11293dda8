"""The README's configuration table, .env.example and the code agree."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ_BY = (ROOT / "authserver" / "settings.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()


def readme_table_variables() -> set[str]:
    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_every_documented_variable_is_read_by_the_code():
    documented = readme_table_variables()
    assert len(documented) > 20
    missing = [name for name in documented if f'"{name}"' not in READ_BY]
    assert not missing


def test_env_example_only_names_documented_variables():
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert example <= readme_table_variables()


def test_every_env_read_in_settings_is_documented():
    read = set(re.findall(r'env\.\w+\("([A-Z][A-Z0-9_]+)"', READ_BY)) | set(
        re.findall(r'environ\.get\("([A-Z][A-Z0-9_]+)"', READ_BY)
    )
    assert read - readme_table_variables() == set()
