"""The Vitis project's data and csim as the board would see them: each variant's kernels read, through the
buffers the host binds to them, weights packed in that variant's own layout; the project's csim of a layer
runs its SLR kernels concurrently on FIFOs of the stream_connect depth, so a FIFO too shallow for the layer
deadlocks by name instead of completing."""
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import dsl
from models import reference as R
from models.accelerator import Accelerator
from models.config import load_config
from models.design import build_layer
from models.quant import KVCache, QuantConfig, q_gpt2_layer, quantize_model
from models.runner import copy_back_caches, layer_arguments
from models.weights import random_weights

PROMPT = [3, 17, 99, 4, 250]
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="csim needs g++")


@pytest.fixture(scope="module")
def gpt2():
    qm = quantize_model(random_weights(load_config("gpt2-tiny"), 0), QuantConfig(4))
    return Accelerator(qm, len(PROMPT), 4)


@pytest.fixture(scope="module")
def project(gpt2, tmp_path_factory):
    from models.vitis import write_project

    return write_project(gpt2, tmp_path_factory.mktemp("prj") / "gpt2.prj", prompt=PROMPT)


def _params(code: str, kernel: str) -> list:
    """The argument names of ``kernel`` in a project's kernel file, in order (commas inside <> kept)."""
    sig = re.search(rf'extern "C" void {kernel}\((.*?)\) \{{', code).group(1)
    parts, depth, cur = [], 0, ""
    for ch in sig:
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [re.search(r"&?(\w+)(\[[^\]]*\])*\s*$", p.strip()).group(1) for p in parts]


def host_weight_files(project: Path, variant: str) -> dict:
    """Kernel argument -> the data file the host loads into the buffer it binds to that argument, for every
    packed-weight argument of the variant's kernels (read from host.cpp and the kernel file)."""
    host = (project / "host.cpp").read_text()
    files = dict(re.findall(r'bo\[l\]\["(\w+)"\] = load_bo\(device, \w+\[\d\], \d+, dir \+ "(\w+\.bin)"\)', host))
    body = host[host.index(f"static void add_{variant}_runs("):]
    body = body[:body.index("\n}\n")]
    code = (project / f"{variant}.cpp").read_text()
    out, params = {}, []
    for line in body.splitlines():
        kernel = re.search(r"runs\.emplace_back\(ks\[(\d)\]\)", line)
        if kernel:
            params = _params(code, f"gpt2_{variant}_slr{kernel.group(1)}")
        bound = re.search(r'set_arg\((\d+), bo\.at\("(\w+)"\)\)', line)
        if bound and params[int(bound.group(1))].startswith("W"):
            out[params[int(bound.group(1))]] = project / "data" / "layerL" / files[bound.group(2)]
    return out


def unpack_words(raw: bytes, bits: int, Nt: int, N: int, K: int) -> np.ndarray:
    """W [N, K] from 512-bit words as ``memory.load_weights`` reads them: word w = ni * (K / kpw) + kw holds
    field p = kk * Nt + j (bits [p * bits, (p + 1) * bits), little-endian, two's complement) =
    W[ni * Nt + j, kw * kpw + kk]."""
    kpw = 512 // (Nt * bits)
    words = np.frombuffer(raw, np.uint8).reshape(-1, 64)
    fields = np.unpackbits(words, axis=1, bitorder="little").reshape(len(words), kpw * Nt, bits)
    vals = (fields.astype(np.int64) << np.arange(bits)).sum(-1)
    vals -= (vals >= 1 << (bits - 1)) << bits
    return vals.reshape(N // Nt, K // kpw, kpw, Nt).transpose(0, 3, 1, 2).reshape(N, K)


def _read_shares(files: dict, layer: int, spec) -> bytes:
    """The operator's words, its loaders' shares (share i: words i, i + P, ...) interleaved again."""
    shares = [np.fromfile(str(files[a]).replace("layerL", f"layer{layer}"), np.uint8).reshape(-1, 64)
              for a in spec.weight_args]
    words = np.empty((sum(len(s) for s in shares), 64), np.uint8)
    for i, share in enumerate(shares):
        words[i::spec.loaders] = share
    return words.tobytes()


@pytest.mark.parametrize("variant", ["prefill", "decode"])
def test_the_weights_each_variant_reads_are_packed_in_its_layout(gpt2, project, variant):
    """prefill's 8 x 32 arrays and decode's 1 x 128 arrays tile the weights differently: the files the host
    loads for a variant's kernels, unpacked as that variant's loaders read them, are the quantised weights."""
    design = {d.variant: d for d in gpt2.designs}[variant]
    files = host_weight_files(project, variant)
    assert sorted(files) == sorted(a for s in design.linears.values() for a in s.weight_args)
    assert design.linears["f1"].Nt == (128 if variant == "decode" else 32)  # the two layouts do differ
    for layer in range(gpt2.cfg.layers):
        for op, spec in design.linears.items():
            raw = _read_shares(files, layer, spec)
            got = unpack_words(raw, spec.weight_bits, spec.Nt, spec.N, spec.K)
            np.testing.assert_array_equal(got, gpt2.qm.layers[layer][op].Wq, err_msg=f"{variant} layer {layer} {op}")


@needs_gxx
@pytest.mark.slow
def test_one_decode_layer_of_the_project_in_csim_from_its_data_files(gpt2, project):
    """The decode kernels of the project in csim, their weights the data files the host binds to them, after
    a prefill of the prompt: bit-exact against the quantised reference (cache included)."""
    from models.project_csim import ProjectCSim

    qm, design, layer, pos = gpt2.qm, gpt2.decode, 1, len(PROMPT)
    cache, ref_cache = KVCache.empty(gpt2.lmax, 64), KVCache.empty(gpt2.lmax, 64)
    for c in (cache, ref_cache):
        q_gpt2_layer(qm, layer, R.gpt2_embed(qm.weights, np.array(PROMPT), 0), c, 0)
    h = R.gpt2_embed(qm.weights, np.array([42]), pos)
    vals = layer_arguments(design, qm, layer, h, cache, pos, words="ints")
    for arg, path in host_weight_files(project, "decode").items():
        raw = Path(str(path).replace("layerL", f"layer{layer}")).read_bytes()
        vals[arg] = np.array([int.from_bytes(raw[i:i + 64], "little") for i in range(0, len(raw), 64)], object)
    args = [vals[n] for n, _, _ in design.args]
    ProjectCSim(design)(*args)
    copy_back_caches(vals, cache)
    expect = q_gpt2_layer(qm, layer, h, ref_cache, pos)
    np.testing.assert_array_equal(args[[n for n, _, _ in design.args].index("Y")], expect)
    assert cache.equals(ref_cache)


@needs_gxx
def test_project_csim_deadlocks_on_a_too_shallow_cross_slr_fifo():
    """q_rows crosses from SLR0 to SLR1 and must hold every Q row of the prompt while SLR1 takes all K rows
    first: at 16 tokens (stream_connect depth 16) a 64-row prefill hangs on the board. The project's csim
    says so by the stream's name (run one kernel after another on unbounded streams, it completed)."""
    from models.project_csim import ProjectCSim

    cfg = load_config("gpt2-tiny")
    qm = quantize_model(random_weights(cfg, 0), QuantConfig(4))
    design = build_layer(cfg, qm.qcfg, "prefill", 64, 64, depths={"q_rows": 16})
    csim = ProjectCSim(design)
    assert csim.split.cross["q_rows"][1] == 16  # the depth stream_connect gives it
    h = R.gpt2_embed(qm.weights, np.arange(64), 0)
    with pytest.raises(dsl.DeadlockError) as info:
        csim.layer(qm, 0, h, KVCache.empty(64, 64), 0)
    assert re.search(r"put into stream 'q_rows' \(full: depth 16", str(info.value)), str(info.value)
    assert "full cross-SLR FIFO(s) between the SLR kernels: 'q_rows' (stream_connect depth 16)" in str(info.value)


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_bert_project_host_type_checks_against_the_xrt_api(tmp_path):
    """The encoder's host (one variant: its kernels' arguments set by add_encoder_runs) compiles against the
    declarations of the XRT calls it makes."""
    import subprocess

    from models.vitis import write_project

    qm = quantize_model(random_weights(load_config("bert-tiny"), 0), QuantConfig(8))
    prj = write_project(Accelerator(qm, 16), tmp_path / "bert.prj", prompt=list(range(16)))
    proc = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-I",
                           str(Path(__file__).parent / "models_xrt"), str(prj / "host.cpp")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "add_encoder_runs(runs, pre, bo[l]" in (prj / "host.cpp").read_text()
