"""The estimator across calls: constants a caller passes bound the callee's loops (fold), functions marked
``inline`` are scheduled with their caller (inline), and block streams (``memref.copy`` into and out of a
FIFO) move one token per access. Expected figures follow from the rules of dsl/qor/README.md."""
import dsl
from dsl import float32, int8, int32
from dsl.qor import estimate
from dsl.qor.tables import load_tables


def scaled(x: float32[64], n: int32):
    for j in range(n, name="scale"):
        x[j] = x[j] * 2.0


def call_48(A: float32[64]) -> float32[64]:
    scaled(A, 48)
    return A


def test_a_constant_argument_bounds_the_callees_loop():
    # scaled's loop runs n times; the call passes 48: the instance of that call has 48 iterations at II=1
    loop = estimate(dsl.customize(call_48)).loops["scaled:scale:j"]
    assert loop.trip == 48 and loop.ii == 1
    assert loop.latency == 47 * loop.ii + loop.depth


def mac(a: int8, b: int8) -> int32:
    return a * b


def dots(A: int8[16, 8], B: int8[16, 8]) -> int32[16]:
    out: int32[16] = 0
    for i in range(16, name="rows"):
        acc: int32 = 0
        for k in range(8, name="ks"):
            acc += mac(A[i, k], B[i, k])
        out[i] = acc
    return out


def _dots(inline: bool):
    s = dsl.customize(dots)
    s.partition(s.A, dsl.Partition.Complete, dim=2)
    s.partition(s.B, dsl.Partition.Complete, dim=2)
    s.unroll("ks:k", 0)
    s.pipeline("rows:i")
    if inline:
        s.inline("mac")
    return estimate(s)


def test_an_inlined_function_is_scheduled_with_its_caller():
    called, inlined = _dots(False), _dots(True)
    # a call of a (sequential) function accepts one call per its latency: 8 unrolled calls limit the II
    assert called.loops["rows:i"].ii > 1 and "calls mac" in called.loops["rows:i"].ii_reason
    # inlined: 8 multiplies (one DSP each, int8 x int8) in the II=1 pipeline, no call to wait for
    assert inlined.loops["rows:i"].ii == 1 and inlined.loops["rows:i"].ii_reason == ""
    assert inlined.resources["DSP"].used == 8


def relay(xs: dsl.Stream[float32[16], 2], ys: dsl.Stream[float32[16], 2]):
    for t in range(512, name="tokens"):
        blk: float32[16] = xs.get()  # memref.copy out of the FIFO: one read of a 512-bit token
        out: float32[16]
        for j in range(16, name="lanes"):
            out[j] = blk[j] * 2.0
        ys.put(out)


def test_a_block_stream_moves_one_token_per_cycle():
    # a token in and out per iteration, its 16 elements in registers (constant addresses after the unroll:
    # Vitis's automatic partitioning), 16 fmul in parallel: II=1 and 16 multipliers' DSPs
    s = dsl.customize(relay)
    s.unroll("lanes:j", 0)
    s.pipeline("tokens:t")
    r = estimate(s)
    loop = r.loops["tokens:t"]
    assert loop.ii == 1 and loop.ii_reason == ""
    assert r.latency >= 511 + loop.depth
    fmul = load_tables("ultrascale_plus", 300).op("fmul")["dsp"]
    assert r.resources["DSP"].used == 16 * fmul


def _inc_n(A: int32[64], Y: int32[64], n: int32):
    for i in range(n, name="inc"):
        Y[i] = A[i] + 1


def _dbl_n(Y: int32[64], Z: int32[64], n: int32):
    for i in range(n, name="dbl"):
        Z[i] = Y[i] * 2


def _stages_48(A: int32[64], Z: int32[64]):
    Y: int32[64]
    _inc_n(A, Y, 48)
    _dbl_n(Y, Z, 48)


def test_a_constant_argument_bounds_a_dataflow_process():
    # the same constants reach the processes of a dataflow region (s.to / s.dataflow): each process's loop
    # runs 48 times, as in the sequential function, instead of an unknown trip count (issue 12)
    s = dsl.customize(_stages_48)
    s.to("_stages_48:Y", "_dbl_n", depth=4)
    s.dataflow("_stages_48")
    r = estimate(s)
    assert r.loops["_inc_n:inc:i"].trip == 48 and r.loops["_dbl_n:dbl:i"].trip == 48
    assert not any("unknown trip count" in n for n in r.notes)
    sequential = estimate(dsl.customize(_stages_48))
    assert sequential.loops["_inc_n:inc:i"].trip == 48


def test_the_ir_reader_keeps_its_old_import_path():
    # dsl.qor.model was split (objects in model, the MLIR reader in dsl.qor.reader): the old names still work
    from dsl.qor import model, reader
    assert model.Reader is reader.Reader and model.ARITH_CLASS is reader.ARITH_CLASS
    funcs = model.read_module(dsl.customize(call_48).module)
    assert set(funcs) >= {"call_48", "scaled"} and isinstance(funcs["scaled"], model.Function)


def _tail_n(x: float32[64], n: int32):
    base: int32 = (n // 24) * 24  # an integer divide by a constant that is not a power of two
    for j in range(n - base, name="tail"):
        x[j] = x[j] * 2.0


def tail_50(A: float32[64]) -> float32[64]:
    _tail_n(A, 50)
    return A


def test_arithmetic_on_passed_constants_is_a_constant():
    # with n = 50 the callee Vitis builds has base = 48 and a loop of 2 iterations: the divide is folded
    # away, not a 32-bit divider of 32 + 3 cycles (the idiv row) before the loop
    r = estimate(dsl.customize(tail_50))
    loop = r.loops["_tail_n:tail:j"]
    assert loop.trip == 2
    # the function: the store of base (one cycle), its loop, the function's own state; the divider would
    # add its 35 cycles and the multiply its 3 (110 before the rule)
    assert r.functions["_tail_n"].latency == 1 + loop.latency + 1
