"""What every output rule shares: the row context it is judged in, and the rule protocol.

A rule sees one parsed output (a dict) and, for rules that need it, the row's context: the
redacted model input the output was produced from, and the row's source key. It returns the
reason the output breaks it, or None.

A reason is stored (`output_quarantine`, `row_ledger`, the warnings of a published row) and
shown back to the model by a repair, so it never quotes personal data: values are quoted with
`shown` and free text from a custom check passes through `redacted`, which put markers such as
`<REDACTED_EMAIL_1>` where the detectors find PII (`outputs.answers`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from governance_pipeline.outputs.answers import mark_text


@dataclass(frozen=True)
class RowContext:
    """What a rule may know about the row besides its output.

    Attributes:
        input: The redacted model input (prompt columns after redaction): what the model saw.
        key: The row's source key, when judged inside a run.
    """

    input: Mapping[str, Any] = field(default_factory=dict)
    key: Any = None

    def input_text(self) -> str:
        """Every text value of the input, one per line."""
        return "\n".join(v for v in self.input.values() if isinstance(v, str))


NO_CONTEXT = RowContext()


class RuleBase(BaseModel):
    """A rule of the behaviour contract. Subclasses set `type` and implement `violation`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def fields(self) -> tuple[str, ...]:
        """Output fields this rule reads, so a spec naming an unknown field can be rejected."""
        raise NotImplementedError

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        """The reason `output` breaks this rule, or None when it complies."""
        raise NotImplementedError


def shown(value: Any) -> str:
    """A value as a reason quotes it: its repr, with any PII in it marked."""
    return mark_text(repr(value))


def redacted(reason: str) -> str:
    """A reason with any PII in it marked (for text a rule does not build itself)."""
    return mark_text(reason)


def text_values(output: Mapping[str, Any], names: list[str]) -> dict[str, str]:
    """The text fields among `names` (every text field when `names` is empty)."""
    chosen = names or list(output)
    return {n: output[n] for n in chosen if isinstance(output.get(n), str)}


def check_regex(pattern: str) -> str:
    """Validate that `pattern` compiles as a Python regular expression, for a spec error at load
    time instead of a failure after the model was called."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"pattern={pattern!r} is not a valid regular expression: {exc}; fix it "
            "(Python `re` syntax)"
        ) from None
    except (RecursionError, OverflowError) as exc:  # nested or repeated beyond what re handles
        raise ValueError(
            f"pattern={pattern[:80]!r} cannot be compiled ({type(exc).__name__}: {exc}); "
            "simplify it"
        ) from None
    return pattern


def check_import_path(path: str) -> str:
    """Validate that `module:attribute` imports, for a spec error at load time, not mid-run."""
    import_object(path)
    return path


@lru_cache(maxsize=64)
def import_object(path: str) -> Any:
    """The object named by `package.module:attribute`.

    Raises:
        ValueError: the path is malformed, or the module or attribute does not exist.
    """
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"import path={path!r} must look like 'package.module:name'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # a module that fails to import, however, is a spec error here
        raise ValueError(
            f"cannot import module {module_name!r} of {path!r}: {type(exc).__name__}: {exc}; "
            "check the import path, and that the module imports on its own"
        ) from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r}") from None
        except Exception as exc:  # a property or module __getattr__ that raises
            raise ValueError(
                f"reading {attribute!r} of module {module_name!r} raised "
                f"{type(exc).__name__}: {exc}"
            ) from None
    return obj
