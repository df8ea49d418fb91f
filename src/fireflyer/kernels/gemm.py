"""FP8 GEMM with fine-grained scaling (DeepGEMM): inputs, quantization, references, backends.

D = A B^T in bf16, A [m, k] in e4m3 with one fp32 scale per 1x128, B [n, k] with one per 128x128 block.
Layouts: ``dense``; ``contiguous`` (groups stacked along m, each group occupying a multiple of 128 rows,
rows marked -1 in ``m_indices`` skipped); ``masked`` (A [groups, m, k], only the first masked_m[g] rows of
group g count). Correctness is DeepGEMM's: ``calc_diff`` below 1e-3 against the bf16 product of the
unquantized inputs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .. import device as devices
from ..errors import InputError
from .backends import Unsupported, load_vendor
from .cases import GEMM_ALIGN, GemmCase
from .formulas import FP8_MAX, SCALE_BLOCK, Cost, ceil_div, gemm_fp8
from .metrics import Check, calc_diff

TOLERANCE = 1e-3


def _scale(amax: torch.Tensor, ue8m0: bool) -> torch.Tensor:
    s = amax.float().clamp_min(1e-4) / FP8_MAX
    return torch.pow(2.0, s.log2().ceil()) if ue8m0 else s


def quantize_rows(x: torch.Tensor, *, ue8m0: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """[..., r, k] -> e4m3 [..., r, k] and fp32 scales [..., r, k/128] (one per 1x128; DeepGEMM's
    ``per_token_cast_to_fp8``); ``ue8m0`` rounds scales up to powers of two (what SM100 kernels take)."""
    k = x.shape[-1]
    if k % SCALE_BLOCK:
        raise InputError(f"k {k} is not a multiple of {SCALE_BLOCK}", field="k")
    v = x.float().unflatten(-1, (k // SCALE_BLOCK, SCALE_BLOCK))
    s = _scale(v.abs().amax(dim=-1), ue8m0)
    return (v / s.unsqueeze(-1)).to(torch.float8_e4m3fn).flatten(-2), s


def quantize_blocks(x: torch.Tensor, *, ue8m0: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """[..., n, k] -> e4m3 [..., n, k] and fp32 scales [..., ceil(n/128), k/128] (one per 128x128; DeepGEMM's
    ``per_block_cast_to_fp8``; rows padded with zeros to a multiple of 128 for the scales)."""
    *lead, n, k = x.shape
    if k % SCALE_BLOCK:
        raise InputError(f"k {k} is not a multiple of {SCALE_BLOCK}", field="k")
    nb = ceil_div(n, SCALE_BLOCK)
    pad = torch.zeros(*lead, nb * SCALE_BLOCK, k, dtype=torch.float32, device=x.device)
    pad[..., :n, :] = x.float()
    v = pad.view(*lead, nb, SCALE_BLOCK, k // SCALE_BLOCK, SCALE_BLOCK)
    s = _scale(v.abs().amax(dim=(-3, -1)), ue8m0)  # [..., nb, kb]
    q = (v / s.unsqueeze(-1).unsqueeze(-3)).to(torch.float8_e4m3fn).view(*lead, nb * SCALE_BLOCK, k)
    return q[..., :n, :].contiguous(), s


def dequantize_rows(x8: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The inverse of ``quantize_rows``, in fp32, by expanding each scale over its 128 values."""
    return x8.float() * s.repeat_interleave(SCALE_BLOCK, dim=-1)[..., : x8.shape[-1]]


def dequantize_blocks(x8: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The inverse of ``quantize_blocks``, in fp32, by expanding each scale over its 128x128 block."""
    n, k = x8.shape[-2:]
    full = s.repeat_interleave(SCALE_BLOCK, dim=-2)[..., :n, :].repeat_interleave(SCALE_BLOCK, dim=-1)
    return x8.float() * full[..., :k]


@dataclass
class GemmInputs:
    case: GemmCase
    a: torch.Tensor
    """Unquantized A in bf16: [M, k] (dense, contiguous) or [groups, m, k] (masked)."""
    b: torch.Tensor
    """Unquantized B in bf16: [groups, n, k]."""
    a8: torch.Tensor
    sa: torch.Tensor
    b8: torch.Tensor
    sb: torch.Tensor
    """Block scales of B: [groups, ceil(n/128), k/128]."""
    ue8m0: bool
    m_indices: torch.Tensor | None = None
    """contiguous: [M] int32, the group of each row or -1."""
    group_m: list[int] = field(default_factory=list)
    """Valid rows per group (contiguous and masked)."""
    group_rows: list[int] = field(default_factory=list)
    """contiguous: rows each group occupies (its valid rows, then -1 rows), multiples of 128."""
    masked_m: torch.Tensor | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def device(self) -> torch.device:
        return self.a.device

    def valid_rows(self) -> torch.Tensor | None:
        """Rows of D that count (contiguous: rows of a group; masked: [groups, m] mask); None: all."""
        if self.case.layout == "contiguous":
            assert self.m_indices is not None
            return self.m_indices >= 0
        if self.case.layout == "masked":
            rows = torch.arange(self.case.m, device=self.device)
            return rows.unsqueeze(0) < torch.tensor(self.group_m, device=self.device).unsqueeze(1)
        return None

    def cost(self) -> Cost:
        c = self.case
        if c.layout == "dense":
            return gemm_fp8(c.m, c.n, c.k)
        if c.layout == "contiguous":
            return gemm_fp8(self.a.shape[0], c.n, c.k, groups=c.groups)
        return gemm_fp8(sum(self.group_m), c.n, c.k, groups=c.groups)


def input_bytes(case: GemmCase, rows: int) -> int:
    return rows * case.k * 8 + case.groups * case.n * case.k * 8 + rows * case.n * 10


def working_bytes(case: GemmCase) -> int:
    """Peak bytes of one case: its inputs and D, plus the fp32 copies of A, B and D the ground truth and
    the reference multiply in (contiguous groups counted at their largest, 1.3 m rows each, aligned)."""
    if case.layout == "contiguous":
        most = ceil_div(int(case.m * 1.3) + 1, GEMM_ALIGN) * GEMM_ALIGN
        rows = sum(case.group_rows or [most] * case.groups)
    else:
        rows = case.m * (case.groups if case.layout == "masked" else 1)
    fp32 = 4 * (rows * case.k + case.groups * case.n * case.k + rows * case.n)
    return input_bytes(case, rows) + fp32


def check_contiguous(m_indices: torch.Tensor, groups: int) -> None:
    """A contiguous layout as DeepGEMM takes it: each group's rows (then its -1 padding) form one run that
    starts on a multiple of 128 rows; InputError naming the first group that does not."""
    ids = m_indices.tolist()
    if len(ids) % GEMM_ALIGN:
        raise InputError(
            f"{len(ids)} rows in all; contiguous groups must be aligned to {GEMM_ALIGN} rows",
            field="m_indices",
        )
    for start in range(0, len(ids), GEMM_ALIGN):
        owners = {g for g in ids[start : start + GEMM_ALIGN] if g >= 0}
        if len(owners) > 1:
            raise InputError(
                f"rows {start}..{start + GEMM_ALIGN - 1} hold groups {sorted(owners)}; contiguous groups "
                f"must be aligned to {GEMM_ALIGN} rows",
                field="m_indices",
            )
        if any(not 0 <= g < groups for g in owners):
            raise InputError(f"group id {sorted(owners)} outside 0..{groups - 1}", field="m_indices")


def make_inputs(case: GemmCase, dev: torch.device | str = "cpu", *, ue8m0: bool = False) -> GemmInputs:
    """Seeded inputs as DeepGEMM's tests make them: A and B ~ N(0, 1) in bf16; contiguous groups of
    0.7x to 1.3x ``m`` valid rows padded with zero rows marked -1 to a multiple of 128 (or ``group_rows``);
    masked groups with 0.7x to 1.3x ``expected_m`` valid rows (at most m)."""
    dev = torch.device(dev)
    rng = random.Random(case.seed)
    gen = torch.Generator(device=dev).manual_seed(case.seed)
    g = case.groups
    group_m: list[int] = []
    rows: list[int] = []
    if case.layout == "contiguous":
        if case.group_rows is not None:
            rows = list(case.group_rows)
            group_m = [max(1, r - rng.randrange(min(r, SCALE_BLOCK))) for r in rows]
        else:
            group_m = [max(1, int(case.m * rng.uniform(0.7, 1.3))) for _ in range(g)]
            rows = [ceil_div(n, GEMM_ALIGN) * GEMM_ALIGN for n in group_m]
        total = sum(rows)
    elif case.layout == "masked":
        assert case.expected_m is not None
        group_m = [min(case.m, int(case.expected_m * rng.uniform(0.7, 1.3))) for _ in range(g)]
        total = g * case.m
    else:
        total = case.m
    devices.check_fits(input_bytes(case, total), dev, f"the inputs of gemm case {case.shape()}")
    a = torch.randn(total, case.k, generator=gen, device=dev).to(torch.bfloat16)
    b = torch.randn(g, case.n, case.k, generator=gen, device=dev).to(torch.bfloat16)
    m_indices = None
    if case.layout == "contiguous":
        m_indices = torch.full((total,), -1, dtype=torch.int32)
        start = 0
        for gi, (n_valid, r) in enumerate(zip(group_m, rows)):
            m_indices[start : start + n_valid] = gi
            a[start + n_valid : start + r] = 0  # NOTE: DeepGEMM's tests zero the padding rows
            start += r
        check_contiguous(m_indices, g)
    if case.layout == "masked":
        a = a.view(g, case.m, case.k)
    a8, sa = quantize_rows(a, ue8m0=ue8m0)
    b8, sb = quantize_blocks(b, ue8m0=ue8m0)
    return GemmInputs(
        case=case,
        a=a,
        b=b,
        a8=a8,
        sa=sa,
        b8=b8,
        sb=sb,
        ue8m0=ue8m0,
        m_indices=None if m_indices is None else m_indices.to(dev),
        group_m=group_m,
        group_rows=rows,
        masked_m=torch.tensor(group_m, dtype=torch.int32).to(dev) if case.layout == "masked" else None,
    )


def truth(inp: GemmInputs) -> torch.Tensor:
    """The bf16 product of the unquantized inputs (fp32 accumulation): what every backend is checked
    against. Rows that do not count are zero."""
    c = inp.case
    b = inp.b.float()
    if c.layout == "dense":
        return (inp.a.float() @ b[0].T).to(torch.bfloat16)
    if c.layout == "masked":
        out = torch.bmm(inp.a.float(), b.transpose(1, 2))
    else:
        assert inp.m_indices is not None
        out = torch.zeros(inp.a.shape[0], c.n, device=inp.device)
        for gi in range(c.groups):
            rows = inp.m_indices == gi
            out[rows] = inp.a[rows].float() @ b[gi].T
    valid = inp.valid_rows()
    if valid is not None:
        out = out * valid.unsqueeze(-1)
    return out.to(torch.bfloat16)


def reference(inp: GemmInputs) -> torch.Tensor:
    """Dequantize, then multiply in fp32 (torch has no block-scaled kernel on every device): scales
    expanded over their blocks, one product per group; rows that do not count are zero."""
    c = inp.case
    a = dequantize_rows(inp.a8, inp.sa)
    b = dequantize_blocks(inp.b8, inp.sb)
    if c.layout == "dense":
        return (a @ b[0].T).to(torch.bfloat16)
    if c.layout == "masked":
        out = torch.zeros(c.groups, c.m, c.n, device=inp.device)
        for gi, rows in enumerate(inp.group_m):
            out[gi, :rows] = a[gi, :rows] @ b[gi].T
        return out.to(torch.bfloat16)
    assert inp.m_indices is not None
    out = torch.zeros(a.shape[0], c.n, device=inp.device)
    for gi in range(c.groups):
        in_group = inp.m_indices == gi
        out[in_group] = a[in_group] @ b[gi].T
    return out.to(torch.bfloat16)


# ---- backends ----------------------------------------------------------------------------------------


def _broadcast_dequant(inp: GemmInputs) -> tuple[Callable[[], torch.Tensor], Callable[[], torch.Tensor]]:
    """Dequantizers that scale by broadcasting over [blocks, 128] views (no expanded scale tensors)."""
    c = inp.case
    kb, nb = c.k // SCALE_BLOCK, ceil_div(c.n, SCALE_BLOCK)

    def a() -> torch.Tensor:
        return (inp.a8.float().unflatten(-1, (kb, SCALE_BLOCK)) * inp.sa.unsqueeze(-1)).flatten(-2)

    def b() -> torch.Tensor:
        x = inp.b8.float()
        if nb * SCALE_BLOCK != c.n:
            x = F.pad(x, (0, 0, 0, nb * SCALE_BLOCK - c.n))
        x = x.view(c.groups, nb, SCALE_BLOCK, kb, SCALE_BLOCK) * inp.sb[:, :, None, :, None]
        return x.view(c.groups, nb * SCALE_BLOCK, c.k)[:, : c.n]

    return a, b


def _scaled_mm(
    inp: GemmInputs,
) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """torch's block-scaled FP8 matmul (``F.scaled_mm`` with BlockWise1x128 x BlockWise128x128, cuBLASLt on
    SM90+): A's scales outer-dim major with rows padded to a multiple of 4, B's K blocks padded to 4."""
    sf = F.ScalingType

    def mm(a8: torch.Tensor, sa: torch.Tensor, b8: torch.Tensor, sb: torch.Tensor) -> torch.Tensor:
        m = a8.shape[0]
        pad = -m % 4
        if pad:
            a8 = F.pad(a8.view(torch.uint8), (0, 0, 0, pad)).view(torch.float8_e4m3fn)
            sa = F.pad(sa, (0, 0, 0, pad), value=1.0)
        kpad = -sb.shape[-1] % 4
        if kpad:
            sb = F.pad(sb, (0, kpad), value=1.0)
        out = F.scaled_mm(
            a8,
            b8.t(),
            sa.t().contiguous().t(),
            sf.BlockWise1x128,
            sb.t(),
            sf.BlockWise128x128,
            output_dtype=torch.bfloat16,
        )
        return out[:m]

    return mm


def prepare_reference(inp: GemmInputs) -> Callable[[], torch.Tensor]:
    return lambda: reference(inp)


def prepare_torch(inp: GemmInputs) -> Callable[[], torch.Tensor]:
    """The fastest stock torch path: on CUDA ``F.scaled_mm`` with block scales where cuBLASLt takes them
    (else dequantize to bf16 and multiply); on CPU dequantize by broadcasting and multiply in fp32, the
    masked layout as one batched product."""
    c, dev = inp.case, inp.device
    deq_a, deq_b = _broadcast_dequant(inp)
    if dev.type == "cuda":
        runs = _grouped_calls(inp, _scaled_mm(inp))
        try:
            diff = check(runs(), reference(inp), inp).error_metric
        except (RuntimeError, NotImplementedError, ValueError) as e:
            why = f"F.scaled_mm refused: {str(e).splitlines()[0]}"
        else:
            # NOTE: the same dequantized product in fp32 accumulation: any real difference is a layout error
            if diff < 1e-5:
                inp.notes.append("torch path: F.scaled_mm (BlockWise1x128 x BlockWise128x128)")
                return runs
            why = f"F.scaled_mm differs from the dequantized product (calc_diff {diff:.2g})"
        inp.notes.append(f"torch path: dequantize + bf16 matmul ({why})")
        dtype = torch.bfloat16
    else:
        inp.notes.append("torch path: dequantize (broadcast scales) + fp32 matmul")
        dtype = torch.float32

    def run() -> torch.Tensor:
        a, b = deq_a().to(dtype), deq_b().to(dtype)
        if c.layout == "dense":
            return (a @ b[0].T).to(torch.bfloat16)
        if c.layout == "masked":
            return torch.bmm(a, b.transpose(1, 2)).to(torch.bfloat16)
        assert inp.m_indices is not None
        out = torch.zeros(a.shape[0], c.n, dtype=torch.bfloat16, device=dev)
        start = 0
        for gi, rows in enumerate(inp.group_rows):
            out[start : start + rows] = (a[start : start + rows] @ b[gi].T).to(torch.bfloat16)
            start += rows
        return out

    return run


def _grouped_calls(inp: GemmInputs, mm: Callable) -> Callable[[], torch.Tensor]:
    c = inp.case
    if c.layout == "dense":
        return lambda: mm(inp.a8, inp.sa, inp.b8[0], inp.sb[0])
    if c.layout == "masked":
        out = torch.zeros(c.groups, c.m, c.n, dtype=torch.bfloat16, device=inp.device)

        def masked() -> torch.Tensor:
            for gi, rows in enumerate(inp.group_m):
                if rows:
                    out[gi, :rows] = mm(inp.a8[gi, :rows], inp.sa[gi, :rows], inp.b8[gi], inp.sb[gi])
            return out

        return masked
    spans = inp.group_rows
    out = torch.zeros(inp.a8.shape[0], c.n, dtype=torch.bfloat16, device=inp.device)

    def contiguous() -> torch.Tensor:
        start = 0
        for gi, rows in enumerate(spans):
            out[start : start + rows] = mm(
                inp.a8[start : start + rows], inp.sa[start : start + rows], inp.b8[gi], inp.sb[gi]
            )
            start += rows
        return out

    return contiguous


def _accepts(fn: object, name: str) -> bool:
    return name in (getattr(fn, "__doc__", None) or "")


def prepare_deep_gemm(inp: GemmInputs) -> Callable[[], torch.Tensor]:
    """DeepGEMM 2.x (``fp8_gemm_nt``, ``m_grouped_fp8_gemm_nt_contiguous``, ``m_grouped_fp8_gemm_nt_masked``),
    or 1.x (``gemm_fp8_fp8_bf16_nt``, ``m_grouped_gemm_fp8_fp8_bf16_nt_contiguous`` / ``_masked``) where the
    2.x names are absent. SM90 takes fp32 scales as they are; SM100 takes power-of-two (UE8M0) scales."""
    c, dev = inp.case, inp.device
    if dev.type != "cuda":
        raise Unsupported("DeepGEMM runs on CUDA only")
    dg = load_vendor("deep_gemm")
    v2 = hasattr(dg, "fp8_gemm_nt")
    if not v2 and not hasattr(dg, "gemm_fp8_fp8_bf16_nt"):
        raise Unsupported(
            "deep_gemm has neither the 2.x (fp8_gemm_nt) nor the 1.x (gemm_fp8_fp8_bf16_nt) API"
        )
    sa = inp.sa
    if not v2 and hasattr(dg, "get_col_major_tma_aligned_tensor"):
        sa = dg.get_col_major_tma_aligned_tensor(sa)  # NOTE: 1.x wants TMA-aligned column-major A scales
    a, b = (inp.a8, sa), (inp.b8, inp.sb)
    inp.notes.append(f"deep_gemm {'2.x' if v2 else '1.x'} API")
    if c.layout == "contiguous":
        getter = getattr(dg, "get_mk_alignment_for_contiguous_layout", None) or getattr(
            dg, "get_m_alignment_for_contiguous_layout", None
        )
        setter = getattr(dg, "set_mk_alignment_for_contiguous_layout", None)
        if setter is not None:
            setter(GEMM_ALIGN)
        align = getter() if getter is not None else GEMM_ALIGN
        if GEMM_ALIGN % align:
            raise Unsupported(
                f"this DeepGEMM aligns contiguous groups to {align} rows, the case to {GEMM_ALIGN}"
            )
    if c.layout == "dense":
        d = torch.empty(c.m, c.n, dtype=torch.bfloat16, device=dev)
        if v2:
            fn = dg.fp8_gemm_nt
            kw = {"disable_ue8m0_cast": not inp.ue8m0} if _accepts(fn, "disable_ue8m0_cast") else {}
            return lambda: (fn((a[0], a[1]), (b[0][0], b[1][0]), d, **kw), d)[1]
        return lambda: (dg.gemm_fp8_fp8_bf16_nt(a, (b[0][0], b[1][0]), d), d)[1]
    if c.layout == "contiguous":
        d = torch.empty(inp.a8.shape[0], c.n, dtype=torch.bfloat16, device=dev)
        if v2:
            fn = dg.m_grouped_fp8_gemm_nt_contiguous
            kw = {"disable_ue8m0_cast": not inp.ue8m0} if _accepts(fn, "disable_ue8m0_cast") else {}
            return lambda: (fn(a, b, d, inp.m_indices, **kw), d)[1]
        return lambda: (dg.m_grouped_gemm_fp8_fp8_bf16_nt_contiguous(a, b, d, inp.m_indices), d)[1]
    assert c.expected_m is not None
    d = torch.empty(c.groups, c.m, c.n, dtype=torch.bfloat16, device=dev)
    if v2:
        fn = dg.m_grouped_fp8_gemm_nt_masked
        kw = {"disable_ue8m0_cast": not inp.ue8m0} if _accepts(fn, "disable_ue8m0_cast") else {}
        return lambda: (fn(a, b, d, inp.masked_m, c.expected_m, **kw), d)[1]
    return lambda: (dg.m_grouped_gemm_fp8_fp8_bf16_nt_masked(a, b, d, inp.masked_m, c.expected_m), d)[1]


PREPARE = {"reference": prepare_reference, "torch": prepare_torch, "deep_gemm": prepare_deep_gemm}


def check(ans: torch.Tensor, truth_: torch.Tensor, inp: GemmInputs) -> Check:
    """DeepGEMM's check: calc_diff below 1e-3 on the rows that count (others may hold anything)."""
    valid = inp.valid_rows()
    a, t = ans.float(), truth_.float()
    if valid is not None:
        a, t = a[valid], t[valid]
    finite = bool(torch.isfinite(a).all())
    diff = calc_diff(a, t) if finite else float("inf")
    reason = (
        None
        if diff < TOLERANCE
        else ("non-finite values" if not finite else f"calc_diff {diff:.3g} >= {TOLERANCE:g}")
    )
    return Check(diff < TOLERANCE, diff, {"calc_diff": diff, "tolerance": TOLERANCE, "reason": reason})


def flops_dtype(dev: torch.device) -> str:
    """FP8 tensor cores bound it on GPU; on CPU the products run in fp32."""
    return "fp8" if dev.type == "cuda" else "fp32"


def wants_ue8m0(dev: torch.device) -> bool:
    """SM100 kernels take power-of-two scales; SM90 and CPU take any fp32 scale."""
    return dev.type == "cuda" and torch.cuda.get_device_capability(dev)[0] >= 10
