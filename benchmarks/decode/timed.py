"""Runs a command and writes "wall user+sys" seconds (children's CPU time, all threads) to a
file; stdin/stdout/stderr pass through. Exits with the command's status.

  python3 timed.py OUTFILE command [args...]
"""
import os
import resource
import subprocess
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
start = time.monotonic()
status = subprocess.call(cmd)
wall = time.monotonic() - start
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out + ".tmp", "w") as f:
    f.write("%.3f %.3f\n" % (wall, ru.ru_utime + ru.ru_stime))
os.replace(out + ".tmp", out)
sys.exit(status if status >= 0 else 128 - status)
