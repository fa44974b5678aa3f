"""aichaos.dataset.load_dataset: YAML, JSONL and CSV golden datasets and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import aichaos
from aichaos.dataset import Case, load_dataset
from aichaos.errors import ConfigError, DatasetError

SUPPORT = Path(aichaos.__file__).parent / "demo" / "datasets" / "support.yaml"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def error_of(path: Path) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    return str(info.value)


def test_yaml_list(tmp_path: Path) -> None:
    p = write(tmp_path, "d.yaml", (
        "- id: a\n  input: What is 2+2?\n  expected: '4'\n  context: arithmetic\n  tags: [math]\n"
        "- id: 7\n  input: Capital of France?\n  expected: [Paris, paris city]\n"
    ))
    cases = load_dataset(p)
    assert cases == [
        Case(id="a", input="What is 2+2?", expected="4", context="arithmetic", tags=["math"]),
        Case(id="7", input="Capital of France?", expected=["Paris", "paris city"]),
    ]


def test_yaml_cases_mapping_with_schema_expected(tmp_path: Path) -> None:
    p = write(tmp_path, "d.yml", (
        "title: ignored\ncases:\n"
        "  - id: j\n    input: give json\n    expected: {type: object, required: [a]}\n"
        "    scorer: {type: json_schema}\n"
    ))
    [case] = load_dataset(p)
    assert case.expected == {"type": "object", "required": ["a"]}
    assert case.scorer is not None and case.scorer.type == "json_schema"


def test_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    rows = [{"id": "a", "input": "x", "expected": "y"}, {"id": "b", "input": "ü 😀\u0000"}]
    p = write(tmp_path, "d.jsonl", json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n")
    cases = load_dataset(p)
    assert [c.id for c in cases] == ["a", "b"]
    assert cases[1].input == "ü 😀\u0000"
    assert cases[1].expected is None


def test_csv_with_alternatives_and_tags(tmp_path: Path) -> None:
    p = write(tmp_path, "d.csv", (
        "id,input,expected,context,tags\n"
        'a,"Hello, how long?",5 days | five days,policy text,refunds|returns\n'
        "b,plain,only,,single\n"
        "c,no expectation,,,\n"
    ))
    a, b, c = load_dataset(p)
    assert a.input == "Hello, how long?"
    assert a.expected == ["5 days", "five days"]
    assert a.context == "policy text"
    assert a.tags == ["refunds", "returns"]
    assert b.expected == "only" and b.context is None and b.tags == ["single"]
    assert c.expected is None and c.tags == []


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "none.yaml"
    assert error_of(p) == f"{p}: dataset file not found"


def test_dataset_error_is_config_error() -> None:
    assert issubclass(DatasetError, ConfigError)


def test_unsupported_suffix(tmp_path: Path) -> None:
    p = write(tmp_path, "d.txt", "hello\n")
    assert error_of(p) == f"{p}: unsupported dataset format '.txt'; use .yaml, .jsonl or .csv"


def test_bad_jsonl_line_names_line_number(tmp_path: Path) -> None:
    p = write(tmp_path, "d.jsonl", '{"id": "a", "input": "x"}\n\n{"id": "b", input}\n')
    msg = error_of(p)
    assert msg.startswith(f"{p}: line 3: invalid JSON: ")
    assert "\n" not in msg


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    p = write(tmp_path, "d.yaml", "- id: a\n  input: [x\n")
    assert error_of(p).startswith(f"{p}: line 3: invalid YAML: ")


def test_yaml_not_a_list(tmp_path: Path) -> None:
    p = write(tmp_path, "d.yaml", "id: a\ninput: x\n")
    assert error_of(p) == f"{p}: expected a list of cases or a mapping with 'cases:'"


def test_duplicate_ids_name_index_and_id(tmp_path: Path) -> None:
    p = write(tmp_path, "d.yaml", (
        "- {id: a, input: x}\n- {id: 1, input: y}\n- {id: '1', input: z}\n"
    ))
    assert error_of(p) == f"{p}: cases[2].id: duplicate id '1'"


def test_case_not_a_mapping(tmp_path: Path) -> None:
    p = write(tmp_path, "d.yaml", "- {id: a, input: x}\n- just text\n")
    assert error_of(p) == f"{p}: cases[1]: expected a mapping, got str"


def test_invalid_case_names_index_and_field(tmp_path: Path) -> None:
    p = write(tmp_path, "d.jsonl", '{"id": "a", "input": "x"}\n{"id": "b", "input": 5}\n')
    msg = error_of(p)
    assert "cases[1]" in msg and "input" in msg and "expected a string (got 5)" in msg
    assert msg == f"{p}: cases[1].input: expected a string (got 5)", (
        "BUG: invalid-case errors read 'cases[1]: input:' instead of the field path "
        f"'cases[1].input:' used elsewhere (e.g. duplicate ids): {msg!r}"
    )


def test_missing_input_names_field(tmp_path: Path) -> None:
    p = write(tmp_path, "d.yaml", "- id: a\n")
    msg = error_of(p)
    assert "cases[0]" in msg and "input" in msg and "required field is missing" in msg


def test_unknown_case_key(tmp_path: Path) -> None:
    p = write(tmp_path, "d.yaml", "- {id: a, input: x, expectd: y}\n")
    msg = error_of(p)
    assert "cases[0]" in msg and "expectd" in msg and "unknown key" in msg


def test_bad_expected_type_names_plain_field(tmp_path: Path) -> None:
    p = write(tmp_path, "d.jsonl", '{"id": "a", "input": "x", "expected": 5}\n')
    msg = error_of(p)
    assert "expected.str" not in msg, (
        f"BUG: pydantic's union member tag 'str' leaks into the field path: {msg!r}"
    )


@pytest.mark.parametrize(("name", "text"), [
    ("e.yaml", "cases: []\n"),
    ("e.jsonl", "\n\n"),
    ("e.csv", "id,input,expected\n"),
    ("e.yml", "[]\n"),
])
def test_empty_dataset(tmp_path: Path, name: str, text: str) -> None:
    p = write(tmp_path, name, text)
    assert error_of(p) == f"{p}: dataset has no cases"


def test_shipped_support_dataset() -> None:
    cases = load_dataset(SUPPORT)
    assert len(cases) >= 40
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids)
    for c in cases:
        assert c.input.strip(), c.id
        assert c.expected, f"{c.id} has no expected answer"
        assert c.context and c.context.strip(), f"{c.id} has no context"
