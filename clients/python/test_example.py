#!/usr/bin/python3
"""Runs clients/python/example.py as a user would, against a real server
with the demo retailer loaded, and checks what it printed and plotted."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
for flag in ["server", "cli", "python_path", "example", "out"]:
    ap.add_argument("--" + flag, required=True)
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)
work = tempfile.mkdtemp(prefix="nextbest-python-")
data = os.path.join(work, "data")
log_path = os.path.join(work, "server.log")
server = subprocess.Popen([a.server, "--grpc_address=127.0.0.1:0", "--metrics_address=",
                           "--http_address=", "--data_dir=" + data], stderr=open(log_path, "w"))
try:
    port = None
    for _ in range(600):
        m = re.search(r"serving gRPC on port (\d+)", open(log_path).read())
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.1)
    if port is None:
        sys.exit("server did not start: " + open(log_path).read())
    subprocess.run([a.cli, "--target=127.0.0.1:%d" % port, "--data_dir=" + data, "demo-data",
                    "--customers=300"], check=True, capture_output=True)
    plot = os.path.join(a.out, "segments.png")
    env = dict(os.environ, PYTHONPATH=a.python_path)
    run = subprocess.run([sys.executable, a.example, "--target=127.0.0.1:%d" % port,
                          "--token_file=" + os.path.join(data, "admin_token"), "--plot=" + plot],
                         env=env, capture_output=True, text=True, timeout=120)
    print(run.stdout, run.stderr)
    failures = []
    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)
    check(run.returncode == 0, "the example ran (exit %d)" % run.returncode)
    check(re.search(r"Speciaal voor jou for c1 \(personal\):\n  p\d+", run.stdout) is not None,
          "personal recommendations printed")
    check("recorded: 1 accepted" in run.stdout, "the purchase was recorded")
    check("refused as expected: NOT_FOUND" in run.stdout, "a refused call raises NextbestError")
    m = re.search(r"Door jou bekeken now starts with: \['(p\d+)'", run.stdout)
    first = re.search(r"personal\):\n  (p\d+)", run.stdout)
    check(bool(m and first and m.group(1) == first.group(1)), "the view shows at once")
    check(os.path.exists(plot) and open(plot, "rb").read(8) == b"\x89PNG\r\n\x1a\n",
          "segments plotted to " + plot)
    if failures:
        sys.exit("%d check(s) failed" % len(failures))
finally:
    server.terminate()
    server.wait(timeout=60)
    shutil.rmtree(work, ignore_errors=True)
