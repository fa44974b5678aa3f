"""aichaos.config: every problem in an experiment file becomes one exact, one-line message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from aichaos.config import Experiment, load_experiment, parse_experiment
from aichaos.errors import ConfigError

SRC = "exp.yaml"
MOCK = {"title": "t", "target": {"type": "mock"}}
UNSET = "ACX_UNSET"
SET = "ACX_SET"


def error_of(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_experiment(data, SRC)
    return str(info.value)


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------ YAML and top level


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    p = write(tmp_path, "title: t\n  target: x\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(p)
    assert str(info.value) == (
        f"{p}: line 2, column 9: invalid YAML: mapping values are not allowed here"
    )


def test_malformed_yaml_unclosed_bracket_names_position(tmp_path: Path) -> None:
    p = write(tmp_path, "title: t\ntarget: [\n  a: b\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: line 4, column 1: invalid YAML: ")
    assert "\n" not in msg


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    p = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_experiment(p)
    assert str(info.value) == f"{p}: experiment file not found"


def test_top_level_list_is_rejected() -> None:
    assert error_of([1, 2]) == f"{SRC}: expected a mapping at the top level, got [1, 2]"


def test_top_level_scalar_from_file(tmp_path: Path) -> None:
    p = write(tmp_path, "just a string\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(p)
    assert str(info.value) == f"{p}: expected a mapping at the top level, got 'just a string'"


def test_empty_file_is_not_a_mapping(tmp_path: Path) -> None:
    p = write(tmp_path, "")
    with pytest.raises(ConfigError) as info:
        load_experiment(p)
    assert str(info.value) == f"{p}: expected a mapping at the top level, got None"


# ------------------------------------------------------------------ unknown keys, types


def test_unknown_top_level_key() -> None:
    assert error_of({**MOCK, "scorr": 1}) == (
        f"{SRC}: scorr: unknown key (check spelling; see `aichaos schema`)"
    )


def test_unknown_nested_key_names_full_path() -> None:
    data = {**MOCK, "layers": {"capability": {"scorr": {"type": "exact"}}}}
    assert error_of(data) == (
        f"{SRC}: layers.capability.scorr: unknown key (check spelling; see `aichaos schema`)"
    )


def test_unknown_key_inside_target_omits_discriminator_tag() -> None:
    data = {"title": "t", "target": {"type": "mock", "latncy_s": 1}}
    assert error_of(data) == (
        f"{SRC}: target.latncy_s: unknown key (check spelling; see `aichaos schema`)"
    )


def test_wrong_type_integer() -> None:
    data = {**MOCK, "runtime": {"seed": "abc"}}
    assert error_of(data) == f"{SRC}: runtime.seed: expected an integer (got 'abc')"


def test_several_errors_each_get_a_line() -> None:
    data = {**MOCK, "runtime": {"seed": "abc", "concurrency": 0}}
    lines = error_of(data).splitlines()
    assert lines[0] == f"{SRC}: runtime.seed: expected an integer (got 'abc')"
    assert len(lines) == 2 and lines[1].startswith(f"{SRC}: runtime.concurrency: ")


def test_long_value_is_shortened() -> None:
    msg = error_of({**MOCK, "runtime": {"seed": "x" * 100}})
    assert msg == f"{SRC}: runtime.seed: expected an integer (got '{'x' * 36}...)"


def test_list_index_in_path() -> None:
    data = {**MOCK, "report": {"formats": ["json", "pdf"]}}
    assert error_of(data) == (
        f"{SRC}: report.formats[1]: expected 'terminal', 'json', 'html', 'junit' or "
        f"'markdown' (got 'pdf')"
    )


def test_union_field_path_has_no_pydantic_member_tags() -> None:
    # ``perturbations: "all" | list[str]``; the user wrote ``perturbations: 5``.
    msg = error_of({**MOCK, "layers": {"input_resilience": {"perturbations": 5}}})
    assert msg.startswith(f"{SRC}: layers.input_resilience.perturbations: "), (
        "BUG: pydantic's union member tag (e.g. \"literal['all']\") leaks into the field "
        f"path; the user never wrote it: {msg!r}"
    )


# ------------------------------------------------------------------ target


def test_missing_target() -> None:
    assert error_of({"title": "t"}) == f"{SRC}: target: required field is missing"


def test_missing_title() -> None:
    assert error_of({"target": {"type": "mock"}}) == f"{SRC}: title: required field is missing"


def test_unknown_target_type() -> None:
    assert error_of({"title": "t", "target": {"type": "grpc"}}) == (
        f"{SRC}: target.type: unknown type; expected one of 'http', 'mock', 'openai', 'python' "
        f"(got 'grpc')"
    )


def test_target_without_type() -> None:
    assert error_of({"title": "t", "target": {}}) == (
        f"{SRC}: target.type: missing 'type' (http, mock, openai or python) (got {{}})"
    )


def test_bad_url() -> None:
    data = {"title": "t", "target": {"type": "openai", "base_url": "ftp://x"}}
    assert error_of(data) == (
        f"{SRC}: target.base_url: expected an http(s) URL such as "
        f"http://127.0.0.1:8080/v1 (got 'ftp://x')"
    )


def test_bad_http_target_url() -> None:
    data = {"title": "t", "target": {"type": "http", "url": "localhost:8080"}}
    assert error_of(data) == (
        f"{SRC}: target.url: expected an http(s) URL such as "
        f"http://127.0.0.1:8080/v1 (got 'localhost:8080')"
    )


# ------------------------------------------------------------------ environment values


def test_env_unset_without_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    data = {"title": "t", "target": {"type": "openai", "base_url": {"type": "env", "key": UNSET}}}
    assert error_of(data) == (
        f"{SRC}: target.base_url: environment variable {UNSET} is not set and has no default "
        f"(got {{'type': 'env', 'key': '{UNSET}'}})"
    )


def test_env_unset_with_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    data = {"title": "t", "target": {"type": "openai", "base_url": {
        "type": "env", "key": UNSET, "default": "http://127.0.0.1:9999/v1"}}}
    exp = parse_experiment(data, SRC)
    assert exp.target.base_url == "http://127.0.0.1:9999/v1"  # type: ignore[union-attr]


def test_env_set_wins_over_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SET, "http://127.0.0.1:7777/v1")
    data = {"title": "t", "target": {"type": "openai", "base_url": {
        "type": "env", "key": SET, "default": "http://127.0.0.1:9999/v1"}}}
    exp = parse_experiment(data, SRC)
    assert exp.target.base_url == "http://127.0.0.1:7777/v1"  # type: ignore[union-attr]


def test_env_value_still_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SET, "not-a-url")
    data = {"title": "t", "target": {"type": "openai", "base_url": {"type": "env", "key": SET}}}
    # the resolved value is validated; the message shows what the user wrote (the env ref)
    assert error_of(data) == (
        f"{SRC}: target.base_url: expected an http(s) URL such as "
        f"http://127.0.0.1:8080/v1 (got {{'type': 'env', 'key': '{SET}'}})"
    )


def test_api_key_from_env_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-core-test-0123456789abcdef"
    monkeypatch.setenv(SET, secret)
    data = {"title": "t", "target": {"type": "openai", "base_url": "http://127.0.0.1:8080/v1",
                                     "api_key": {"type": "env", "key": SET}}}
    exp = parse_experiment(data, SRC)
    key = exp.target.api_key  # type: ignore[union-attr]
    assert isinstance(key, SecretStr)
    assert key.get_secret_value() == secret
    assert secret not in repr(exp)
    assert secret not in str(exp)
    dumped = exp.model_dump_json()
    assert secret not in dumped
    assert json.loads(dumped)["target"]["api_key"] == "**********"


def test_literal_api_key_never_echoed_in_error() -> None:
    secret = 12345678901234567890
    data = {"title": "t", "target": {"type": "openai", "base_url": "http://127.0.0.1:8080/v1",
                                     "api_key": secret}}
    msg = error_of(data)
    assert msg.startswith(f"{SRC}: target.api_key: ")
    assert str(secret) not in msg, (
        f"BUG: a rejected api_key value is echoed in the error message: {msg!r}"
    )


def test_env_value_with_unknown_key_is_rejected() -> None:
    data = {"title": "t", "target": {"type": "openai", "base_url": {
        "type": "env", "key": SET, "dflt": "x"}}}
    msg = error_of(data)
    assert msg.startswith(f"{SRC}: target.base_url")


# ------------------------------------------------------------------ tolerances


def test_tolerance_without_bounds() -> None:
    data = {**MOCK, "steady-state-hypothesis": {"slos": {"success_rate": {}}}}
    assert error_of(data) == (
        f"{SRC}: steady-state-hypothesis.slos.success_rate: a tolerance needs min, max or both "
        f"(got {{}})"
    )


def test_tolerance_min_greater_than_max() -> None:
    data = {**MOCK, "steady-state-hypothesis": {"slos": {"latency_p95_s": {"min": 2, "max": 1}}}}
    assert error_of(data) == (
        f"{SRC}: steady-state-hypothesis.slos.latency_p95_s: min 2.0 is greater than max 1.0 "
        f"(got {{'min': 2, 'max': 1}})"
    )


def test_tolerance_holds_and_describes() -> None:
    data = {**MOCK, "steady-state-hypothesis": {"slos": {"answer_score": {"min": 0.5, "max": 0.9}}}}
    tol = parse_experiment(data, SRC).steady_state_hypothesis.slos.answer_score  # type: ignore[union-attr]
    assert tol is not None
    assert tol.holds(0.5) and tol.holds(0.9)
    assert not tol.holds(0.49) and not tol.holds(0.91) and not tol.holds(None)
    assert tol.describe() == ">= 0.5 and <= 0.9"


# ------------------------------------------------------------------ loading from a file


def test_relative_dataset_resolved_against_file_dir(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sub = tmp_path / "exps"
    sub.mkdir()
    p = write(sub, "title: t\ntarget: {type: mock}\ndataset: data/golden.yaml\n")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    exp = load_experiment(p)
    assert exp.dataset == str((sub / "data" / "golden.yaml").resolve())


def test_absolute_dataset_kept(tmp_path: Path) -> None:
    target = tmp_path / "golden.jsonl"
    p = write(tmp_path, f"title: t\ntarget: {{type: mock}}\ndataset: {target}\n")
    assert load_experiment(p).dataset == str(target)


def test_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    p = write(tmp_path, "title: demo\ntarget:\n  type: mock\n  answers: {hi: hello}\n")
    exp = load_experiment(p)
    assert isinstance(exp, Experiment)
    assert exp.title == "demo"
    assert exp.target.answers == {"hi": "hello"}  # type: ignore[union-attr]
    assert exp.runtime.seed == 42
    assert exp.layers.capability is not None and exp.layers.capability.scorer.type == "contains"


def test_error_from_file_names_the_file(tmp_path: Path) -> None:
    p = write(tmp_path, "title: t\ntarget: {type: mock}\nruntime: {seed: abc}\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(p)
    assert str(info.value) == f"{p}: runtime.seed: expected an integer (got 'abc')"


# ------------------------------------------------------------------ one line, always

BAD_INPUTS: list[Any] = [
    [1, 2],
    "multi\nline\nstring",
    {**MOCK, "scorr": 1},
    {**MOCK, "runtime": {"seed": "abc\ndef"}},
    {**MOCK, "title": "  \n  "},
    {"title": "t"},
    {"title": "t", "target": {"type": "grpc\nx"}},
    {"title": "t", "target": {"type": "openai", "base_url": "ftp://\nx"}},
    {**MOCK, "steady-state-hypothesis": {"slos": {"success_rate": {"min": 3, "max": 1}}}},
    {**MOCK, "layers": {"input_resilience": {"perturbations": "so\nme"}}},
    {"title": "t", "target": {"type": "http", "url": "http://127.0.0.1:9/x", "body": 5}},
    {"title": "t", "target": {"type": "python", "function": "no\ncolon"}},
]


@pytest.mark.parametrize("data", BAD_INPUTS)
def test_every_error_is_one_line(data: Any) -> None:
    msg = error_of(data)
    assert msg.startswith(f"{SRC}: ")
    assert "\n" not in msg and "\r" not in msg, msg


@pytest.mark.parametrize("text", [
    "title: t\n  target: x\n",
    "title: t\ntarget: [\n",
    "title: t\ntarget:\n  type: mock\n\tx: 1\n",
    "- a\n- b\n",
    "title: t\ntarget: {type: mock}\nlayers: {capability: {scorr: 1}}\n",
])
def test_every_file_error_is_one_line(tmp_path: Path, text: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_experiment(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: ")
    assert "\n" not in msg, msg
