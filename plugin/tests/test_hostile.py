"""pvpython test: the MC-INR reader answers every hostile file with an error, without a crash
or a hang (issue 24; the files: tools/make_test_mci.py --hostile, docs/mci-format.md "Limits").

  pvpython test_hostile.py --plugin MCINRReaderPlugin.so --dir DIR

DIR holds KIND.mci for each kind below (plugin/tests/run.sh makes them and runs this under
`timeout`). Each refused file gives an empty output and an error naming the file, the section
and the limit (and the TrustLargeFiles property where a limit, not the format, refuses it);
with TrustLargeFiles a legitimately large file opens; an open in progress reports progress and
stops when the user aborts; and the process still reads a good file afterwards.
"""
import argparse
import os
import struct
import sys
import time
import zlib

from paraview import servermanager
from paraview.simple import Delete, LoadPlugin
from vtkmodules.util.misc import calldata_type
from vtkmodules.vtkCommonCore import VTK_STRING

FAILURES = []

# kind: what the error must say (None: the file is valid and must open)
KINDS = {
    "nested-mesh": "section MESH: stored compressed (flag bit 1), but its content is already compressed",
    "stream-work": "section RESIDUAL: validating 10000 non-empty streams",
    "long-chain": "every prediction chain restarts at the multiples of 8 steps",
    "weights": "section NETS: inflating the section would bring the memory of this open",
    "wide-tree": "section TREE: 200000 top-level nodes, beyond the limit of 4096",
    "deep-tree": "section TREE: node 129 lies at depth 65, beyond the limit of 64",
    "huge-bbox": "section META: the bounding box on axis 0, [-1e+308, 1e+308], is too large",
    "large-mesh": "section MESH: inflating the mesh would bring the memory of this open",
    "empty-streams": None,
}
LIMITS = ("stream-work", "weights", "wide-tree", "deep-tree", "large-mesh")


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message, flush=True)
    if not condition:
        FAILURES.append(message)
    return condition


class Reader:
    """A reader proxy with its vtkErrorMacro messages collected (builtin session)."""

    def __init__(self, path, trust=False, on_progress=None, validate=False):
        self.proxy = servermanager.sources.MCINRReader()
        self.messages = []
        self.algorithm = self.proxy.GetClientSideObject()

        @calldata_type(VTK_STRING)
        def on_error(_obj, _event, message):
            self.messages.append(message)

        self._callback = on_error
        for obj in (self.algorithm, self.algorithm.GetExecutive()):
            obj.AddObserver("ErrorEvent", on_error)
        if on_progress:
            self.algorithm.AddObserver("ProgressEvent", on_progress)
        self.proxy.TrustLargeFiles = 1 if trust else 0
        self.proxy.ValidateResidual = 1 if validate else 0
        started = time.monotonic()
        self.proxy.FileName = path  # the proxy asks for the information (the open) at once
        self.seconds = time.monotonic() - started

    def read(self):
        self.proxy.UpdatePipelineInformation()
        self.proxy.UpdatePipeline()
        return servermanager.Fetch(self.proxy)

    def text(self):
        return "\n".join(self.messages)

    def close(self):
        Delete(self.proxy)


def damaged_residual(path, out):
    """A copy of the error-bounded model at `path` whose first non-empty RESIDUAL stream starts
    with a changed byte (zstd's magic, or the range coder's first byte, which must be 0), its
    section CRC-32 repaired, written to `out`: a file whose table is valid and whose stream is
    not."""
    data = bytearray(open(path, "rb").read())
    count = struct.unpack_from("<I", data, 12)[0]
    for i in range(count):
        entry = 16 + 32 * i
        kind, _flags, offset, length = struct.unpack_from("<IIQQ", data, entry)
        if kind != 7:
            continue
        n, steps, comps = struct.unpack_from("<QII", data, offset)
        table = offset + 16 + 16 * comps
        at = table + 24 * steps * comps
        for k in range(steps * comps):
            size = struct.unpack_from("<Q", data, table + 24 * k + 16)[0]
            if size:
                data[at] ^= 0x01
                break
            at += size
        struct.pack_into("<I", data, entry + 24, zlib.crc32(bytes(data[offset:offset + length])) & 0xFFFFFFFF)
        open(out, "wb").write(data)
        return out
    raise SystemExit("%s has no RESIDUAL section" % path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--plugin", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--good", required=True, help="a valid model, read after the hostile ones")
    p.add_argument("--bounded", required=True, help="a valid error-bounded model (RESIDUAL), to damage")
    args = p.parse_args()
    LoadPlugin(args.plugin, remote=False, ns=globals())

    # A damaged residual stream: the open checks the residual's table only, so the file opens
    # and the first step that reads the stream fails with the decoder's message; with
    # ValidateResidual the open itself fails, with the same words.
    bad = damaged_residual(args.bounded, os.path.join(args.dir, "damaged-residual.mci"))
    r = Reader(bad)
    opened = r.text()
    out = r.read()
    text = r.text()
    check(not opened and out.GetNumberOfPoints() == 0 and "Cannot decode" in text and bad in text
          and "section RESIDUAL: stream of step 0 component" in text,
          "damaged residual stream: opens, and the step fails naming it: %s"
          % next((l for l in text.splitlines() if "RESIDUAL" in l), "(no message)")[-160:])
    r.close()
    r = Reader(bad, validate=True)
    out = r.read()
    text = r.text()
    check(out.GetNumberOfPoints() == 0 and "Cannot read MC-INR model" in text
          and "section RESIDUAL: stream of step 0 component" in text,
          "damaged residual stream, ValidateResidual: the open fails naming it: %s"
          % next((l for l in text.splitlines() if "RESIDUAL" in l), "(no message)")[-160:])
    r.close()

    for kind, mentions in KINDS.items():
        path = os.path.join(args.dir, kind + ".mci")
        r = Reader(path)
        started = time.monotonic()
        out = r.read()
        seconds = r.seconds + time.monotonic() - started
        text = r.text()
        line = next((l for l in text.splitlines() if "MC-INR" in l), "(no message)")
        if mentions is None:
            check(out.GetNumberOfPoints() > 0 and not text and seconds < 20,
                  "%s: valid, read in %.2f s (%d points)" % (kind, seconds, out.GetNumberOfPoints()))
        else:
            check(out.GetNumberOfPoints() == 0 and path in text and mentions in text and seconds < 20,
                  "%s: refused in %.2f s, empty output: %s" % (kind, seconds, line[:200]))
            if kind in LIMITS:
                check("ParaView: Trust Large Files" in text, "%s: the error names the TrustLargeFiles opt-in" % kind)
        r.close()

    # Trusted: the limits lifted for a legitimately large file; the format errors stay.
    r = Reader(os.path.join(args.dir, "large-mesh.mci"), trust=True)
    out = r.read()
    check(out.GetNumberOfPoints() == 1500000 and not r.text(),
          "large-mesh, TrustLargeFiles: %d points" % out.GetNumberOfPoints())
    r.proxy.TrustLargeFiles = 0  # reopened with the limits: refused again
    out = r.read()
    check(out.GetNumberOfPoints() == 0 and "inflating the mesh" in r.text(),
          "large-mesh, TrustLargeFiles switched off again: refused")
    r.close()
    r = Reader(os.path.join(args.dir, "nested-mesh.mci"), trust=True)
    out = r.read()
    check(out.GetNumberOfPoints() == 0 and "nested compression is not allowed" in r.text(),
          "nested-mesh, TrustLargeFiles: still a format error")
    r.close()

    # Progress and abort of the open: the trusted stream-work file asks for 6e9 units of
    # RESIDUAL validation (tens of seconds) when ValidateResidual asks for it at open; the
    # first progress event past 0.1 aborts it. Without it the open checks the table only.
    progress = []

    def on_progress(obj, _event):
        progress.append(obj.GetProgress())
        if obj.GetProgress() > 0.1:
            obj.SetAbortExecute(1)

    r = Reader(os.path.join(args.dir, "stream-work.mci"), trust=True)
    check(r.seconds < 5 and not r.text(), "stream-work, trusted: opened without validating the streams in %.2f s (%s)"
          % (r.seconds, r.text()))
    r.close()
    r = Reader(os.path.join(args.dir, "stream-work.mci"), trust=True, on_progress=on_progress, validate=True)
    seconds = r.seconds
    aborted = "was aborted" in r.text()
    out = r.read()
    check(aborted and out.GetNumberOfPoints() == 0 and seconds < 10,
          "stream-work, trusted, aborted while opening: stopped in %.2f s after %d progress events"
          % (seconds, len(progress)))
    check(len(progress) >= 2 and all(0.0 <= v <= 1.0 for v in progress) and max(progress) > 0.1,
          "progress reported while opening: %s" % ", ".join("%.3f" % v for v in progress[:8]))
    r.close()

    # Still alive: a good file reads normally.
    r = Reader(args.good)
    out = r.read()
    check(out.GetNumberOfPoints() > 0 and not r.text(), "a good file still reads (%d points)" % out.GetNumberOfPoints())
    r.close()

    print("%d failure(s)" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
