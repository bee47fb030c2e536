"""Env files are read as docker compose reads an env_file."""

import pytest

from settings.envfile import EnvFileError, read_env_file


def parse(tmp_path, text):
    path = tmp_path / "x.env"
    path.write_text(text)
    return read_env_file(path)


def test_values_as_compose_reads_them(tmp_path):
    assert parse(tmp_path, "\n".join([
        "# a comment",
        "",
        "PLAIN=value",
        "SPACED =  trimmed value  ",
        'DOUBLE="quoted # not a comment"',
        "SINGLE='literal \\n $HOME'",
        'ESCAPES="a\\nb\\t\\"c\\""',
        "INLINE=value # a comment",
        "HASH=a#b",
        "export EXPORTED=yes",
        "EMPTY=",
        'EMPTY_QUOTED=""',
        'QUOTED_THEN_COMMENT="v" # c',
        "EQUALS=a=b",
    ])) == {
        "PLAIN": "value", "SPACED": "trimmed value", "DOUBLE": "quoted # not a comment",
        "SINGLE": "literal \\n $HOME", "ESCAPES": 'a\nb\t"c"', "INLINE": "value", "HASH": "a#b",
        "EXPORTED": "yes", "EMPTY": "", "EMPTY_QUOTED": "", "QUOTED_THEN_COMMENT": "v", "EQUALS": "a=b",
    }


@pytest.mark.parametrize("line, words", [
    ("NOVALUE", "expected KEY=VALUE"),
    ("BAD KEY=x", "expected KEY=VALUE"),
    ('OPEN="never closed', "no closing"),
    ('TRAILING="v" junk', "after the closing quote"),
])
def test_a_bad_line_is_named_with_its_file_and_number(tmp_path, line, words):
    with pytest.raises(EnvFileError) as error:
        parse(tmp_path, f"OK=1\n{line}\n")
    assert "x.env:2: " in str(error.value) and words in str(error.value)
