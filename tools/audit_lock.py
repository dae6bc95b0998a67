"""`make audit`: pip-audit against the hashed lock file, without failing on a dead network.

Why a wrapper and not a bare `pip-audit` call: pip-audit exits 1 both for "a locked release has an
advisory" and for "the advisory service could not be reached" (a traceback), and it reports a
release the service does not know as skipped while still printing "No known vulnerabilities
found". CI must fail on the first and only warn on the others, so this script tells them apart:

- exit 1: at least one locked release has a known advisory (listed with the fixed versions);
- exit 2: pip-audit itself failed for a reason that is not the network (e.g. a broken lock file);
- exit 0: every release was audited and none has an advisory, or the service did not answer
  (unreachable, timed out, or no answer for some releases): a warning names how many releases
  went unaudited, so a quiet "0" is never mistaken for a clean audit.

A quick probe (one request, `--probe-timeout` seconds) runs first so an offline machine spends
seconds here, not pip-audit's per-package timeouts.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.M)
NETWORK_ERRORS = ("ConnectionError", "Timeout", "ProxyError", "SSLError", "NameResolution",
                  "MaxRetryError", "ConnectTimeout", "ReadTimeout", "gaierror", "ServiceError")
SERVICES = {
    "pypi": "https://pypi.org/pypi/{name}/{version}/json",
    "osv": "https://api.osv.dev/v1/query",
}


def pins(lock: Path) -> list[tuple[str, str]]:
    """(name, version) of every `name==version` line of a requirements lock file."""
    return PIN.findall(lock.read_text(encoding="utf-8"))


def probe(service: str, name: str, version: str, timeout: float) -> str | None:
    """None when the advisory service answers a query for one locked release, else why not."""
    if service == "osv":
        body = json.dumps({"package": {"name": name, "ecosystem": "PyPI"}, "version": version}).encode()
        request = urllib.request.Request(SERVICES["osv"], data=body,
                                         headers={"Content-Type": "application/json"})
    else:
        request = urllib.request.Request(SERVICES["pypi"].format(name=name, version=version))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(1)
    except urllib.error.HTTPError as exc:
        return f"{request.full_url} answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{request.full_url} unreachable ({exc.__class__.__name__}: {exc})"
    return None


def run_pip_audit(lock: Path, service: str, timeout: float, limit: float) -> tuple[int, dict | None, str]:
    """Run pip-audit on the lock (no pip, no resolution: the lock is hashed); (rc, json or None, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", "--disable-pip", "-r", str(lock),
                   "--vulnerability-service", service, "--format", "json", "--output", str(out),
                   "--progress-spinner", "off", "--timeout", str(int(timeout))]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return -1, None, f"pip-audit did not finish within {limit:.0f} s"
        report = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
        return done.returncode, report, done.stderr


def is_network_failure(stderr: str) -> bool:
    """Whether pip-audit died because the advisory service could not be reached."""
    last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or [""]
    return any(word in last[0] for word in NETWORK_ERRORS)


def judge(report: dict) -> tuple[int, list[str]]:
    """Exit code and the lines to print for a pip-audit JSON report."""
    lines: list[str] = []
    found = [dep for dep in report.get("dependencies", []) if dep.get("vulns")]
    skipped = [dep for dep in report.get("dependencies", []) if dep.get("skip_reason")]
    for dep in found:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            aliases = ", ".join(vuln.get("aliases") or [])
            lines.append(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']}"
                         f"{f' ({aliases})' if aliases else ''}; fixed in {fixed}")
    total = len(report.get("dependencies", []))
    if skipped:
        lines.append(f"WARNING: {len(skipped)} of {total} locked releases were NOT audited "
                     f"(the advisory service had no answer for them), e.g. {skipped[0]['skip_reason']}")
    if found:
        lines.append(f"{len(found)} locked release(s) with known advisories: raise the floor in "
                     "pyproject.toml, run `make lock`, commit both")
        return 1, lines
    if not skipped:
        lines.append(f"{total} locked releases audited, no known advisories")
    return 0, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements-lock.txt")
    parser.add_argument("--service", choices=sorted(SERVICES), default="pypi")
    parser.add_argument("--probe-timeout", type=float, default=10)
    parser.add_argument("--timeout", type=float, default=15, help="per request, seconds")
    parser.add_argument("--limit", type=float, default=300, help="whole audit, seconds")
    args = parser.parse_args(argv)
    locked = pins(args.lock)
    if not locked:
        print(f"audit: {args.lock} pins no release", file=sys.stderr)
        return 2
    why = probe(args.service, *locked[0], timeout=args.probe_timeout)
    if why:
        print(f"WARNING: advisory service '{args.service}' not usable: {why}. "
              f"{len(locked)} locked releases NOT audited; run `make audit` where it answers.")
        return 0
    rc, report, stderr = run_pip_audit(args.lock, args.service, args.timeout, args.limit)
    if report is None:
        if rc == -1 or is_network_failure(stderr):
            tail = stderr.strip().splitlines()[-1:] or [""]
            print(f"WARNING: advisory service '{args.service}' failed during the audit: {tail[0]}. "
                  f"{len(locked)} locked releases NOT audited.")
            return 0
        print(f"audit: pip-audit failed (exit {rc}):\n{stderr.strip()}", file=sys.stderr)
        return 2
    code, lines = judge(report)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
