"""The previous release's source, unpacked from git, for upgrade tests (not a test module).

Commit e7889f7 is the last main before the parts refactor: a database it made
is what a node in the field holds today.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RELEASE = "e7889f7"


def unpack_release(dest: Path, *paths: str) -> Path:
    """Extract ``paths`` (everything when none) of the release into ``dest``; skip without git or the commit."""
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", RELEASE],
                                                     capture_output=True).returncode != 0:
        pytest.skip(f"needs git and commit {RELEASE}")
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", RELEASE, *paths], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest
