"""Synthetic Kineto-style traces of any size with a known answer, for tests and benchmarks.

A trace is a sequence of profiler steps. Each step follows one of a few seeded templates laid out on an
integer grid of ticks: compute kernels back to back (some touching, one of zero length) on a main stream,
grouped GEMMs on a second compute stream overlapping them, NCCL and DeepEP kernels on a communication
stream (some hidden under compute, some exposed, a DeepEP layout kernel that computes, a cast kernel as
DeepSeek runs beside its dispatch), and copies and sets. Around them sit what Kineto writes on the CPU: the
operators, the runtime launches, the flow arrows between them, the step annotation. Event text looks like
Kineto's (indented, `args` with dims and types; a name written once with a \\u escape and once in raw UTF-8).

The answer of each template comes from painting its ticks on arrays, independent of any interval union;
the trace's answer is the sum over its steps (steps never overlap). Timestamps are absolute integer
microseconds (1 tick = 1 us, as in DeepSeek's published traces) or, with ``timestamps="relative"``, floats
relative to ``baseTimeNanoseconds`` (1 tick = 1/8 us, exact in binary) as current PyTorch writes them.
"""

from __future__ import annotations

import gzip as gzip_module
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .analysis import RankFigures

COMPUTE_KERNELS = (
    "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, "
    "std::array<char*, 1ul> >(int, at::native::FillFunctor<float>, std::array<char*, 1ul>)",
    "void cutlass::device_kernel<deep_gemm::fp8_gemm_kernel<128u, 128u, 128u, 1u, 8u> >"
    "(deep_gemm::Params const&)",
    "void layer_norm::ln_fwd_kernel<layer_norm::Kernel_traits<__nv_bfloat16, __nv_bfloat16, float, 7168u> >"
    "(layer_norm::FwdParams)",
    "void flash::compute_attn_ws<Flash_fwd_kernel_traits<192, 128, 128, 12, 2, false, 1, "
    "cutlass::bfloat16_t> >(flash::Flash_fwd_params)",
    "rotary_kernel",
    'void fused_moe_kernel<"\u00b5-route">(float const*, int)',  # written escaped and in raw UTF-8
    "void deep_ep::layout::get_dispatch_layout<256, 32, 8>(long const*, int*, int*, bool*, int, int, int)",
)
GROUPED_GEMM = (
    "void cutlass::device_kernel<dpsk::grouped_gemm::cuda::fp8_dptp128c_acc::GemmKernel>(dpsk::Params)"
)
CAST_KERNEL = (
    "void cuda::per_token_cast_to_fp8_with_channels<__nv_bfloat16, 128, false, 128, false>(int, float*)"
)
COMM_KERNELS = (
    "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)",
    "ncclKernel_AllGather_RING_LL_Sum_int8_t(ncclWorkElem)",
    "void deep_ep::internode::dispatch<false, 8, true, 8>(int4*, float*, long*, float*, int)",
    "void dpsk::ep::internode::combine<false, 8, __nv_bfloat16, 8, 2, 16, 24>(int4*, float*, bool*)",
    "void deep_ep::intranode::notify_dispatch<8>(int const*, int*, int, int const*, int*, int, int)",
)
MEMORY_OPS = (("gpu_memcpy", "Memcpy DtoD (Device -> Device)"), ("gpu_memset", "Memset (Device)"))
CPU_OPS = ("aten::mm", "aten::add_", "aten::copy_", "aten::_foreach_mul_", "aten::layer_norm")
STREAM_MAIN, STREAM_GEMM, STREAM_COMM, STREAM_COPY = 7, 23, 27, 8
HOST_PID, HOST_TID = 4242, 4242
BASE_US = 1_740_461_679_000_000  # absolute microseconds (February 2025, as DeepSeek's traces)
BASE_NS = 1_790_857_026_000_000_000  # baseTimeNanoseconds for relative timestamps
TEMPLATES = 8


class Expected(RankFigures, kw_only=True):
    """The known answer of one rank's trace: the figures ``analyze`` must give for it (the same record, its
    derived shares computed the same way), and a few more. Times in microseconds."""

    stream_busy_us: dict[int, float] = {}
    kernel_totals: dict[str, tuple[int, float]] = {}  # name -> (count, total_us)
    bytes: int = 0  # JSON text written


@dataclass
class _Device:
    kind: str  # compute, comm, memory
    stream: int
    name: str
    start: int
    dur: int
    cat: str = "kernel"


@dataclass
class _Template:
    text: str  # events of one step, with %s for every time and id
    slots: list[tuple[str, int]]  # ("t", tick offset) or ("id", offset within the step's ids)
    period: int  # ticks from this step's start to the next's
    first: int  # first device tick
    last: int  # last device tick
    answer: dict[str, int]
    streams: dict[int, int]
    totals: dict[str, tuple[int, int]]
    counts: dict[str, int]


def _layout(rng: random.Random, slow: float) -> list[_Device]:
    ev: list[_Device] = []
    t = 0
    n = rng.randint(20, 36)
    for i in range(n):
        name = rng.choice(COMPUTE_KERNELS)
        dur = 0 if i == n // 2 else max(1, round(rng.randint(5, 300) * slow))
        ev.append(_Device("compute", STREAM_MAIN, name, t, dur))
        t += dur + rng.choice((0, 0, 1, 2, 5, 11, 20))  # 0: the next kernel touches this one
    main_end = t
    for _ in range(rng.randint(2, 5)):
        start = rng.randint(0, max(1, main_end - 50))
        ev.append(
            _Device("compute", STREAM_GEMM, GROUPED_GEMM, start, max(1, round(rng.randint(50, 700) * slow)))
        )
    c = rng.randint(0, 40)
    for _ in range(rng.randint(2, 6)):
        if rng.random() < 0.25:
            dur = rng.randint(10, 60)
            ev.append(_Device("compute", STREAM_COMM, CAST_KERNEL, c, dur))
        else:
            dur = rng.randint(40, 1500)
            ev.append(_Device("comm", STREAM_COMM, rng.choice(COMM_KERNELS), c, dur))
        c += dur + rng.choice((0, 3, 40, 200))
    for _ in range(rng.randint(1, 3)):
        cat, name = rng.choice(MEMORY_OPS)
        start = rng.randint(0, max(1, main_end - 10))
        ev.append(_Device("memory", STREAM_COPY, name, start, rng.randint(1, 30), cat))
    return ev


def _paint(ev: list[_Device], end: int) -> tuple[dict[str, int], dict[int, int]]:
    """Ticks covered by each kind, their overlap and each stream's busy ticks: the known answer."""
    grids = {k: bytearray(end) for k in ("busy", "compute", "comm", "memory")}
    streams: dict[int, bytearray] = {}
    for e in ev:
        ones = b"\x01" * e.dur
        for g in (grids["busy"], grids[e.kind], streams.setdefault(e.stream, bytearray(end))):
            g[e.start : e.start + e.dur] = ones
    answer = {k: g.count(1) for k, g in grids.items()}
    both = int.from_bytes(grids["compute"], "little") & int.from_bytes(grids["comm"], "little")
    answer["overlap"] = bin(both).count("1")
    return answer, {s: g.count(1) for s, g in streams.items()}


def _event(*lines: str, args: tuple[str, ...] = ()) -> str:
    """One event as Kineto indents it; each line a few "key": value pairs, ``%s`` where a time or id goes."""
    text = "  {\n    " + ",\n    ".join(lines)
    if args:
        text += ',\n    "args": {\n      ' + ",\n      ".join(args) + "\n    }"
    return text + "\n  }"


HOST = f'"pid": {HOST_PID}, "tid": {HOST_TID}'


def _kernel_json(e: _Device, escape: bool) -> str:
    name = json.dumps(e.name, ensure_ascii=escape).replace("%", "%%")
    where = f'"device": 0, "context": 1, "stream": {e.stream}, "correlation": %s'
    args: tuple[str, ...]
    if e.cat == "kernel":
        args = (
            '"External id": %s, "queued": 0',
            where,
            '"registers per thread": 128, "shared memory": 0, "blocks per SM": 1.5, "warps per SM": 6.0',
            '"grid": [132, 1, 1], "block": [384, 1, 1], "est. achieved occupancy %%": 19',
        )
    else:
        args = ('"External id": %s', where, '"bytes": 1048576')
    return _event(
        f'"ph": "X", "cat": "{e.cat}", "name": {name}',
        f'"pid": 0, "tid": {e.stream}',
        '"ts": %s, "dur": %s',
        args=args,
    )


CPU_OP_ARGS = (
    '"External id": %s, "Record function id": 0, "Sequence number": %s, "Fwd thread id": 0',
    '"Input Dims": [[4096, 7168], [7168, 2048], []]',
    '"Input type": ["c10::BFloat16", "c10::BFloat16", "Scalar"]',
    '"Input Strides": [[7168, 1], [1, 7168], []], "Concrete Inputs": ["", "", "1"]',
    '"Ev Idx": %s',
)


def _template(rng: random.Random, slow: float) -> _Template:
    ev = _layout(rng, slow)
    first = min(e.start for e in ev)
    last = max(e.start + e.dur for e in ev)
    answer, streams = _paint(ev, last)
    parts: list[str] = []
    slots: list[tuple[str, int]] = []
    ids = 0
    period = last + rng.randint(20, 200)
    parts.append(
        _event(
            '"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#%s"',
            HOST,
            '"ts": %s, "dur": %s',
            args=('"External id": %s',),
        )
    )
    slots += [("step", 0), ("t", -40), ("d", period - 10), ("id", ids)]
    ids += 1
    for i, e in enumerate(ev):
        # The CPU operator and the runtime call that launched it, and Kineto's flow arrow between them.
        op = rng.choice(CPU_OPS)
        call = {"kernel": "cudaLaunchKernel", "gpu_memcpy": "cudaMemcpyAsync"}.get(e.cat, "cudaMemsetAsync")
        host = e.start - 30 - rng.randint(0, 20)
        parts += [
            _event(
                f'"ph": "X", "cat": "cpu_op", "name": "{op}"', HOST, '"ts": %s, "dur": 12', args=CPU_OP_ARGS
            ),
            _event(
                f'"ph": "X", "cat": "cuda_runtime", "name": "{call}"',
                HOST,
                '"ts": %s, "dur": 6',
                args=('"External id": %s, "cbid": 211, "correlation": %s',),
            ),
            _event('"ph": "s", "id": %s', HOST, '"ts": %s, "cat": "ac2g", "name": "ac2g"'),
            _event(
                f'"ph": "f", "id": %s, "pid": 0, "tid": {e.stream}',
                '"ts": %s, "cat": "ac2g", "name": "ac2g", "bp": "e"',
            ),
            _kernel_json(e, escape=(i % 5 == 0)),
        ]
        ext, corr = ids, ids + 1
        slots += [("t", host), ("id", ext), ("id", ext), ("id", ext)]  # operator
        slots += [("t", host + 3), ("id", ext), ("id", corr)]  # runtime call
        slots += [("id", corr), ("t", host + 3), ("id", corr), ("t", e.start)]  # flow
        slots += [("t", e.start), ("d", e.dur), ("id", ext), ("id", corr)]  # the kernel, copy or set
        ids += 2
    totals: dict[str, tuple[int, int]] = {}
    counts = {"kernels": 0, "comm_kernels": 0, "memory_ops": 0}
    for e in ev:
        n, tot = totals.get(e.name, (0, 0))
        totals[e.name] = (n + 1, tot + e.dur)
        if e.kind == "memory":
            counts["memory_ops"] += 1
        else:
            counts["kernels"] += 1
            counts["comm_kernels"] += e.kind == "comm"
    return _Template(",\n".join(parts), slots, period, first, last, answer, streams, totals, counts)


def _header(rank: int, world_size: int, relative: bool) -> str:
    props = ", ".join(
        f'{{"id": {i}, "name": "NVIDIA H800", "totalGlobalMem": 84943110144, "numSms": 132}}'
        for i in range(8)
    )
    head = (
        '{\n  "schemaVersion": 1,\n  "deviceProperties": [\n    ' + props + "\n  ],\n"
        f'  "distributedInfo": {{"backend": "nccl", "rank": {rank}, "world_size": {world_size}}},\n'
    )
    if relative:
        head += f'  "displayTimeUnit": "ms",\n  "baseTimeNanoseconds": {BASE_NS},\n'
    return head + '  "traceEvents": [\n'


def _footer(name: str) -> str:
    meta = ",\n".join(
        f'  {{\n    "name": "{kind}", "ph": "M", "ts": 0, "pid": {pid}, "tid": {tid},\n'
        f'    "args": {{\n      "name": "{label}"\n    }}\n  }}'
        for kind, pid, tid, label in (
            ("process_name", HOST_PID, 0, "python3"),
            ("process_name", 0, 0, "python3"),
            ("thread_name", 0, STREAM_MAIN, f"stream {STREAM_MAIN} "),
            ("thread_name", 0, STREAM_COMM, f"stream {STREAM_COMM} "),
        )
    )
    return f',\n{meta}\n  ],\n  "traceName": "{name}"\n}}\n'


def generate(
    path: str | os.PathLike,
    *,
    target_bytes: int | None = None,
    steps: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    seed: int = 0,
    timestamps: str = "absolute",
    slow: float = 1.0,
) -> Expected:
    """Write one rank's trace to ``path`` (gzip-compressed when it ends in ``.gz``) with ``steps`` profiler
    steps, or as many as reach ``target_bytes`` of JSON text; return its known answer.

    ``slow`` stretches compute kernels (a straggler); ``timestamps`` is ``absolute`` (integer microseconds) or
    ``relative`` (floats from ``baseTimeNanoseconds``).

    Example::

        expected = generate("/tmp/rank0.json", steps=20)
    """
    if timestamps not in ("absolute", "relative"):
        raise InputError(f"expected 'absolute' or 'relative', got {timestamps!r}", field="timestamps")
    if (steps is None) == (target_bytes is None):
        raise InputError("give either steps or target_bytes")
    if steps is not None and steps < 1:
        raise InputError(f"must be >= 1, got {steps}", field="steps")
    if not slow > 0:
        raise InputError(f"must be > 0, got {slow}", field="slow")
    relative = timestamps == "relative"
    unit = 8 if relative else 1  # ticks per microsecond
    rng = random.Random(seed * 1_000_003 + rank)
    templates = [_template(random.Random(seed * 7919 + k), slow) for k in range(TEMPLATES)]
    base_tick = rank * 13 * unit  # ranks start a little apart
    origin = 0 if relative else BASE_US

    def ts(tick: int) -> str:
        if not relative:
            return str(origin + tick)
        whole, eighths = divmod(tick, 8)
        return f"{whole}.{eighths * 125:03d}"

    def dur(tick: int) -> str:
        return ts(tick) if relative else str(tick)

    counts = {"kernels": 0, "comm_kernels": 0, "memory_ops": 0}
    answer = {"busy": 0, "compute": 0, "comm": 0, "memory": 0, "overlap": 0}
    streams: dict[int, int] = {}
    totals: dict[str, list[int]] = {}
    first: int | None = None
    last = 0
    offset = base_tick + 1000 * unit
    written = 0
    path = Path(path)
    raw = open(path, "wb")  # noqa: SIM115 - closed below, through the gzip layer when there is one
    out = (
        gzip_module.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0)
        if path.suffix == ".gz"
        else raw
    )
    try:
        head = _header(rank, world_size, relative).encode()
        out.write(head)
        written += len(head)
        k = 0
        ids = 1
        while (steps is not None and k < steps) or (target_bytes is not None and written < target_bytes):
            tpl = templates[rng.randrange(TEMPLATES)]
            values = []
            for kind, v in tpl.slots:
                if kind == "t":
                    values.append(ts(offset + v))
                elif kind == "d":
                    values.append(dur(v))
                elif kind == "id":
                    values.append(str(ids + v))
                else:
                    values.append(str(k))
            text = (",\n" if k else "") + tpl.text % tuple(values)
            data = text.encode()
            out.write(data)
            written += len(data)
            ids += 10_000
            first = offset + tpl.first if first is None else first
            last = offset + tpl.last
            offset += tpl.period
            for key in answer:
                answer[key] += tpl.answer[key]
            for s, v in tpl.streams.items():
                streams[s] = streams.get(s, 0) + v
            for name, (n, tot) in tpl.totals.items():
                acc = totals.setdefault(name, [0, 0])
                acc[0] += n
                acc[1] += tot
            for key in counts:
                counts[key] += tpl.counts[key]
            k += 1
        tail = _footer(path.name).encode()
        out.write(tail)
        written += len(tail)
    finally:
        out.close()
        raw.close()
    return Expected(
        rank=rank,
        file=str(path),
        device=0,
        steps=k,
        kernels=counts["kernels"],
        comm_kernels=counts["comm_kernels"],
        memory_ops=counts["memory_ops"],
        span_us=(last - first) / unit if first is not None else 0.0,
        busy_us=answer["busy"] / unit,
        compute_us=answer["compute"] / unit,
        comm_us=answer["comm"] / unit,
        memory_us=answer["memory"] / unit,
        overlap_us=answer["overlap"] / unit,
        stream_busy_us={s: v / unit for s, v in sorted(streams.items())},
        kernel_totals={n: (c, t / unit) for n, (c, t) in totals.items()},
        bytes=written,
    )


def generate_ranks(
    directory: str | os.PathLike,
    ranks: int,
    *,
    steps: int | None = None,
    target_bytes: int | None = None,
    straggler: int | None = None,
    slow: float = 1.25,
    seed: int = 0,
    timestamps: str = "absolute",
    suffix: str = ".json",
) -> list[Expected]:
    """One trace per rank in ``directory`` (``rank{r}{suffix}``); rank ``straggler``'s compute kernels are
    ``slow`` times longer. Returns each rank's known answer."""
    if ranks < 1:
        raise InputError(f"must be >= 1, got {ranks}", field="ranks")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    return [
        generate(
            d / f"rank{r}{suffix}",
            steps=steps,
            target_bytes=target_bytes,
            rank=r,
            world_size=ranks,
            seed=seed,
            timestamps=timestamps,
            slow=slow if r == straggler else 1.0,
        )
        for r in range(ranks)
    ]
