"""Dependencies: floors past the known advisories, a hashed lock that `make install` uses, `make audit`.

The lock checks run offline. The audit script is driven for real: with the advisory service made
unreachable (a proxy on a closed port) it must warn and exit 0 within seconds; a vulnerable lock
must fail it wherever the service answers (skipped here when it does not).
"""

import os
import re
import socket
import subprocess
import sys
import time
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-lock.txt"
AUDIT = ROOT / "tools" / "audit_lock.py"
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", re.M)

# Releases with published advisories the review named (#16.8); the floors must exclude them.
VULNERABLE = {
    "cryptography": ["42.0.0", "42.0.3", "44.0.0"],  # CVE-2024-26130, CVE-2024-12797
    "waitress": ["3.0.0"],  # CVE-2024-49768, CVE-2024-49769
    "requests": ["2.31.0", "2.32.3"],  # CVE-2024-35195, CVE-2024-47081
    "flask": ["3.0.0", "3.1.0"],  # CVE-2025-47278
    "werkzeug": ["3.0.5", "3.1.3"],  # CVE-2024-49766/49767, CVE-2025-66221
    "jinja2": ["3.1.4", "3.1.5"],  # CVE-2024-56201, CVE-2024-56326, CVE-2025-27516
    "setuptools": ["77.0.0", "78.1.0"],  # CVE-2025-47273
}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared() -> list[Requirement]:
    project = _project()
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def _locked() -> dict[str, tuple[str, int]]:
    text = LOCK.read_text()
    return {canonicalize_name(m[1]): (m[2], m[3].count("--hash=")) for m in ENTRY.finditer(text)}


def test_every_pin_in_the_lock_is_exact_and_hashed():
    text = LOCK.read_text()
    pinned = [line for line in text.splitlines() if line and not line[0].isspace() and not line.startswith("#")]
    locked = _locked()
    assert len(pinned) == len(locked) > 20, "every requirement line must be name==version with sha256 hashes"
    assert all(hashes >= 1 for _, hashes in locked.values())
    assert "-e " not in text and "file:" not in text and "git+" not in text


def test_lock_holds_every_declared_dependency_inside_its_floor():
    locked = _locked()
    missing = [r.name for r in _declared() if canonicalize_name(r.name) not in locked]
    assert not missing, f"run `make lock`: {missing} not in {LOCK.name}"
    outside = [f"{r.name}{r.specifier} locked {locked[canonicalize_name(r.name)][0]}" for r in _declared()
               if not r.specifier.contains(locked[canonicalize_name(r.name)][0], prereleases=True)]
    assert not outside, f"run `make lock`: {outside}"


def test_floors_exclude_releases_with_known_advisories():
    declared = {canonicalize_name(r.name): r for r in _declared()}
    build = {canonicalize_name(Requirement(r).name): Requirement(r) for r in
             tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]}
    for name, versions in VULNERABLE.items():
        for requirement in (declared.get(name), build.get(name)):
            if requirement is None:
                continue
            allowed = [v for v in versions if requirement.specifier.contains(v)]
            assert not allowed, f"{requirement} still allows {allowed}"
    assert "setuptools" in build and "setuptools" in declared


def test_the_venv_runs_the_locked_releases():
    """`make install` installed from the lock: every locked package present is at its pinned release."""
    wrong = {}
    for name, (version, _) in _locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if Version(installed) != Version(version):
            wrong[name] = (installed, version)
    assert not wrong, f"installed vs locked (re-run `make install`): {wrong}"


def test_makefile_installs_with_require_hashes_then_simpul_without_deps():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "pyproject.toml $(LOCK)" in recipe.splitlines()[0]
    steps = [line.strip() for line in recipe.splitlines()[1:]]
    assert steps[0].endswith("pip install --quiet --require-hashes -r $(LOCK)")
    assert "--no-deps" in steps[1] and steps[1].endswith("-e .")
    assert re.search(r"^LOCK := requirements-lock\.txt$", makefile, re.M)
    assert "uv pip compile" in makefile and "--generate-hashes" in makefile
    assert "tools/audit_lock.py" in makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _audit(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, str(AUDIT), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _offline_env() -> dict:
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(HTTPS_PROXY=proxy, HTTP_PROXY=proxy, https_proxy=proxy, http_proxy=proxy, NO_PROXY="")
    return env


@pytest.mark.parametrize("service", ["pypi", "osv"])
def test_audit_warns_but_passes_when_the_advisory_service_is_unreachable(service):
    started = time.monotonic()
    done = _audit("--lock", str(LOCK), "--service", service, "--probe-timeout", "5", env=_offline_env())
    assert done.returncode == 0, done.stderr
    assert "WARNING" in done.stdout and "NOT audited" in done.stdout
    assert f"{len(_locked())} locked releases" in done.stdout
    assert time.monotonic() - started < 60


def test_audit_fails_on_a_broken_lock(tmp_path):
    empty = tmp_path / "lock.txt"
    empty.write_text("# nothing pinned\n")
    done = _audit("--lock", str(empty))
    assert done.returncode == 2 and "pins no release" in done.stderr


def _service_answers() -> bool:
    return _module().probe("pypi", "waitress", "3.0.0", timeout=10) is None


def test_audit_fails_on_a_locked_release_with_an_advisory(tmp_path):
    if not _service_answers():
        pytest.skip("the PyPI advisory service does not answer per-release queries from here")
    lock = tmp_path / "lock.txt"
    lock.write_text("waitress==3.0.0 \\\n    --hash=sha256:005da479b04134cdd9dd602d1ee7c49d79de0537610d653674cc6cbde222b8a1 \\\n"
                    "    --hash=sha256:2a06f242f4ba0cc563444ca3d1998959447477363a2d7e9b8b4d75d35cfd1669\n")
    done = _audit("--lock", str(lock))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "VULNERABLE waitress==3.0.0" in done.stdout and "CVE-2024-49769" in done.stdout


def _module():
    sys.path.insert(0, str(AUDIT.parent))
    try:
        import audit_lock
    finally:
        sys.path.remove(str(AUDIT.parent))
    return audit_lock


def test_a_network_failure_inside_pip_audit_is_a_warning_not_a_failure(tmp_path, monkeypatch):
    """The probe can pass and the service die afterwards: pip-audit's real traceback is recognised."""
    pytest.importorskip("pip_audit", reason="pip-audit comes with `make install` (the lock's dev packages)")
    audit_lock = _module()
    lock = tmp_path / "lock.txt"
    lock.write_text("waitress==3.0.2 \\\n    --hash=sha256:682aaaf2af0c44ada4abfb70ded36393f0e307f4ab9456a215ce0020baefc31f\n")
    for key, value in _offline_env().items():
        monkeypatch.setenv(key, value)
    rc, report, stderr = audit_lock.run_pip_audit(lock, "pypi", timeout=5, limit=60)
    assert rc != 0 and report is None
    assert audit_lock.is_network_failure(stderr)
    assert not audit_lock.is_network_failure("pip_audit._dependency_source.RequirementSourceError: bad line")


def test_releases_the_service_does_not_know_are_reported_as_not_audited(tmp_path):
    audit_lock = _module()
    report = {"dependencies": [
        {"name": "waitress", "version": "3.0.2", "vulns": []},
        {"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited: flask (3.1.3)"},
    ], "fixes": []}
    code, lines = audit_lock.judge(report)
    assert code == 0 and "1 of 2 locked releases were NOT audited" in lines[-1]
    report["dependencies"].append({"name": "waitress", "version": "3.0.0", "vulns": [
        {"id": "GHSA-9298-4cf8-g4wj", "fix_versions": ["3.0.1"], "aliases": ["CVE-2024-49769"]}]})
    code, lines = audit_lock.judge(report)
    assert code == 1
    assert lines[0] == "VULNERABLE waitress==3.0.0: GHSA-9298-4cf8-g4wj (CVE-2024-49769); fixed in 3.0.1"
