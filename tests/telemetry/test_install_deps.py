"""scripts/install-telemetry-deps.sh leaves nothing of the distro packages listening or enabled.

Most tests run the script against stand-in commands (apt-get, dpkg-query, systemctl, ...) on PATH and a
scratch policy-rc.d, so they need neither root nor apt. The last one checks this host after the real script
ran (root and the packages installed, as ``make test`` has them through ``make telemetry-deps``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "install-telemetry-deps.sh"
DISTRO_SERVICES = ("prometheus", "prometheus-pushgateway", "victoria-metrics", "collectd")
# The distro services' default ports: Prometheus, the Pushgateway, VictoriaMetrics, collectd's StatsD and
# network plugins.
DISTRO_PORTS = frozenset({9090, 9091, 8428, 8125, 25826})
PACKAGES = ("prometheus", "prometheus-pushgateway", "collectd-core", "victoria-metrics")

# Each stand-in appends its command line to $STUB_LOG. apt-get install also runs policy-rc.d as a
# maintainer script's invoke-rc.d would, and records its exit status.
_STUBS = {
    "dpkg-query": """
package=${@: -1}
[[ " ${STUB_MISSING:-} " == *" $package "* ]] || printf installed
""",
    "id": 'echo "${STUB_UID:-0}"',
    "apt-get": """
echo "apt-get $*" >>"$STUB_LOG"
if [[ $* == *install* ]]; then
  status=0
  "$SKYBENCH_POLICY_RC_D" prometheus.service start || status=$?
  echo "policy-rc.d exit $status" >>"$STUB_LOG"
  exit "${STUB_APT_RC:-0}"
fi
""",
    "systemctl": """
echo "systemctl $*" >>"$STUB_LOG"
case $1 in
  is-enabled) echo "${STUB_UNIT_STATE:-disabled}" ;;
  is-active) exit 3 ;;
esac
""",
    "update-rc.d": 'echo "update-rc.d $*" >>"$STUB_LOG"',
}


@dataclass(frozen=True)
class Sandbox:
    root: Path
    env: dict[str, str]

    @property
    def policy(self) -> Path:
        return self.root / "policy-rc.d"

    @property
    def calls(self) -> list[str]:
        log = self.root / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def run(self, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT)],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in _STUBS.items():
        stub = bin_dir / name
        stub.write_text(f"#!/usr/bin/env bash\n{body.strip()}\n")
        stub.chmod(0o755)
    for runlevel in range(2, 6):
        (tmp_path / f"rc{runlevel}.d").mkdir()
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STUB_LOG": str(tmp_path / "calls.log"),
        "SKYBENCH_POLICY_RC_D": str(tmp_path / "policy-rc.d"),
        "SKYBENCH_INIT_D": str(tmp_path / "init.d"),
        "SKYBENCH_RC_D_ROOT": str(tmp_path),
        "SKYBENCH_SYSTEMD_RUN_DIR": str(tmp_path / "no-systemd"),
    }
    return Sandbox(tmp_path, env)


ORIGINAL_POLICY = "#!/bin/sh\n# the host's own policy\nexit 0\n"


def test_packages_install_under_a_guard_that_is_removed_after(sandbox: Sandbox) -> None:
    sandbox.policy.write_text(ORIGINAL_POLICY)
    sandbox.policy.chmod(0o755)
    result = sandbox.run(STUB_MISSING="prometheus victoria-metrics")
    assert result.returncode == 0, result.stderr
    assert "policy-rc.d exit 101" in sandbox.calls, "maintainer scripts could start services"
    assert sandbox.policy.read_text() == ORIGINAL_POLICY
    assert not list(sandbox.root.glob("policy-rc.d.skybench-*"))
    assert "removed the policy-rc.d guard" in result.stdout


def test_guard_is_removed_when_apt_fails(sandbox: Sandbox) -> None:
    result = sandbox.run(STUB_MISSING="prometheus", STUB_APT_RC="100")
    assert result.returncode == 2
    assert "policy-rc.d exit 101" in sandbox.calls
    assert not sandbox.policy.exists(), "the guard outlived the failed install"
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "install-telemetry-deps: apt-get failed to install prometheus"
    ]


def test_a_guard_left_by_a_killed_run_is_taken_down(sandbox: Sandbox) -> None:
    saved = sandbox.root / "policy-rc.d.skybench-saved"
    saved.write_text(ORIGINAL_POLICY)
    sandbox.policy.write_text("#!/bin/sh\n# skybench install guard\nexit 101\n")
    result = sandbox.run()
    assert result.returncode == 0, result.stderr
    assert sandbox.policy.read_text() == ORIGINAL_POLICY
    assert not saved.exists()


def test_enabled_distro_units_are_disabled_and_masked(sandbox: Sandbox) -> None:
    (sandbox.root / "rc2.d" / "S01prometheus").symlink_to("../init.d/prometheus")
    result = sandbox.run(STUB_UNIT_STATE="enabled")
    assert result.returncode == 0, result.stderr
    for service in DISTRO_SERVICES:
        assert f"systemctl mask --quiet {service}.service" in sandbox.calls
    assert "update-rc.d prometheus disable" in sandbox.calls
    assert "not running, not enabled" in result.stdout


def test_masked_units_are_left_as_they_are(sandbox: Sandbox) -> None:
    result = sandbox.run(STUB_UNIT_STATE="masked")
    assert result.returncode == 0, result.stderr
    assert not [call for call in sandbox.calls if call.startswith(("systemctl mask", "systemctl disable"))]


def test_keep_distro_services_opts_out(sandbox: Sandbox) -> None:
    result = sandbox.run(STUB_UNIT_STATE="enabled", SKYBENCH_KEEP_DISTRO_SERVICES="1")
    assert result.returncode == 0, result.stderr
    assert not [call for call in sandbox.calls if call.startswith("systemctl")]
    assert "SKYBENCH_KEEP_DISTRO_SERVICES=1" in result.stdout


def test_not_root_with_missing_packages_is_exit_2(sandbox: Sandbox) -> None:
    result = sandbox.run(STUB_MISSING="prometheus", STUB_UID="1000")
    assert result.returncode == 2
    assert "need root to install prometheus" in result.stderr
    assert not [call for call in sandbox.calls if call.startswith("apt-get")]


# --- this host, after the real install ---------------------------------------------------------------------


def _project_pids() -> set[int]:
    """PIDs scripts/telemetry.sh recorded for the stack it started (default state folder)."""
    pids: set[int] = set()
    for pid_file in (REPO / ".skybench" / "telemetry" / "pids").glob("*.pid"):
        text = pid_file.read_text().strip()
        if text.isdigit():
            pids.add(int(text))
    return pids


def _packages_installed() -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    for package in PACKAGES:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if status.stdout != "installed":
            return False
    return True


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (the install stops and masks system units)")
@pytest.mark.skipif(
    not _packages_installed(), reason="the telemetry packages are not installed (make telemetry-deps)"
)
def test_after_the_install_nothing_of_the_distro_listens_or_is_enabled() -> None:
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    ours = _project_pids()
    listening = [
        connection
        for connection in psutil.net_connections(kind="inet")
        if connection.laddr
        and connection.laddr.port in DISTRO_PORTS
        and (connection.status == psutil.CONN_LISTEN or connection.type == socket.SOCK_DGRAM)
        and connection.pid not in ours
    ]
    assert listening == [], f"listening on the distro services' ports: {listening}"
    if shutil.which("systemctl") is not None:
        for service in DISTRO_SERVICES:
            state = subprocess.run(
                ["systemctl", "is-enabled", f"{service}.service"], capture_output=True, text=True, check=False
            ).stdout.strip()
            assert state in {"masked", "disabled", ""}, f"{service}.service is {state}"
    started_at_boot = sorted(
        link.name
        for service in DISTRO_SERVICES
        for link in Path("/etc").glob(f"rc[2-5].d/S[0-9][0-9]{service}")
    )
    assert started_at_boot == []
