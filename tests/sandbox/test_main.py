"""`python -m bot.sandbox` as a separate process, driven with curl: login -> ST -> balance, then Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def curl(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", *args],
        capture_output=True,
        text=True,
        timeout=15,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def test_module_serves_a_login_st_balance_sequence() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.sandbox", "--host", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(4)]
        names = [line.split("=", 1)[0] for line in lines[:3]]
        assert names == ["QIWI_AUTH_URL", "QIWI_WEB_URL", "QIWI_EDGE_URL"], lines
        auth, _, edge = (line.split("=", 1)[1] for line in lines[:3])
        assert lines[3].startswith("demo login: 79001112233 / demo-password")

        sso = ["-H", "Accept: application/vnd.qiwi.sso-v1+json", "-H", "Content-Type: application/json"]
        status, body = curl(*sso, "-d", '{"login": "79001112233", "password": "demo-password"}', f"{auth}/cas/tgts")
        assert status == 200, body
        tgt = json.loads(body)["entity"]["ticket"]
        service = "http://t.qiwi.com/j_spring_cas_security_check"
        status, body = curl(*sso, "-d", json.dumps({"service": service, "ticket": tgt}), f"{auth}/cas/sts")
        assert status == 200, body
        st = json.loads(body)["entity"]["ticket"]
        balance_url = f"{edge}/funding-sources/v1/accounts/79001112233"
        auth_header = ["-H", "Accept: application/json", "-H", f"Authorization: Token {st}"]
        status, body = curl(*auth_header, balance_url)
        assert status == 200, body
        assert json.loads(body)["accounts"][0]["currencyId"] == 643
        status, _ = curl(*auth_header, balance_url)
        assert status == 401  # the ST was single use

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        _, errors = process.communicate(timeout=5)
        assert "Traceback" not in errors
        assert st not in errors and tgt not in errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
