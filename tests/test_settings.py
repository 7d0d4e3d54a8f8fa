"""Every setting is a field of `Settings` (``governance_pipeline.settings``), documented there
and in the README.

A variable read straight from the environment by the module that needs it has no description,
no validation and no place in the list a person reads to configure a run: `GOVERNANCE_WORKERS`
and `GOVERNANCE_NER_MODEL` once were. So the package reads no `GOVERNANCE_` variable itself,
each field has a description, and the README's Settings section names each field's variable.
"""

from __future__ import annotations

import re

import pytest
from pydantic import AliasChoices

from governance_pipeline.errors import ConfigError
from governance_pipeline.inputs import model_input
from governance_pipeline.settings import Settings
from tests.conftest import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()


def _variable(name: str) -> str:
    """The environment variable of a field: its alias, else `GOVERNANCE_<NAME>`."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"GOVERNANCE_{name.upper()}"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_described_and_listed_in_the_readme(name: str) -> None:
    assert Settings.model_fields[name].description
    variable = _variable(name)
    where = README.split("## Settings")[1] if variable.startswith("GOVERNANCE_") else README
    assert f"`{variable}`" in where


def test_no_module_reads_a_governance_variable_itself() -> None:
    read = re.compile(r"(environ(\.get)?[\[(]|getenv\()\s*[\"']GOVERNANCE_")
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in sorted((PROJECT_ROOT / "governance_pipeline").rglob("*.py"))
        if read.search(path.read_text())
    ]
    assert offenders == []


def test_workers_and_the_ner_model_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERNANCE_WORKERS", "3")
    monkeypatch.setenv("GOVERNANCE_NER_MODEL", "xx_ent_wiki_sm")
    assert model_input.workers() == 3
    assert Settings().ner_model == "xx_ent_wiki_sm"
    monkeypatch.delenv("GOVERNANCE_WORKERS")
    assert model_input.workers() >= 1  # the CPU count
    monkeypatch.setenv("GOVERNANCE_WORKERS", "0")
    with pytest.raises(ConfigError, match="GOVERNANCE_WORKERS"):
        Settings()
