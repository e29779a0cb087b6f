"""``settings.py``: variables → typed settings, and ``.dev.vars`` as wrangler (dotenv) reads it."""

from __future__ import annotations

import pytest

from openai_workers_ai.errors import APIError
from openai_workers_ai.settings import Settings, read_dev_vars


def test_defaults_refuse_everyone() -> None:
    settings = Settings()
    assert settings.access_token == () and settings.auth_disabled is False
    assert settings.cors_allow_origins == ("*",)


def test_from_mapping_converts_each_type() -> None:
    s = Settings.from_mapping({
        "ACCESS_TOKEN": "sk-a, sk-b,,sk-c ",
        "ADMIN_TOKENS": "sk-admin",
        "MAX_JSON_BYTES": "1024",
        "MODEL_ALIASES": '{"fast": "@cf/meta/llama-3.1-8b-instruct-fast"}',
        "CORS_ALLOW_ORIGINS": "https://a.example, https://b.example",
        "DEFAULT_MODEL": "@cf/qwen/qwq-32b",
        "CLOUDFLARE_ACCOUNT_ID": "acc",
        "UNRELATED": "ignored",
    })
    assert s.access_token == ("sk-a", "sk-b", "sk-c")
    assert s.admin_tokens == ("sk-admin",)
    assert s.max_json_bytes == 1024
    assert s.model_aliases == {"fast": "@cf/meta/llama-3.1-8b-instruct-fast"}
    assert s.cors_allow_origins == ("https://a.example", "https://b.example")
    assert s.default_model == "@cf/qwen/qwq-32b" and s.cloudflare_account_id == "acc"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("Yes", True), ("on", True),
                                                ("0", False), ("false", False), ("no", False)])
def test_booleans(raw: str, expected: bool) -> None:
    assert Settings.from_mapping({"AUTH_DISABLED": raw}).auth_disabled is expected


def test_empty_values_keep_defaults_and_overrides_win() -> None:
    s = Settings.from_mapping({"MAX_JSON_BYTES": "", "ACCESS_TOKEN": "a"}, access_token=("b",))
    assert s.max_json_bytes == Settings().max_json_bytes
    assert s.access_token == ("b",)


@pytest.mark.parametrize(("name", "raw"), [("MAX_JSON_BYTES", "lots"), ("MODEL_ALIASES", "not json"),
                                           ("MODEL_ALIASES", '["a"]'), ("MODEL_ALIASES", '{"a": 1}')])
def test_invalid_values_name_the_variable(name: str, raw: str) -> None:
    with pytest.raises(APIError, match=name):
        Settings.from_mapping({name: raw})


def test_read_dev_vars() -> None:
    text = """
# a comment
ACCESS_TOKEN=sk-one,sk-two
export ADMIN_TOKENS = sk-admin
QUOTED="with spaces # not a comment"
SINGLE='x=y'
INLINE=value # trailing comment
QUOTED_COMMENT="a b" # comment
EMPTY=
EQUALS=a=b=c
not a variable line
"""
    assert read_dev_vars(text) == {
        "ACCESS_TOKEN": "sk-one,sk-two",
        "ADMIN_TOKENS": "sk-admin",
        "QUOTED": "with spaces # not a comment",
        "SINGLE": "x=y",
        "INLINE": "value",
        "QUOTED_COMMENT": "a b",
        "EMPTY": "",
        "EQUALS": "a=b=c",
    }


def test_crlf_dev_vars() -> None:
    assert read_dev_vars("A=1\r\nB=2\r\n") == {"A": "1", "B": "2"}
