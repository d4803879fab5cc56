"""Audit the installed dependencies: known-vulnerable build tools offline, then pip-audit when it can reach a
vulnerability database (skipped with a message when it cannot, so CI without network still runs).

Exit 1 when a vulnerable version is installed; 0 otherwise.
"""

from __future__ import annotations

import json
import subprocess  # noqa: S404 (runs pip-audit with an argument list)
import sys
from importlib.metadata import PackageNotFoundError, version

# Build tools in the venv the scripts create, with the first version free of their published advisories.
MINIMUM_VERSIONS = {
    "setuptools": ("78.1.1", "CVE-2024-6345, CVE-2025-47273 (path traversal in PackageIndex)"),
    "pip": ("25.3", "CVE-2025-8869 (tar symlink extraction)"),
    "wheel": ("0.38.1", "CVE-2022-40898"),
}


def _parse(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def offline_check() -> list[str]:
    problems = []
    for name, (minimum, advisories) in MINIMUM_VERSIONS.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        if _parse(installed) < _parse(minimum):
            problems.append(f"{name} {installed} < {minimum}: {advisories}")
    return problems


def online_audit() -> tuple[str, list[str]]:
    """('ok'|'skipped'|'vulnerable', lines)."""
    try:
        run = subprocess.run([sys.executable, "-m", "pip_audit", "--local", "--skip-editable", "--progress-spinner",  # noqa: S603
                              "off", "-f", "json"], capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "skipped", [f"pip-audit could not run: {exc}"]
    try:
        report = json.loads(run.stdout or "{}")
    except ValueError:
        tail = (run.stderr or "").strip().splitlines()[-1:] or ["no output"]
        return "skipped", [f"vulnerability database unreachable: {tail[0][:200]}"]
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if not d.get("skip_reason")]
    if not audited:
        return "skipped", ["vulnerability database unreachable: no dependency could be audited"]
    lines = [f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions') or ['?'])})"
             for d in audited for v in d.get("vulns", [])]
    return ("vulnerable" if lines else "ok"), lines or [f"{len(audited)} packages audited, no known vulnerability"]


def main() -> int:
    problems = offline_check()
    for line in problems:
        print(f"dependency audit: {line}")
    status, lines = online_audit()
    for line in lines:
        print(f"dependency audit ({status}): {line}")
    if status == "skipped":
        print("dependency audit: pip-audit skipped (no network); the offline build-tool check above still ran")
    return 1 if problems or status == "vulnerable" else 0


if __name__ == "__main__":
    sys.exit(main())
