"""Rules a spec brings itself: a JSON schema, a pydantic model or a Python callable named by
import path, and SQL over the table of outputs.

Import paths are resolved when the spec loads, so a typo is a spec error with a line, not a
failure mid-run. A custom check that raises rejects the row (fail closed), with the exception
as the reason. SQL runs in a private in-memory DuckDB with external access off: it sees the
outputs and nothing else, and cannot read files or the store.

What these rules say is not ours to word: a schema error quotes the value, a callable may
return anything. Their reasons pass through `redacted`, so PII in them is marked, not stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator

from governance_pipeline.outputs.rules.base import (
    NO_CONTEXT,
    RowContext,
    RuleBase,
    check_import_path,
    import_object,
    redacted,
)

if TYPE_CHECKING:
    import pandas as pd

# jsonschema, DuckDB and pandas are imported where a rule of theirs is checked or run: a spec
# that uses none of them (and `govern --help`, `govern validate`) does not pay for them.

ImportPath = Annotated[str, AfterValidator(check_import_path)]


class JsonSchemaRule(RuleBase):
    """The output validates against a JSON schema (any draft `jsonschema` knows)."""

    type: Literal["json_schema"] = "json_schema"
    schema_: dict[str, Any] = Field(alias="schema", description="The JSON schema.")

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        import jsonschema

        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON schema: {exc.message}") from None
        return schema

    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema_.get("properties", {}))

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        import jsonschema

        validator = jsonschema.validators.validator_for(self.schema_)(self.schema_)
        errors = sorted(validator.iter_errors(output), key=lambda e: list(e.absolute_path))
        shown = [
            f"{'.'.join(map(str, e.absolute_path)) or 'output'}: {e.message}" for e in errors[:3]
        ]
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return redacted("; ".join(shown) + more) if errors else None


class PydanticRule(RuleBase):
    """The output validates as a pydantic model named by import path (`package.module:Model`)."""

    type: Literal["pydantic"] = "pydantic"
    model: ImportPath = Field(description="Import path of a pydantic BaseModel subclass.")

    @field_validator("model")
    @classmethod
    def _a_model(cls, path: str) -> str:
        obj = import_object(path)
        if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
            raise ValueError(f"model={path!r} is not a pydantic BaseModel subclass")
        return path

    def fields(self) -> tuple[str, ...]:
        return ()

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        try:
            import_object(self.model).model_validate(output)
        except ValidationError as exc:
            return redacted(
                "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg'].lower()}"
                    for e in exc.errors()
                )
            )
        return None


class PythonRule(RuleBase):
    """A Python callable named by import path judges each row.

    It is called as `function(output, context, **args)` with the parsed output (a dict) and a
    `RowContext` (the redacted input, the row's key), and returns None or True when the row
    complies, a reason (str) or False when it does not.
    """

    type: Literal["python"] = "python"
    function: ImportPath = Field(description="Import path, e.g. `my_checks.rules:team_exists`.")
    args: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments passed on.")

    @field_validator("function")
    @classmethod
    def _callable(cls, path: str) -> str:
        if not callable(import_object(path)):
            raise ValueError(f"function={path!r} is not callable")
        return path

    def fields(self) -> tuple[str, ...]:
        return ()

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        try:
            result = import_object(self.function)(output, context, **self.args)
        except Exception as exc:  # a custom check that breaks rejects the row: fail closed
            return redacted(f"{self.function} raised {type(exc).__name__}: {exc}")
        if result is None or result is True:
            return None
        if result is False:
            return f"{self.function} rejected the output"
        return redacted(str(result))


class SqlRule(RuleBase):
    """SQL over the table of outputs: the query selects the rows that break the rule.

    The query reads the relation `output`: one row per judged output, with the output fields
    and `row_key` (the row's source key). It returns `row_key` for every failing row and, if it
    likes, a `reason` column; otherwise `message` is the reason. Run over a whole batch it can
    compare rows with each other (duplicates, distributions); on a single output it sees a
    one-row table.
    """

    type: Literal["sql"] = "sql"
    query: str = Field(description="SELECT row_key[, reason] FROM output WHERE <it fails>.")
    message: str = Field("matched by the rule's query", description="Reason when none is given.")

    @field_validator("query")
    @classmethod
    def _one_select(cls, query: str) -> str:
        """The query parses as one SELECT; what it reads is bound when it first runs."""
        kinds = _statement_kinds(query)
        if isinstance(kinds, str):
            raise ValueError(f"the query is not valid SQL: {kinds}")
        if kinds != ["SELECT"]:
            raise ValueError(
                f"the query must be one SELECT over `output`, not {len(kinds)} statement(s) "
                f"({', '.join(kinds) or 'none'})"
            )
        return query

    def fields(self) -> tuple[str, ...]:
        return ()

    def violation(self, output: dict[str, Any], context: RowContext = NO_CONTEXT) -> str | None:
        import pandas as pd

        return self.violations_in(pd.DataFrame([{**output, "row_key": context.key}])).get(
            context.key
        )

    def violations_in(self, outputs: pd.DataFrame) -> dict[Any, str]:
        """The failing rows of a table of outputs, by `row_key`, with their reasons.

        Raises:
            duckdb.Error: the query is not valid SQL over `output`, or lacks `row_key`.
        """
        import duckdb
        import pandas as pd

        con = duckdb.connect(config={"enable_external_access": False})
        try:
            con.register("output", outputs)
            result = con.execute(self.query).df()
        finally:
            con.close()
        if "row_key" not in result.columns:
            raise duckdb.BinderException(
                f"the query returns {', '.join(result.columns)}; it must return row_key"
            )
        reasons = result["reason"] if "reason" in result.columns else [None] * len(result)
        return {
            k: redacted(str(r)) if r is not None and not pd.isna(r) else self.message
            for k, r in zip(result["row_key"], reasons, strict=True)
        }


def _statement_kinds(query: str) -> list[str] | str:
    """The kind of each statement of `query` as DuckDB parses it, or why it does not parse.

    Plain values only: an exception holding the parser's objects would keep them alive.
    """
    import duckdb

    con = duckdb.connect(config={"enable_external_access": False})
    try:
        return [s.type.name for s in con.extract_statements(query)]
    except duckdb.Error as exc:
        return str(exc)
    finally:
        con.close()
