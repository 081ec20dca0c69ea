"""Mutation check over the core modules (hack/mutants runs this with the project's venv).

mutmut derives module names from file paths and strips only "src.", so the run happens in a staged copy
laid out as src/oci_operator (plus tests, crds, charts, config and pyproject.toml, whose [tool.mutmut]
section configures it). The unit tier is the test suite. Per module, the mutants not killed (survived,
or reached by no unit test) are compared with hack/mutants-ceiling.json: more than the ceiling fails.

  --ci (default)  the CI-sized run: the modules in CI_MODULES, a few minutes
  --full          every module of [tool.mutmut] only_mutate (nightly-sized)
  --update        write the counts of this run into the ceiling file instead of checking them
  --workdir DIR   stage there (kept afterwards, for `mutmut show NAME` / `mutmut browse` inside it)
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CEILING = ROOT / "hack" / "mutants-ceiling.json"
# The CI-sized run: the crash-safe executor, root device hints, BMC governance and credentials.
CI_MODULES = [
    "src/oci_operator/reconcilers/executor.py",
    "src/oci_operator/reconcilers/root_device.py",
    "src/oci_operator/bmc/governor.py",
    "src/oci_operator/bmc/credentials.py",
]
# mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code).
KILLED, SURVIVED, NO_TESTS, TIMEOUT = {1, 3}, {0}, {5, 33}, {24, -24, 36, 152, 255}


def stage(workdir: Path, modules: list[str] | None) -> None:
    (workdir / "src").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "operator" / "oci_operator", workdir / "src" / "oci_operator", ignore=ignore)
    for name in ("tests", "crds", "charts", "config"):
        shutil.copytree(ROOT / name, workdir / name, ignore=ignore)
    pyproject = (ROOT / "pyproject.toml").read_text()
    if modules is not None:
        listed = "only_mutate = [\n" + "".join(f'  "{m}",\n' for m in modules) + "]"
        pyproject, count = re.subn(r"(?ms)^only_mutate = \[.*?^\]", listed, pyproject)
        if count != 1:
            sys.exit("hack/mutants: pyproject.toml has no [tool.mutmut] only_mutate list")
    (workdir / "pyproject.toml").write_text(pyproject)


def module_name(meta: Path, workdir: Path) -> str:
    relative = meta.relative_to(workdir / "mutants" / "src").as_posix().removesuffix(".py.meta")
    return relative.replace("/", ".")


def results(workdir: Path) -> dict[str, dict[str, int]]:
    """Per module: generated, killed, survived, no tests, timeout, other (mutmut's own .meta files)."""
    figures: dict[str, dict[str, int]] = {}
    for meta in sorted((workdir / "mutants" / "src").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"].values()
        counts = collections.Counter(
            "killed" if c in KILLED else "survived" if c in SURVIVED else "no tests" if c in NO_TESTS
            else "timeout" if c in TIMEOUT else "other"
            for c in codes
        )  # fmt: skip
        figures[module_name(meta, workdir)] = {
            "generated": len(codes),
            **{k: counts[k] for k in ("killed", "survived", "no tests", "timeout", "other")},
        }
    return figures


def not_killed(row: dict[str, int]) -> int:
    """What the ceiling bounds: mutants the unit tier let through (survived, or no test reached them)."""
    return row["survived"] + row["no tests"] + row["other"]


def table(figures: dict[str, dict[str, int]], ceiling: dict[str, int]) -> str:
    head = f"{'module':44} {'generated':>9} {'killed':>7} {'survived':>8} {'no tests':>8} {'timeout':>7}"
    lines = [head + f" {'not killed':>10} {'ceiling':>7}"]
    for name, row in figures.items():
        limit = ceiling.get(name)
        lines.append(
            f"{name:44} {row['generated']:>9} {row['killed']:>7} {row['survived']:>8} {row['no tests']:>8} "
            f"{row['timeout']:>7} {not_killed(row):>10} {'-' if limit is None else limit:>7}"
        )
    total = {k: sum(r[k] for r in figures.values()) for k in ("generated", "killed", "survived", "no tests")}
    lines.append(
        f"{'total':44} {total['generated']:>9} {total['killed']:>7} {total['survived']:>8} {total['no tests']:>8}"
    )
    return "\n".join(lines)


def survivors(workdir: Path, module: str) -> list[str]:
    meta = workdir / "mutants" / "src" / (module.replace(".", "/") + ".py.meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(name for name, code in codes.items() if code in SURVIVED | NO_TESTS)


def main() -> int:
    parser = argparse.ArgumentParser(prog="hack/mutants", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--ci", action="store_true", help="the CI-sized run (default)")
    size.add_argument("--full", action="store_true", help="every core module (nightly-sized)")
    parser.add_argument("--update", action="store_true", help="record this run's counts as the ceilings")
    parser.add_argument("--workdir", type=Path, help="stage here and keep it (default: a temporary directory)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="oci-mutants-"))
    if args.workdir and workdir.exists():
        shutil.rmtree(workdir)
    stage(workdir, None if args.full else CI_MODULES)
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [str(mutmut), "run", "--max-children", str(args.max_children)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    (workdir / "mutmut-run.log").write_text(run.stdout)
    if run.returncode != 0:
        print(run.stdout[-4000:], file=sys.stderr)
        print(f"hack/mutants: mutmut failed (exit {run.returncode}); log in {workdir}", file=sys.stderr)
        return 2
    figures = results(workdir)
    recorded: dict[str, int] = json.loads(CEILING.read_text()) if CEILING.exists() else {}
    print(table(figures, recorded))
    print(f"mode {'full' if args.full else 'ci'}: {len(figures)} modules in {seconds:.0f}s (mutmut run)")

    if args.update:
        recorded.update({name: not_killed(row) for name, row in figures.items()})
        CEILING.write_text(json.dumps(dict(sorted(recorded.items())), indent=1) + "\n")
        print(f"ceilings written to {CEILING.relative_to(ROOT)}")
    else:
        grown = {n: r for n, r in figures.items() if n in recorded and not_killed(r) > recorded[n]}
        missing = sorted(n for n in figures if n not in recorded)
        for name, row in grown.items():
            print(f"FAIL {name}: {not_killed(row)} mutants not killed, ceiling {recorded[name]}:", file=sys.stderr)
            for mutant in survivors(workdir, name):
                print(f"  {mutant}", file=sys.stderr)
        for name in missing:
            print(f"FAIL {name}: no ceiling recorded (hack/mutants --update)", file=sys.stderr)
        if grown or missing:
            print(f"see a mutant: cd {workdir} && mutmut show NAME; accept new counts: hack/mutants --update",
                  file=sys.stderr)  # fmt: skip
            return 1
        print("within the ceilings")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
