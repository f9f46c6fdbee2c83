"""`make demo` runs and gets every verdict and every step of the flow right."""

import os
import subprocess
import sys


def test_demo_verdicts_and_flow():
    out = subprocess.run([sys.executable, "-m", "microace_host.demo"], capture_output=True,
                         text=True, timeout=300,
                         env={"COLUMNS": "200", "PATH": os.environ.get("PATH", "")})
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {line.split("│")[1].strip(): line for line in out.stdout.splitlines()
            if line.startswith("│")}
    assert "accepted" in rows["valid ES256 token"]
    assert "VerifyError" in rows["forged: one bit of the signature flipped"]
    assert "ClaimError: token expired" in rows["expired an hour ago"]
    assert "AudienceError" in rows["token for another RS (aud)"]
    assert "accepted" in rows["ACE-OSCORE token (Encrypt0, cnf.osc)"]
    assert "PoP key: osc" in rows["ACE-OSCORE token (Encrypt0, cnf.osc)"]
    assert "accepted" in rows["JWT, ES256, the same AS key"]
    assert "/temp GET, /led GET+PUT" in rows["JWT, ES256, the same AS key"]
    assert "accepted" in rows["ACE-OSCORE nested JWT (JWE, cnf.osc)"]
    assert "PoP key: osc" in rows["ACE-OSCORE nested JWT (JWE, cnf.osc)"]
    # Part 2: the flow over CoAP with the firmware RS.
    assert "provisioned" in out.stdout and "stopped the RS and the AS" in out.stdout
    assert "AS hint coap://127.0.0.1:" in out.stdout
    assert "encrypt0+sign1)" in out.stdout  # nested tokens: the RS holds both AS keys
    expected = {
        "OSCORE GET /temp": "2.05 Content 21.5",
        "OSCORE PUT /led '1'": "2.04 Changed",
        "OSCORE GET /led": "2.05 Content 1",
        "forged token to /authz-info": "4.01 Unauthorized",
        "OSCORE PUT /config (not in scope)": "4.03 Forbidden",
        "OSCORE GET /temp, then the same request replayed": "2.05 Content, then 4.01",
    }
    steps_as_expected(rows, expected)
    # Part 3: the EDHOC-OSCORE profile with the same requests, and the two profiles compared.
    assert "message_2 authenticates it as rs_cnf" in out.stdout
    expected = {
        "EDHOC: token (kccs) in EAD_3 of message_3": "2.04",
        "EDHOC: OSCORE GET /temp": "2.05 Content 21.5",
        "EDHOC: OSCORE PUT /led '1'": "2.04 Changed",
        "EDHOC: OSCORE PUT /config (not in scope)": "4.03 Forbidden",
        "EDHOC: OSCORE GET /temp, then the same request replayed": "2.05 Content, then 4.01",
    }
    steps_as_expected(rows, expected)
    assert "asymmetric" in rows["PoP key of the client"]
    assert "EAD_3 of EDHOC message_3" in rows["where the token travels"]


def steps_as_expected(rows, expected):
    for step, answer in expected.items():
        assert answer in rows[step] and "yes" in rows[step], rows[step]
