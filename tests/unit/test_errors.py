"""What an error message may quote: bounded, one line."""

from bss_loadtest.core import errors


def test_quote_bounds_a_long_value_and_never_expands_a_container():
    assert errors.quote("abc") == "'abc'"
    long = errors.quote("x" * 10_000)
    assert len(long) <= errors.QUOTE_CHARS and long.endswith("…")
    assert errors.quote([[1] * 1000] * 1000) == "a list of 1000"
    assert errors.quote({"a": 1}) == "a dict of 1"


def test_one_line_joins_lines_and_bounds_the_length():
    assert errors.one_line("a\n  b\tc") == "a b c"
    assert len(errors.one_line("y " * 10_000)) == errors.MESSAGE_CHARS


def test_report_prints_one_bounded_line(capsys):
    assert errors.report(errors.ConfigError("bad\n" + "z" * 10_000)) == errors.INVALID_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: bad z") and len(err) <= errors.MESSAGE_CHARS + 8
