"""`kcap fields`: every field of the specification, with type, description and example."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kcap.cli.fields_cmd import fields
from kcap.filter import FilterError, compile
from kcap.filter.fields import FIELDS


def run(*args: str) -> str:
    result = CliRunner().invoke(fields, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_json_lists_every_field_with_type_description_and_example() -> None:
    rows = json.loads(run("--json", "--all"))
    names = {r["field"] for r in rows}
    # foreach's pseudo fields (ps._modules ...) are not fields a filter can compare
    assert {n for n, spec in FIELDS.items() if spec.kind != "items"} <= names
    assert (
        "ps.ancestor[<N|root|any>].<pid|name|cmdline|exe|args|cwd|sid|sessionid|username|domain>"
        in names
    )
    by_name = {r["field"]: r for r in rows}
    assert by_name["ps.name"]["type"] == "string"
    assert by_name["ps.name"]["description"]
    assert by_name["pe.is_modified"]["available"] is False
    assert "live host" in by_name["pe.is_modified"]["unavailable_reason"]


def test_every_example_compiles_and_unavailable_fields_have_none() -> None:
    for row in json.loads(run("--json", "--all")):
        if row["available"] and row["example"]:
            compile(row["example"])
        if not row["available"]:
            assert row["unavailable_reason"]
            assert row["example"] == "" or _rejected(row["example"])


def _rejected(expr: str) -> bool:
    try:
        compile(expr)
    except FilterError:
        return True
    return False


def test_text_output_lists_only_accepted_fields_by_default() -> None:
    # Regression (issue 15): the default listing mixed in fields every filter rejects.
    text = run()
    assert "kevt.name  (string)" in text
    assert "e.g. kevt.name = 'CreateFile'" in text
    assert "not available in replay" not in text
    assert "pe.is_modified" not in text
    everything = run("--all")
    assert "pe.is_modified" in everything
    assert "not available in replay" in everything


def test_default_json_listing_holds_only_fields_filters_accept() -> None:
    rows = json.loads(run("--json"))
    assert rows and all(r["available"] for r in rows)
    for row in rows:
        if row["example"]:
            compile(row["example"])
