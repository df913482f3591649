"""Run every benchmark in bench/ with one command and print their figures and ratios.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME[,NAME...]] [--json FILE]
    ./dev bench [--quick] [--only NAME]

NAME is one of the generator benchmarks of ``bench/generators.py`` (throughput, profile, memory,
percentiles, scaling) or a colleague's script (reference_server, client_overhead, report_speed,
prometheus_overhead, many_users, wire_accuracy, memory_real_run); those scripts run when they exist, with
shorter arguments under ``--quick`` (memory_real_run is a real 30-minute run; 2 minutes under ``--quick``).
A missing tool (nginx, k6, taskset, py-spy, tshark) is one line saying which package to install; the
benchmarks that do not need it still run. Exit code: 0 when every benchmark ran, 1 otherwise.
Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import _harness as h  # noqa: E402

GENERATOR_STEPS = ("throughput", "profile", "memory", "percentiles", "scaling")
TOOLS = {"throughput": ("nginx", "taskset", "k6"), "profile": ("nginx", "taskset", "py-spy"),
         "memory": ("nginx", "taskset"), "percentiles": ("nginx", "taskset", "k6"),
         "scaling": ("nginx", "taskset"), "client_overhead": ("taskset",), "reference_server": ("taskset",),
         "wire_accuracy": ("tshark",)}

# Colleagues' scripts: (full arguments, --quick arguments).
OTHERS = {
    "reference_server": ([], ["--duration", "10"]),
    "client_overhead": ([], ["--seconds", "5", "--rounds", "2"]),
    "report_speed": ([], ["--cold", "2", "--warm", "1"]),
    "prometheus_overhead": ([], ["--records", "300000", "--scrapes", "10"]),
    "many_users": ([], ["--users", "2000", "--seconds", "40"]),
    "wire_accuracy": ([], ["--users", "20,200", "--seconds", "20"]),
    "memory_real_run": ([], ["--minutes", "2", "--sample", "10", "--warmup", "0.5"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a few minutes in all)")
    parser.add_argument("--only", default="", help="comma-separated names: " + ", ".join((*GENERATOR_STEPS, *OTHERS)))
    parser.add_argument("--json", default="", help="write the generator figures as JSON to this file")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.only.split(",") if n.strip()] or [*GENERATOR_STEPS, *OTHERS]
    unknown = [n for n in names if n not in GENERATOR_STEPS and n not in OTHERS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    print(f"machine: {h.machine()}", flush=True)
    failed: list[str] = []
    reported: set[str] = set()
    for name in names:
        missing = [line for line in h.missing_tools(*TOOLS.get(name, ())) if line not in reported]
        reported.update(missing)
        if h.missing_tools(*TOOLS.get(name, ())):
            for line in missing:
                print(line)
            print(f"== {name}: skipped (missing tool)\n", flush=True)
            failed.append(name)
            continue
        if name in GENERATOR_STEPS:
            command = [sys.executable, str(BENCH / "generators.py"), name] + (["--quick"] if args.quick else [])
            if args.json:
                command += ["--json", f"{args.json}.{name}.json"]
        else:
            script = BENCH / f"{name}.py"
            if not script.exists():
                print(f"== {name}: bench/{name}.py does not exist, skipped\n", flush=True)
                continue
            full, quick = OTHERS[name]
            command = [sys.executable, str(script), *(quick if args.quick else full)]
        print(f"== {name}: {' '.join(Path(c).name if c == sys.executable else c for c in command)}", flush=True)
        start = time.monotonic()
        rc = subprocess.run(command, cwd=BENCH.parent).returncode
        print(f"== {name}: exit {rc}, {time.monotonic() - start:.0f} s\n", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print("not completed (or returned non-zero): " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
