"""Target configs: the shipped files load; a bad file is one line naming the file and the field."""

from pathlib import Path

import pytest

from bss_loadtest.client.config import TargetConfig, load_target_config
from bss_loadtest.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_contract():
    config = load_target_config(None)
    assert config.resource_paths()["orders"] == "/api/v1/orders"
    assert config.sort_for("products") == "createdAt,desc"
    assert config.expected_for("customers.create") == (201,)
    assert config.skipped() == frozenset()


def test_reference_yaml_equals_defaults():
    config = load_target_config(ROOT / "targets" / "reference.yaml")
    assert config.resource_paths() == TargetConfig().resource_paths()
    assert config.skipped() == frozenset()


def test_droid_spring_yaml():
    config = load_target_config(ROOT / "targets" / "droid-spring.yaml")
    assert config.sort_for("products") == "createdAt"
    assert config.sort_for("customers") == "createdAt,desc"
    assert {"orders.delete", "subscriptions.renew"} <= config.skipped()
    assert 200 in config.expected_for("invoices.create")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paths:\n  custmers: /x\n", "paths: unknown resource 'custmers'"),
        ("paths:\n  customers: /x/\n", "paths: customers: a base path starts with '/'"),
        ("skip:\n  - GET /api/nothing\n", "skip: unknown endpoint 'GET /api/nothing'"),
        ("accepted_statuses:\n  customers.create: [2001]\n", "accepted_statuses: customers.create: statuses"),
        ("accepted_statuses:\n  customers.create: two\n", "accepted_statuses.customers.create: Input should be a valid list"),
        ("sorting: {}\n", "sorting: Extra inputs are not permitted"),
        ("- a\n- b\n", "a target config is a mapping"),
        ("paths: [\n", "line "),
    ],
)
def test_bad_file_is_one_line_naming_file_and_field(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_target_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message, message
    assert info.value.exit_code == 104


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read target config"):
        load_target_config(tmp_path / "nope.yaml")
