"""deploy/kubernetes: every manifest valid against a fixed Kubernetes schema (kubernetes-validate,
offline), the kustomizations complete, the profiles ConfigMap in step with profiles/, and every
container command made of options the suite really has (Locust's parser with the suite's own
options), with the same guards a run applies at start-up (/metrics and the web UI exposure)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.31.0"
"""The schema the manifests are checked against (one kubernetes-validate ships; fixed, so a new
release of the package cannot change the verdict)."""
KUSTOMIZATION = "kustomization.yaml"
NOT_APPLIED = {"secret.example.yaml"}
"""Manifests on purpose in no kustomization (the client secret is never kept in the repository)."""


def manifest_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*.yaml") if p.name != KUSTOMIZATION)


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def all_documents() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in manifest_files() for doc in documents(path)]


def pod_specs() -> list[tuple[str, dict]]:
    specs = []
    for path, doc in all_documents():
        spec = doc.get("spec", {})
        if doc["kind"] in ("Deployment", "Job"):
            specs.append((f"{path.relative_to(DEPLOY)} {doc['metadata']['name']}", spec["template"]["spec"]))
    return specs


def suite_containers() -> list[tuple[str, dict]]:
    return [(f"{where} {c['name']}", c) for where, spec in pod_specs() for c in spec["containers"]
            if c["image"] == "bss-loadtest"]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_manifest_is_valid_kubernetes(path):
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    assert KUBERNETES_VERSION in kubernetes_validate.utils.all_versions()
    docs = documents(path)
    assert docs, path
    for doc in docs:
        # strict: a misspelt or misplaced field is an error, not ignored.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomizations_name_every_manifest_and_nothing_else():
    referenced: set[Path] = set()
    kustomizations = sorted(DEPLOY.rglob(KUSTOMIZATION))
    assert DEPLOY / KUSTOMIZATION in kustomizations and DEPLOY / "ci" / KUSTOMIZATION in kustomizations
    for kustomization in kustomizations:
        data = yaml.safe_load(kustomization.read_text())
        assert data["kind"] == "Kustomization"
        for resource in data["resources"]:
            target = (kustomization.parent / resource).resolve()
            assert target.exists(), f"{kustomization}: {resource} does not exist"
            if target.is_dir():
                assert (target / KUSTOMIZATION).is_file(), f"{kustomization}: {resource} is no kustomization"
            else:
                # kustomize refuses a file outside the kustomization's own directory tree.
                assert kustomization.parent.resolve() in target.parents, f"{kustomization}: {resource}"
                referenced.add(target)
    for path in manifest_files():
        if path.name in NOT_APPLIED:
            assert path.resolve() not in referenced
        else:
            assert path.resolve() in referenced, f"{path.relative_to(DEPLOY)} is in no kustomization"


def test_profiles_configmap_is_in_step_with_profiles():
    result = subprocess.run([sys.executable, str(DEPLOY / "profiles_configmap.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (config_map,) = documents(DEPLOY / "base" / "profiles-configmap.yaml")
    on_disk = {p.name: p.read_text() for p in (ROOT / "profiles").glob("*.yaml")}
    assert config_map["data"] == on_disk


def test_references_between_manifests_resolve():
    names = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in all_documents()}
    settings = names[("ConfigMap", "bss-loadtest-settings")]["data"]
    secret = names[("Secret", "bss-loadtest-credentials")]["stringData"]
    services = {name for kind, name in names if kind == "Service"}
    for where, spec in pod_specs():
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names, where
        for container in spec["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            for entry in env.values():
                source = entry.get("valueFrom", {})
                if "configMapKeyRef" in source:
                    assert source["configMapKeyRef"]["key"] in settings, (where, entry)
                if "secretKeyRef" in source:
                    assert source["secretKeyRef"]["key"] in secret, (where, entry)
            # The secret reaches every process through its environment, never a command line.
            assert "BSS_CLIENT_SECRET" in env and "--client-secret" not in container["args"], where
            args = container["args"]
            for value in args:
                if value.startswith("$(") and value.endswith(")"):
                    assert value[2:-1] in env, f"{where}: {value} is not in the container's env"
            if "--master-host" in args:
                assert args[args.index("--master-host") + 1] in services, where
    # The CI master waits for as many workers as its worker Job runs.
    workers = names[("Job", "bss-loadtest-ci-workers")]["spec"]
    assert int(settings["BSS_EXPECT_WORKERS"]) == workers["parallelism"] == workers["completions"]
    job = names[("Job", "bss-loadtest-ci")]["spec"]
    assert job["backoffLimit"] == 0 and job["template"]["spec"]["restartPolicy"] == "Never"


PARSE = r"""
import json, sys
from locust.argument_parser import get_parser
from bss_loadtest.client import options as client_options
from bss_loadtest.core import errors
from bss_loadtest.run import options as suite_options, preflight

parser = get_parser(default_config_files=[])
suite_options.add_arguments(parser)
client_options.add_arguments(parser)
verdicts = {}
for where, args in json.load(sys.stdin).items():
    try:
        parsed, unknown = parser.parse_known_args(args)
    except SystemExit:
        verdicts[where] = {"error": "the parser refused the command line"}
        continue
    # Exact names only: argparse takes an unambiguous prefix, which a later option can make ambiguous.
    problems = [f"{a}: not the option's full name" for a in args
                if a.startswith("--") and a.split("=")[0] not in parser._option_string_actions and a not in unknown]
    for check in (preflight.check_numbers, preflight.check_metrics, preflight.check_web_ui):
        try:
            check(parsed)
        except errors.SuiteError as error:
            problems.append(error.message)
    verdicts[where] = {"unknown": unknown, "problems": problems, "master": parsed.master, "worker": parsed.worker,
                       "headless": parsed.headless, "expect_workers": parsed.expect_workers}
print(json.dumps(verdicts))
"""


def parse_commands(commands: dict[str, list[str]]) -> dict:
    """Parse each command line with Locust's parser and the suite's options, in a process of its
    own (importing Locust patches the standard library of the process that imports it)."""
    result = subprocess.run([sys.executable, "-c", PARSE], input=json.dumps(commands), capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def expanded(container: dict) -> list[str]:
    """The container's args with $(VAR) replaced by a value of the kind it stands for."""
    examples = {"POD_IP": "10.1.2.3", "BSS_HOST": "http://bss-backend:8080", "BSS_PROFILE": "load",
                "BSS_EXPECT_WORKERS": "2"}
    return [examples.get(a[2:-1], a) if a.startswith("$(") else a for a in container["args"]]


def test_every_command_names_options_the_suite_has_and_passes_its_guards():
    containers = dict(suite_containers())
    assert len(containers) == 4, sorted(containers)
    verdicts = parse_commands({where: expanded(c) for where, c in containers.items()})
    for where, verdict in verdicts.items():
        assert verdict.get("unknown") == [] and verdict.get("problems") == [], (where, verdict)
    roles = {where: (v["master"], v["worker"], v["headless"]) for where, v in verdicts.items()}
    assert sorted(roles.values()) == sorted([(True, False, False), (False, True, False), (True, False, True),
                                             (False, True, False)]), roles


def test_the_guard_is_what_the_parse_check_applies():
    """The check above would catch a pod address for /metrics without --expose-metrics."""
    verdicts = parse_commands({
        "no flag": ["-f", "loadtests", "--master", "--prometheus-host", "10.1.2.3"],
        "typo": ["-f", "loadtests", "--master", "--expose-metricz"],
        "abbreviated": ["-f", "loadtests", "--master", "--expose-metric"],
    })
    assert any("--expose-metrics" in p for p in verdicts["no flag"]["problems"]), verdicts
    assert verdicts["typo"]["unknown"] == ["--expose-metricz"], verdicts
    assert verdicts["abbreviated"]["problems"] == ["--expose-metric: not the option's full name"], verdicts


def test_metrics_bind_to_the_pod_address_and_the_web_ui_stays_on_loopback():
    for where, container in suite_containers():
        args = container["args"]
        if "--master" not in args:
            continue
        assert args[args.index("--prometheus-host") + 1] == "$(POD_IP)" and "--expose-metrics" in args, where
        assert "--web-host" not in args and "--expose-web-ui" not in args, where
        env = {e["name"]: e for e in container["env"]}
        assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"master": 5557, "metrics": 9646}, where
        assert container["readinessProbe"]["tcpSocket"]["port"] == "master", where
    for _where, container in suite_containers():
        assert container["resources"]["requests"] and container["resources"]["limits"]


@pytest.mark.parametrize("kustomization, kinds", [
    ("", {"ConfigMap": 2, "Service": 1, "Deployment": 2}),
    ("ci", {"ConfigMap": 2, "Service": 1, "Job": 2}),
], ids=["interactive", "ci"])
def test_kustomize_renders_valid_manifests(kustomization, kinds):
    """What ``kubectl apply -k`` would send, rendered offline by kubectl's own kustomize."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / kustomization)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert Counter(doc["kind"] for doc in rendered) == kinds
    for doc in rendered:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "bss-loadtest"
        spec = doc.get("spec", {}).get("template", {}).get("spec")
        for container in (spec or {}).get("containers", []):
            assert container["image"] == "bss-loadtest:0.1.0"
