"""``bss-loadtest``: the suite's command line, and its one error boundary.

Every subcommand raises :class:`bss_loadtest.core.errors.SuiteError` for a user's mistake; :func:`main`
turns it into one line on stderr and the error's exit code. Heavy modules (locust, pandas,
matplotlib, the reference server) are imported only by the subcommands that need them.
"""

from __future__ import annotations

import argparse
import math
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import NoReturn

from bss_loadtest import __version__
from bss_loadtest.core import errors
from bss_loadtest.core.files import read_ahead

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def locustfile_dir() -> Path:
    """``loadtests/`` of the current directory, else of the source tree this package runs from."""
    for candidate in (Path.cwd() / "loadtests", PACKAGE_ROOT / "loadtests"):
        if (candidate / "profile_shape.py").is_file():
            return candidate
    raise errors.ConfigError("cannot find the loadtests/ directory; run from the repository root")


# -- locust runs ---------------------------------------------------------------------------------


def locust_command(
    *,
    profile: str,
    host: str,
    run_id: str,
    report_dir: str,
    time_scale: float | None = None,
    processes: int | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile_dir()),
        "--headless",
        "--profile",
        profile,
        "--host",
        host,
        "--fixed-run-id",
        run_id,
        "--report-dir",
        report_dir,
        "--only-summary",
    ]
    if time_scale is not None:
        command += ["--time-scale", str(time_scale)]
    if processes:
        command += ["--processes", str(processes)]
    return command + list(extra)


LOCUST_USAGE_ERROR = 2
"""Locust's exit code when its argument parser refuses the command line."""
PARSER_ERROR = re.compile(r"^\S+: error: (.*)$")
"""How argparse says what it refused (``locust: error: unrecognized arguments: --bogus``)."""


def run_locust(command: list[str], *, env: dict[str, str] | None = None) -> int:
    """Run Locust in the foreground and hand it SIGINT / SIGTERM, so an interrupted run still
    writes its partial result and no Locust process is left behind.

    Locust's stderr is passed through line by line, except its argument parser's usage text: when
    Locust refuses an option given after ``--``, that is one ``error:`` line (exit 104), not a page
    of usage."""
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, errors="replace")
    held: list[str] = []

    def relay() -> None:
        for line in process.stderr:
            if held or line.startswith("usage: ") or PARSER_ERROR.match(line):
                held.append(line)  # the parser's usage block and error, up to the exit
                continue
            sys.stderr.write(line)
            sys.stderr.flush()

    relaying = threading.Thread(target=relay, daemon=True)
    relaying.start()

    def forward(signum: int, frame: object) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    relaying.join(5)
    refused = [PARSER_ERROR.match(line) for line in held]
    refused = [match.group(1).strip() for match in refused if match]
    if code == LOCUST_USAGE_ERROR and refused:
        hints = [line.strip() for line in held if line.startswith("Did you mean")]
        raise errors.ConfigError(" ".join([f"locust: {refused[-1]}", *hints[:1]]))
    sys.stderr.writelines(held)
    return code


def new_run_id(prefix: str = "") -> str:
    import uuid
    from datetime import datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{stamp}-{uuid.uuid4().hex[:6]}"


# -- subcommands ---------------------------------------------------------------------------------


def cmd_reference_server(args: argparse.Namespace) -> int:
    from bss_reference import cli as reference_cli

    return reference_cli.run(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from bss_reference.process import ReferenceServerError

    try:
        return _demo(args)
    except ReferenceServerError as error:
        # The server's own last words are in the message; keep them on one line.
        raise errors.TargetError("the reference server did not start: " + " ".join(str(error).split())) from None


DEMO_LOAD_TIME_SCALE = 0.0625
"""The demo's ``load`` step: the 16-minute profile compressed to one minute."""


def _demo(args: argparse.Namespace) -> int:
    """The reference server, then the smoke pass and a minute of the ``load`` profile against it.

    ``--profile NAME`` runs that one profile instead. Stops after a step that could not run (bad
    configuration, target unreachable, interrupted); the exit code is the worst of the steps'.
    """
    from bss_reference.process import ReferenceServer

    report_dir = Path(args.report_dir)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise errors.ConfigError(f"--report-dir {report_dir}: {error.strerror or error}") from None
    if args.profile:
        steps = [(args.profile, args.time_scale)]
    else:
        steps = [("smoke", None), ("load", args.time_scale if args.time_scale is not None else DEMO_LOAD_TIME_SCALE)]
    db = report_dir / "demo-reference.db"
    print(f"Starting the reference BSS server (SQLite database {db}) ...", flush=True)
    done: list[tuple[str, str, int]] = []
    with ReferenceServer(port=0, db=str(db)) as server:
        for profile, time_scale in steps:
            run_id = new_run_id(f"demo-{_safe_name(profile)}-")
            scaled = f" (time scale {time_scale:g}: about {_planned_s(profile, time_scale)})" if time_scale else ""
            print(f"Reference server at {server.url}; running profile '{profile}'{scaled} against it", flush=True)
            code = run_locust(locust_command(profile=profile, host=server.url, run_id=run_id, report_dir=str(report_dir),
                                             time_scale=time_scale, extra=["--prometheus-port", "0"]))
            done.append((profile, run_id, code))
            if code not in (errors.OK, errors.THRESHOLDS_CROSSED):
                break
    print("Reference server stopped.")
    for profile, run_id, code in done:
        report = report_dir / "runs" / run_id / "report.html"
        print(f"  {profile}: {report}{'' if report.exists() else '  (missing)'}  (exit code {code}: {_explain_exit(code)})")
    print("  (beside each report: summary.json and history.csv)")
    locust = _shown(Path(sys.executable).parent / "locust")
    print(f"Web UI: start a target ({_shown(Path(sys.executable).parent / 'bss-loadtest')} reference-server), then "
          f"{locust} -f loadtests --host http://127.0.0.1:8080 and open http://127.0.0.1:8089")
    worst = max(code for _, _, code in done)
    print(f"Exit code {worst}: " + _explain_exit(worst))
    return worst


def _safe_name(text: str) -> str:
    """A profile name or path as part of a run id (letters, digits, '-', '_')."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(text).stem) or "run"


def _planned_s(profile: str, time_scale: float) -> str:
    """The profile's planned length at ``time_scale`` (``60 s``), or ``?`` when it cannot be read here."""
    from bss_loadtest.core import profiles

    try:
        total = profiles.load_profile(profile).total_duration_s * time_scale
    except (errors.SuiteError, OSError):
        return "?"
    return f"{total:.0f} s" if total < 120 else f"{total / 60:.0f} min"


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when it is below it (``.venv/bin/locust``)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _run_command(args: argparse.Namespace, run_id: str) -> list[str]:
    """The locust command line of ``run`` and ``nightly`` (options from _add_run_arguments)."""
    return locust_command(
        profile=args.profile,
        host=args.host,
        run_id=run_id,
        report_dir=str(args.report_dir),
        time_scale=args.time_scale,
        processes=args.processes,
        extra=args.locust_args,
    )


def _summary_export_target(args: argparse.Namespace) -> Path | None:
    """``--summary-export FILE``, checked before the run starts (a bad path costs no run)."""
    if args.summary_export is None:
        return None
    from bss_loadtest.k6.summary_export import check_export_path

    return check_export_path(args.summary_export)


def _write_summary_export(target: Path | None, run_dir: Path) -> bool:
    """k6's summary-export JSON of the finished run; False when it could not be written (said in one line)."""
    if target is None or not (run_dir / "summary.json").is_file():
        return True  # no results (bad configuration, target unreachable): nothing to export, as in k6
    from bss_loadtest.k6.summary_export import write_summary_export

    try:
        notes = write_summary_export(run_dir, target)
    except errors.USER_ERRORS as error:
        errors.report(error)
        return False
    for note in notes:
        print(f"warning: --summary-export {target}: {note}", file=sys.stderr)
    print(f"k6 summary export: {target}")
    return True


def cmd_run(args: argparse.Namespace) -> int:
    from bss_loadtest.core.run_ids import check_run_id

    run_id = check_run_id(args.run_id, "--run-id") if args.run_id else new_run_id()
    export = _summary_export_target(args)
    code = run_locust(_run_command(args, run_id))
    if not _write_summary_export(export, Path(args.report_dir) / "runs" / run_id) and code == errors.OK:
        code = errors.INVALID_CONFIG  # as --junit: a result file that cannot be written is exit 104
    print(f"Run {run_id}: exit code {code} ({_explain_exit(code)})")
    return code


def cmd_profiles(args: argparse.Namespace) -> int:
    from bss_loadtest.core import profiles

    if args.action == "check":
        if not args.file:
            raise errors.ConfigError("profiles check: name the profile file to check")
        profile = profiles.load_profile(args.file, user_classes=_user_class_names(), endpoints=_endpoints())
        shape = (f"{len(profile.scenarios)} scenarios, {profile.peak_users} users" if profile.scenarios
                 else f"{len(profile.stages)} stages")
        print(f"{args.file}: OK ({shape}, {profile.total_duration_s:.0f} s, "
              f"{len(profile.thresholds)} threshold metrics)")
        return errors.OK
    for info in profiles.list_profiles():
        print(profiles.format_profile_info(info) if hasattr(profiles, "format_profile_info") else info)
    return errors.OK


def cmd_import_k6(args: argparse.Namespace) -> int:
    """A k6 script's options as a profile: ``k6 inspect``, the mapping, validation, an atomic write."""
    from bss_loadtest.k6 import importer
    from bss_loadtest.k6.inspect import inspect_script, read_script

    users = importer.parse_users(args.users) if args.users is not None else None
    read_script(args.script)
    to_stdout = args.output == "-"
    output = Path(args.output) if args.output and not to_stdout else importer.default_output(args.script)
    if not to_stdout:
        if args.output is None and not output.parent.is_dir():
            raise errors.ConfigError(f"{output}: there is no profiles/ directory here; run from the repository "
                                     "root or name the file to write with -o")
        importer.check_output(output, force=args.force)
    inspection = inspect_script(args.script)
    result = importer.import_inspection(
        inspection, script_shown=args.script, output_shown="-" if to_stdout else str(output), users=users,
        user_classes=_user_class_names(), endpoints=_endpoints())
    for warning in result.warnings:
        print(f"warning: {args.script}: {warning}", file=sys.stderr)
    if to_stdout:
        sys.stdout.write(result.text)
        return errors.OK
    importer.write_profile(result.text, output, force=args.force)
    print(f"Wrote {output} ({result.shape}; {len(result.profile.parsed_thresholds)} thresholds, "
          f"{len(result.warnings)} not carried over). Check it with: bss-loadtest profiles check {output}; "
          f"run it with: bss-loadtest run --profile {output} --host URL")
    return errors.OK


def _user_class_names() -> list[str]:
    """User classes defined in loadtests/, read without importing Locust."""
    import ast

    names = []
    for path in sorted(locustfile_dir().glob("*.py")):
        if path.name.startswith("_"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name.endswith("User"):
                abstract = any(
                    isinstance(stmt, ast.Assign)
                    and any(getattr(t, "id", None) == "abstract" for t in stmt.targets)
                    and getattr(stmt.value, "value", False) is True
                    for stmt in node.body
                )
                if not abstract:
                    names.append(node.name)
    return names


def _endpoints() -> list[str]:
    from bss_loadtest.client.endpoints import endpoint_names

    return endpoint_names()


def cmd_baseline(args: argparse.Namespace) -> int:
    from bss_loadtest.reports import baseline

    root = Path(args.report_dir) / "baselines"
    if args.action == "save":
        if not args.run_dir:
            raise errors.InputError("baseline save: name the run directory to save")
        path = baseline.save_baseline(Path(args.run_dir), root, note=args.note, force=args.force)
        print(f"Saved baseline {path}")
        return errors.OK
    print(baseline.format_baseline_list(baseline.list_baselines(root, profile=args.profile)))
    return errors.OK


def cmd_compare(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    read_ahead((run_dir if run_dir.is_dir() else run_dir.parent) / "history.csv")
    from bss_loadtest.reports import compare

    comparison, paths = compare.run_compare(
        Path(args.run_dir),
        args.baseline,
        baselines_root=Path(args.report_dir) / "baselines",
        out_dir=Path(args.out) if args.out else None,
    )
    print(compare.to_markdown(comparison))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return compare.exit_code(comparison)


def cmd_nightly(args: argparse.Namespace) -> int:
    export = _summary_export_target(args)
    exported: list[bool] = []
    code = _nightly(args, export, exported)
    return errors.INVALID_CONFIG if code == errors.OK and not all(exported) else code


def _nightly(args: argparse.Namespace, export: Path | None, exported: list[bool]) -> int:
    from bss_loadtest.reports import baseline, compare, history, results

    run_id = new_run_id("nightly-")
    report_dir = Path(args.report_dir)
    run_code = run_locust(_run_command(args, run_id))
    run_dir = report_dir / "runs" / run_id
    exported.append(_write_summary_export(export, run_dir))
    if not (run_dir / "summary.json").exists():
        if run_code in (errors.INVALID_CONFIG, errors.TARGET_UNREACHABLE):
            return run_code  # Locust has said why, in its one error: line
        raise errors.SuiteError(
            f"the run wrote no results (locust exit code {run_code}); see its output above",
            exit_code=run_code if run_code not in (0, 1) else errors.INVALID_CONFIG,
        )
    summary = results.load_summary(run_dir)
    if run_code == errors.INTERRUPTED or (summary.partial_reason or "").startswith("interrupted"):
        # Not a night: an interrupted run stays out of the history, the trend and the compare.
        print(f"Run {run_id} was interrupted: not recorded as a night (its partial results are in {run_dir})")
        return errors.INTERRUPTED
    history_path = report_dir / "history.csv"
    history.append_history(summary, history_path)
    trend = history.write_trend(history_path, profile=summary.profile, last_n=args.last, out_dir=report_dir)
    print(f"History: {history_path}; trend report: {trend}")
    root = report_dir / "baselines"
    if not baseline.has_baselines(root, profile=summary.profile):  # nothing is parsed to know
        print(f"No baseline for profile '{summary.profile}' yet: nothing to compare. "
              f"Save this run as the first one with: bss-loadtest baseline save {run_dir}")
        return run_code if run_code == errors.THRESHOLDS_CROSSED else errors.OK
    comparison, paths = compare.run_compare(run_dir, "latest", baselines_root=root)
    print(compare.to_markdown(comparison))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    code = compare.exit_code(comparison)
    if code == errors.OK and run_code == errors.THRESHOLDS_CROSSED:
        return run_code
    return code


def _explain_exit(code: int) -> str:
    return {
        errors.OK: "all thresholds passed",
        errors.REGRESSION: "regression against the baseline",
        errors.BAD_INPUT: "bad input",
        errors.THRESHOLDS_CROSSED: "a threshold was crossed",
        errors.INVALID_CONFIG: "invalid configuration",
        errors.TARGET_UNREACHABLE: "target unreachable",
        errors.INTERRUPTED: "interrupted",
    }.get(code, "see the output above")


# -- parser ----------------------------------------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake the suite's way: a :class:`ConfigError`, which the
    boundary prints as one ``error:`` line, exit code 104 (argparse: usage text and exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise errors.ConfigError(f"{self.prog}: {message} (see {self.prog} --help)")


def _processes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of worker processes, at least 1 (-1: one per CPU)")
    return value


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: a finite number greater than 0, e.g. 0.1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="bss-loadtest",
        description="Load tests for the BSS backend on Locust: reference server, profiles, reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("reference-server", help="run the reference BSS server in the foreground")
    from bss_reference import cli as reference_cli

    reference_cli.configure_parser(p)
    p.set_defaults(func=cmd_reference_server)

    p = sub.add_parser("demo", help="start the reference server, run the smoke pass and a minute of 'load' against it")
    p.add_argument("--profile", default=None, help="run only this profile (default: smoke, then load)")
    p.add_argument("--time-scale", type=_time_scale, default=None,
                   help=f"compress the profile's durations (default for the load step: {DEMO_LOAD_TIME_SCALE:g}, about 60 s)")
    p.add_argument("--report-dir", default="reports")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run a profile headless against a host (wraps locust)")
    _add_run_arguments(p)
    p.add_argument("--run-id", default="", help="run id (default: generated)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("profiles", help="list the profiles, or check one file")
    p.add_argument("action", nargs="?", choices=["list", "check"], default="list")
    p.add_argument("file", nargs="?", help="profile name or path (for check)")
    p.set_defaults(func=cmd_profiles)

    p = sub.add_parser("import-k6", help="write a profile from a k6 script's options (k6 inspect)")
    p.add_argument("script", help="the k6 script (.js)")
    p.add_argument("-o", "--output", default=None,
                   help="the profile file to write (default: profiles/<script name>.yaml; - for stdout)")
    p.add_argument("--users", default=None, metavar="CLASS=WEIGHT,...",
                   help="the user mix, e.g. CustomerUser=3,OrderUser=1 (default: the mix of profiles/load.yaml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing profile file")
    p.set_defaults(func=cmd_import_k6)

    p = sub.add_parser("baseline", help="save a run as a baseline, or list the baselines")
    p.add_argument("action", choices=["save", "list"])
    p.add_argument("run_dir", nargs="?", help="run directory (for save)")
    p.add_argument("--profile", default=None, help="only this profile (for list)")
    p.add_argument("--note", default=None, help="a note stored with the baseline")
    p.add_argument("--force", action="store_true", help="save even a partial run")
    p.add_argument("--report-dir", default="reports")
    p.set_defaults(func=cmd_baseline)

    p = sub.add_parser("compare", help="compare a run with a baseline; exit 1 on a regression")
    p.add_argument("run_dir")
    p.add_argument("--baseline", default="latest",
                   help="'latest' (default: the newest saved baseline of the run's profile), a baseline file, "
                        "or another run: its directory or its summary.json")
    p.add_argument("--out", default=None, help="output directory (default: RUN_DIR/compare)")
    p.add_argument("--report-dir", default="reports")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("nightly", help="run a profile, compare with the latest baseline, update the trend")
    _add_run_arguments(p)
    p.add_argument("--last", type=int, default=14, help="nights in the trend report")
    p.set_defaults(func=cmd_nightly)
    return parser


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", required=True, help="profile name or path")
    p.add_argument("--host", required=True, help="base URL of the BSS backend")
    p.add_argument("--time-scale", type=_time_scale, default=None)
    p.add_argument("--processes", type=_processes, default=None, help="Locust worker processes (-1: one per CPU)")
    p.add_argument("--report-dir", default="reports")
    p.add_argument("--summary-export", default=None, metavar="FILE",
                   help="also write the run's numbers as k6's --summary-export JSON (checked before the run starts)")
    p.add_argument("locust_args", nargs=argparse.REMAINDER, help="after --: more locust options")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run the subcommand, return its exit code; a usage mistake is one ``error:`` line too."""
    try:
        with errors.boundary():
            args = build_parser().parse_args(argv)
            if getattr(args, "locust_args", None) and args.locust_args[0] == "--":
                args.locust_args = args.locust_args[1:]
            return int(args.func(args) or 0)
    except SystemExit as done:  # the boundary's exit code, or --help / --version
        return done.code if isinstance(done.code, int) else int(bool(done.code))

if __name__ == "__main__":
    sys.exit(main())
