"""pytest fixtures shared by the Python client's tests and the Examples' tests: the real relyd binary on a
temporary socket, and Glewlwyd from ../shared/op (HTTPS with its test CA) with its test user alice.

Loaded by the repository's pytest.ini (``-p relyd_fixtures``). ``RELYD_BINARY`` overrides the daemon to test
(default ``.build/debug/relyd``), ``RELYD_SHARED_OP`` the folder of the OP scripts (default ``../shared/op``).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_OP = Path(os.environ.get("RELYD_SHARED_OP") or REPOSITORY.parent / "shared" / "op")


def relyd_binary() -> Path:
    binary = Path(os.environ.get("RELYD_BINARY") or REPOSITORY / ".build" / "debug" / "relyd")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is not built: run `swift build` first (or set RELYD_BINARY)")
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def short_temporary_directory(prefix: str) -> Path:
    """Under /tmp, since a Unix socket path must stay under 108 bytes."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


class RelydDaemon:
    """The real relyd on its own socket and state directory, started and stopped by the test."""

    def __init__(self, directory: Path, extra_config: str = "") -> None:
        self.directory = directory
        self.socket_path = str(directory / "relyd.sock")
        self.config_path = directory / "relyd.cfg"
        self.log_path = directory / "relyd.log"
        self.config_path.write_text(
            f"socket_path = {self.socket_path}\nstate_dir = {directory / 'state'}\nlog_level = debug\n"
            f"{extra_config}\n")
        self.process = None
        self.start()

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([str(relyd_binary()), "--config", str(self.config_path)],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"relyd exited with {self.process.returncode}: {self.log_path.read_text()}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                if probe.connect_ex(self.socket_path) == 0:
                    return
            time.sleep(0.02)
        pytest.fail(f"relyd did not accept connections within 30 s: {self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class Glewlwyd:
    """Glewlwyd over HTTPS on a free port, started by ../shared/op/start-glewlwyd.sh."""

    def __init__(self, run_root: Path) -> None:
        self.run_root = run_root
        self.port = free_port()
        environment = dict(os.environ, OP_RUN_ROOT=str(run_root))
        subprocess.run(["bash", str(SHARED_OP / "start-glewlwyd.sh"), str(self.port), "--tls"],
                       env=environment, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.fixture = json.loads((run_root / "glewlwyd" / "fixture.json").read_text())
        self.issuer = self.fixture["issuer"]
        self.user = self.fixture["user"]
        self.password = self.fixture["password"]
        self.ca_file = self.fixture["ca_file"]

    def login(self, authorization_url: str) -> dict:
        """Logs alice in without a browser (../shared/op/login.py); returns the redirect's query parameters."""
        sys.path.insert(0, str(SHARED_OP))
        try:
            import login as shared_login
        finally:
            sys.path.remove(str(SHARED_OP))
        redirect = shared_login.login(authorization_url, self.user, self.password, cafile=self.ca_file)
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect).query))

    def stop(self) -> None:
        subprocess.run(["bash", str(SHARED_OP / "stop-glewlwyd.sh")], env=dict(os.environ, OP_RUN_ROOT=str(self.run_root)),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="session")
def glewlwyd():
    run_root = short_temporary_directory("relyd-py-op-")
    op = Glewlwyd(run_root)
    yield op
    op.stop()
    shutil.rmtree(run_root, ignore_errors=True)


def _daemon(extra_config: str = ""):
    directory = short_temporary_directory("relyd-py-")
    daemon = RelydDaemon(directory, extra_config)
    yield daemon
    daemon.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def relyd():
    """relyd with its defaults and no OP."""
    yield from _daemon()


@pytest.fixture
def relyd_glewlwyd(glewlwyd):
    """relyd trusting Glewlwyd's test CA."""
    yield from _daemon(f"ca_file = {glewlwyd.ca_file}")
