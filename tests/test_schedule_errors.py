"""Each primitive's most common misuse: a ScheduleError naming the primitive, the bad argument and what would
be valid; the MLIR (with locations) and the trace stay exactly as they were."""
import pytest

import dsl

from .test_schedule_primitives import conv, gemm, local, pe, prod_cons, two
from .test_schedule_properties import wave

# (kernel, primitive, args, argument named, text of the valid alternatives)
MISUSE = [
    (gemm, "split", {"loop": "S_i_j_k_0:q", "factor": 2}, "loop", "S_i_j_k_0:i, S_i_j_k_0:j"),
    (gemm, "reorder", {"loops": ["S_C_init:i0", "S_i_j_k_0:j"]}, "loops", "S_C_init:i0, S_C_init:i1"),
    (gemm, "reorder", {"loops": ["i"]}, "loops", "two or more loops"),
    (wave, "reorder", {"loops": ["j", "i"]}, "loops", "the current order ['i', 'j']"),
    (gemm, "fuse", {"loops": ["k", "j"]}, "loops", "i -> j -> k"),
    (gemm, "unroll", {"loop": "z"}, "loop", "S_i_j_k_0:k"),
    (gemm, "pipeline", {"loop": "z"}, "loop", "S_i_j_k_0:j"),
    (gemm, "partition", {"buffer": "B", "kind": "cyclic", "dim": 3, "factor": 2}, "dim", "1..2"),
    (gemm, "partition", {"buffer": "B", "kind": "cyclic", "dim": 1, "factor": 9}, "factor", "1..7"),
    (gemm, "partition", {"buffer": "Q"}, "buffer", "A, B, C"),
    (local, "reshape", {"buffer": "A", "shape": [24]}, "buffer", "valid buffer: T"),
    (local, "reshape", {"buffer": "T", "shape": [5, 5]}, "shape", "shapes with 24 elements"),
    (gemm, "buffer_at", {"buffer": "A", "loop": "S_C_init:i0"}, "loop", "S_i_j_k_0:i"),
    (conv, "reuse_at", {"buffer": "A", "loop": "S_B_init:i0"}, "loop", "S_y_x_r_c_0:y"),
    (prod_cons, "compute_at", {"producer_loop": "S_i_j_0:j", "consumer_loop": "S_i_j_1:i"}, "consumer_loop",
     "S_i_j_1:j"),
    (two, "to", {"buffer": "X", "consumer": "add1"}, "buffer", "T"),
    (two, "to", {"buffer": "T", "consumer": "two"}, "consumer", "add1"),
    (two, "dataflow", {"target": "nowhere"}, "target", "add1:S_i_j_0:i, add1:S_i_j_0:j"),
    (two, "inline", {"func": "two"}, "func", "add1"),
    (pe, "unfold", {"band": "PE", "axes": ["j", "i"]}, "axes", "i -> j"),
    (two, "compose", {"sub_schedule": {"kernel": "add1", "steps": []}, "id": "5"}, "id", "0, 1"),
    (two, "compose", {"sub_schedule": {"kernel": "nope", "steps": []}}, "sub_schedule", "add1"),
]


def _text(s):
    return s.module.operation.get_asm(enable_debug_info=True)


@pytest.mark.parametrize("n", range(len(MISUSE)), ids=lambda n: f"{MISUSE[n][1]}-{n}")
def test_misuse_names_primitive_argument_and_alternatives(n):
    kernel, name, args, arg, valid = MISUSE[n]
    s = dsl.customize(kernel)
    s.partition(kernel.__code__.co_varnames[0], "complete")  # some prior state the failure must preserve
    before, trace = _text(s), [dict(t) for t in s.trace]
    with pytest.raises(dsl.ScheduleError) as err:
        s.apply_trace([{"primitive": name, "args": args}])
    message = str(err.value)
    assert message.startswith(f"<steps>: step 1 ({name}): {name}"), message
    assert "could not be applied" not in message, message
    if arg:
        assert f"argument '{arg}'" in message, message
        assert f"valid {arg}: " in message and valid in message, message
    assert _text(s) == before and s.trace == trace


def test_yaml_error_names_step_primitive_argument():
    text = "version: 1\nkernel: gemm\nsteps:\n- pipeline: {loop: j}\n- fuse: {loops: [k, j]}\n"
    s = dsl.customize(gemm)
    with pytest.raises(dsl.ScheduleError) as err:
        s.apply_schedule(text)
    assert "step 2 (fuse): fuse: argument 'loops'" in str(err.value)
    assert [t["primitive"] for t in s.trace] == ["pipeline"]  # step 1 stays applied, step 2 changed nothing


def test_unknown_buffer_handle_is_a_schedule_error_and_hasattr_still_works():
    s = dsl.customize(gemm)
    with pytest.raises(dsl.ScheduleError) as err:
        s.Z  # noqa: B018
    assert "no buffer" in str(err.value) and "A, B" in str(err.value)
    assert not hasattr(s, "Z") and hasattr(s, "A")
