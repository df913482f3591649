"""A file the user named (core/files.py): read whole or up to a bound, each problem one line of the
caller's class; hints to the page cache, best effort."""

from __future__ import annotations

import os

import pytest

from bss_loadtest.core.errors import ConfigError, InputError
from bss_loadtest.core.files import advise_page_cache, read_ahead, read_named_file


def test_a_file_within_its_bound_is_read_whole(tmp_path):
    path = tmp_path / "a.js"
    path.write_bytes(b"x" * 1024)
    assert read_named_file(path, shown="a.js", what="k6 script", error=ConfigError, limit=1024) == b"x" * 1024
    assert read_named_file(path, shown="a.js", what="k6 script", error=ConfigError) == b"x" * 1024


@pytest.mark.parametrize(("limit", "size"), [(1024, "1 KiB"), (2 * 1024 * 1024, "2 MiB"), (1000, "1000 bytes")])
def test_a_file_past_its_bound_is_refused_in_one_line(tmp_path, limit, size):
    path = tmp_path / "big.js"
    path.write_bytes(b"x" * (limit + 1))
    with pytest.raises(ConfigError) as info:
        read_named_file(path, shown="big.js", what="k6 script", error=ConfigError, limit=limit)
    assert info.value.message == f"big.js: larger than {size}; not a k6 script"


@pytest.mark.parametrize("error", [ConfigError, InputError])
def test_a_missing_file_or_a_directory_is_the_callers_error(tmp_path, error):
    with pytest.raises(error) as missing:
        read_named_file(tmp_path / "nope.json", shown="nope.json", what="summary file", error=error)
    assert missing.value.message == "nope.json: no such summary file"
    assert missing.value.exit_code == error.exit_code
    with pytest.raises(error) as directory:
        read_named_file(tmp_path, shown="runs", what="summary file", error=error, limit=10)
    assert directory.value.message == "runs: is a directory, not a summary file"


def test_any_other_os_error_says_why(tmp_path):
    (tmp_path / "file").write_text("{}")
    with pytest.raises(InputError) as info:  # a file's name used as a directory: NotADirectoryError
        read_named_file(tmp_path / "file" / "summary.json", shown="file/summary.json", what="summary file",
                        error=InputError)
    assert info.value.message == "file/summary.json: cannot read: Not a directory"


def test_a_read_ahead_is_asked_of_the_kernel_for_a_file_that_is_there(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("timestamp\n")
    assert read_ahead(path) is hasattr(os, "posix_fadvise")
    assert advise_page_cache(path, "DONTNEED") is hasattr(os, "posix_fadvise")


def test_a_page_cache_hint_is_best_effort(tmp_path):
    assert read_ahead(tmp_path / "missing.csv") is False
    assert advise_page_cache(tmp_path, "NO_SUCH_ADVICE") is False
