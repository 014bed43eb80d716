"""The machine a benchmark ran on, as the reports state it (one implementation for every
benchmark script: benchmarks/bench.py, io/report.py, torch/report.py; benchmarks/decode may use it)."""
import os
import platform


def cpu_name():
    """The CPU's model name from /proc/cpuinfo (else platform.processor(), else "unknown CPU")."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def description():
    """{cpu, cores, python} of this machine and interpreter."""
    return dict(cpu=cpu_name(), cores=os.cpu_count(), python=platform.python_version())
