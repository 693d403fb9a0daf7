"""scripts/install-build-deps.sh: apt runs only for missing packages, and only as root.

The script runs with stand-ins for dpkg-query, apt-get and id first on PATH, so nothing is installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-build-deps.sh"


def _stand_ins(folder: Path, installed: set[str], uid: int) -> Path:
    """dpkg-query reporting ``installed``, an apt-get that logs its arguments, an id printing ``uid``."""
    log = folder / "apt.log"
    stand_ins = {
        "dpkg-query": "#!/usr/bin/env bash\n"
        f'case " {" ".join(sorted(installed))} " in *" ${{@: -1}} "*) printf installed;; esac\n',
        "apt-get": f'#!/usr/bin/env bash\necho "$@" >> {log}\n',
        "id": f"#!/usr/bin/env bash\necho {uid}\n",
    }
    for name, text in stand_ins.items():
        path = folder / name
        path.write_text(text)
        path.chmod(0o755)
    return log


def _run(folder: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, env=environment, timeout=60, check=False
    )


def test_nothing_runs_when_everything_is_installed(tmp_path: Path) -> None:
    log = _stand_ins(tmp_path, {"libssl-dev", "pkg-config"}, uid=0)
    completed = _run(tmp_path)
    assert (completed.returncode, completed.stdout, log.exists()) == (0, "", False)


def test_root_installs_only_what_is_missing(tmp_path: Path) -> None:
    log = _stand_ins(tmp_path, {"pkg-config"}, uid=0)
    completed = _run(tmp_path)
    assert completed.returncode == 0, completed.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("update")
    assert calls[1].startswith("install") and calls[1].endswith(" libssl-dev")


def test_a_user_is_told_what_to_install(tmp_path: Path) -> None:
    log = _stand_ins(tmp_path, set(), uid=1000)
    completed = _run(tmp_path)
    assert completed.returncode == 1
    assert "need root to install libssl-dev pkg-config" in completed.stderr
    assert not log.exists()
