"""The same .mci without its MESHX index (section type 10), as a 1.3 file: the model and mesh
bytes unchanged, so benchmarks/parallel/run.py can compare reading with and without the index
in one run.
    python3 benchmarks/parallel/strip_index.py IN.mci OUT.mci
"""
import struct
import sys
import zlib


def strip(data):
    magic, major, minor, count = data[:8], *struct.unpack_from("<HHI", data, 8)
    entries = [struct.unpack_from("<IIQQII", data, 16 + 32 * i) for i in range(count)]
    kept = [e for e in entries if e[0] != 10]
    if len(kept) == len(entries):
        raise SystemExit("strip_index.py: the file has no MESHX section")
    payloads = [data[e[2]:e[2] + e[3]] for e in kept]
    out = bytearray(magic + struct.pack("<HHI", major, 3, len(kept)))
    offset = 16 + 32 * len(kept)
    for (kind, flags, _, length, _, _), payload in zip(kept, payloads):
        out += struct.pack("<IIQQII", kind, flags, offset, length, zlib.crc32(payload), 0)
        offset += length
    for payload in payloads:
        out += payload
    return bytes(out)


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    with open(sys.argv[2], "wb") as f:
        f.write(strip(data))
