"""The Node.js and shell examples (register_site, then get_authorization_url) against the real relyd and
Glewlwyd: each must print the new site's login URL, and report a daemon's error by its code."""

import json
import subprocess
from pathlib import Path

import pytest

from relyd import Client

HERE = Path(__file__).resolve().parent
EXAMPLES = {"node": ["node", str(HERE / "node" / "example.js")],
            "shell": ["bash", str(HERE / "shell" / "example.sh")]}
REDIRECT_URI = "http://127.0.0.1:8765/callback"


def run(language, *arguments):
    return subprocess.run(EXAMPLES[language] + list(arguments), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("language", EXAMPLES)
def test_registers_a_site_and_prints_a_login_url(language, relyd_glewlwyd, glewlwyd):
    result = run(language, relyd_glewlwyd.socket_path, glewlwyd.issuer, REDIRECT_URI)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["authorization_url"].startswith(glewlwyd.issuer)
    assert f"state={output['state']}" in output["authorization_url"]
    site = Client(relyd_glewlwyd.socket_path).get_site(output["oxd_id"])
    assert site.authorization_redirect_uri == REDIRECT_URI


@pytest.mark.parametrize("language", EXAMPLES)
def test_a_daemon_error_is_reported_with_its_code(language, relyd):
    # Plain http to a host that is not loopback is refused before anything is fetched.
    result = run(language, relyd.socket_path, "http://op.example", REDIRECT_URI)
    assert result.returncode == 1
    assert result.stderr.startswith("error: invalid_parameter:")


def test_node_without_a_daemon_is_connection_failed(tmp_path):
    result = run("node", str(tmp_path / "absent.sock"), "https://op.example", REDIRECT_URI)
    assert result.returncode == 1
    assert result.stderr.startswith("error: connection_failed:")
