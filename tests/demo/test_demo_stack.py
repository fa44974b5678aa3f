"""The demo stack leaves no process and no bound port behind, also on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import json, sys, time
from pathlib import Path
from aichaos.demo._stack import DemoStack
with DemoStack(llm_url=sys.argv[1], profiles=("naive",), start_proxy=True,
               work_dir=Path(sys.argv[2])) as s:
    print(json.dumps({"pids": s.pids, "ports": s.ports}), flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes only once reaped; check its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_ctrl_c_stops_every_process_and_frees_every_port(llm_server: str,
                                                         tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, llm_server, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        pids, ports = info["pids"], info["ports"]
        assert set(pids) == {"crm", "proxy", "app-naive"} and len(ports) == 5
        assert all(_alive(p) for p in pids.values())
        assert all(_accepts(p) for p in ports)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in pids.values()):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids.values())
    assert not any(_accepts(p) for p in ports)
