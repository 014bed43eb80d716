"""The CoordNetB training step of INRCore (forward + backward + Adam on MSE) in PyTorch on the
CPU, at the shapes `mcinr-bench` measures, for a same-machine comparison (docs/benchmarks/pytorch.md).

Same network as INRCore (docs/mci-format.md): NeRF positional encoding of (x, y, z, t) with
L = 6 → 52 inputs; `trunk` ResBlocks y = ½(S₂(S₁(x)) + T(x)) with SineLayer S(x) = sin(ω₀(Wx + b))
and T = identity, or a SineLayer when the width changes; per output component a branch of
`branch` ResBlocks and Linear(w → 1). FLOPs are counted as INRCore counts them: 2·in·out per row
for the forward product, the weight gradient and the input gradient (none for the first layers,
whose input is the encoding). Prints one JSON document.

usage: step.py [--threads N] [--repeats N] [--shapes 1024x32,1024x64,...]
"""
import argparse
import json
import math
import time

import torch
from torch import nn

L, OMEGA0, OUTPUTS, TRUNK, BRANCH = 6, 30.0, 6, 5, 6


class Sine(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x):
        return torch.sin(OMEGA0 * self.linear(x))


class ResBlock(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.s1, self.s2 = Sine(n_in, n_out), Sine(n_out, n_out)
        self.t = None if n_in == n_out else Sine(n_in, n_out)

    def forward(self, x):
        return 0.5 * (self.s2(self.s1(x)) + (x if self.t is None else self.t(x)))


class CoordNetB(nn.Module):
    def __init__(self, width):
        super().__init__()
        e = 4 * (1 + 2 * L)
        self.trunk = nn.Sequential(*[ResBlock(e if i == 0 else width, width) for i in range(TRUNK)])
        self.branches = nn.ModuleList(
            nn.Sequential(*[ResBlock(width, width) for _ in range(BRANCH)], nn.Linear(width, 1)) for _ in range(OUTPUTS))
        self.register_buffer("freqs", (2.0 ** torch.arange(L)) * math.pi)

    def forward(self, x):
        z = (x[:, None, :] * self.freqs[None, :, None]).reshape(x.shape[0], -1)
        h = self.trunk(torch.cat([x, torch.sin(z), torch.cos(z)], dim=1))
        return torch.cat([b(h) for b in self.branches], dim=1)


def flops_per_step(batch, width):
    """INRCore's analytic count (mcinr-bench): forward + weight grad + input grad, 2 per MAC."""
    e = 4 * (1 + 2 * L)
    first = [(e, width), (e, width)]                       # S1 and T of the first trunk block
    rest = [(width, width)]                                # its S2
    rest += [(width, width)] * (2 * (TRUNK - 1))
    rest += ([(width, width)] * (2 * BRANCH) + [(width, 1)]) * OUTPUTS
    macs_first = sum(i * o for i, o in first)
    macs_rest = sum(i * o for i, o in rest)
    return 2.0 * batch * (2 * macs_first + 3 * macs_rest)


def measure(batch, width, repeats):
    torch.manual_seed(1)
    model = CoordNetB(width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch, 4) * 2 - 1
    y = torch.rand(batch, OUTPUTS) * 2 - 1

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        opt.step()

    step()                                                # warm-up (allocations)
    best_wall, best_cpu = math.inf, math.inf
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        step()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.thread_time() - c0)
    gflop = flops_per_step(batch, width) / 1e9
    return dict(batch=batch, width=width, parameters=sum(p.numel() for p in model.parameters()),
                gflop=gflop, step_ms_wall=best_wall * 1e3, step_ms_cpu=best_cpu * 1e3,
                gflops_wall=gflop / best_wall, gflops_cpu=gflop / best_cpu)


def sgemm(batch, width, repeats):
    a, b = torch.rand(batch, width), torch.rand(width, width)
    torch.mm(a, b)
    best = math.inf
    for _ in range(repeats):
        t0 = time.thread_time()
        torch.mm(a, b)
        best = min(best, time.thread_time() - t0)
    return 2.0 * batch * width * width / best / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--shapes", default="4096x32,4096x64,4096x128,4096x256")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for shape in args.shapes.split(","):
        batch, width = (int(v) for v in shape.split("x"))
        row = measure(batch, width, args.repeats)
        row["torch_sgemm_gflops_cpu"] = sgemm(batch, width, args.repeats) if args.threads == 1 else None
        rows.append(row)
    print(json.dumps(dict(torch=torch.__version__, threads=args.threads, blas=torch.__config__.show(),
                          rows=rows), indent=1))


if __name__ == "__main__":
    main()
