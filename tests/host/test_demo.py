"""`make demo` (today: the firmware's verdicts on good and bad tokens) runs and gets them right."""

import subprocess
import sys


def test_demo_verdicts():
    out = subprocess.run([sys.executable, "-m", "microace_host.demo"], capture_output=True,
                         text=True, timeout=300, env={"COLUMNS": "200", "PATH": ""})
    assert out.returncode == 0, out.stderr
    rows = {line.split("│")[1].strip(): line for line in out.stdout.splitlines()
            if line.startswith("│")}
    assert "accepted" in rows["valid ES256 token"]
    assert "VerifyError" in rows["forged: one bit of the signature flipped"]
    assert "ClaimError: token expired" in rows["expired an hour ago"]
    assert "AudienceError" in rows["token for another RS (aud)"]
    assert "accepted" in rows["ACE-OSCORE token (Encrypt0, cnf.osc)"]
    assert "PoP key: osc" in rows["ACE-OSCORE token (Encrypt0, cnf.osc)"]
