"""Weights: random with a seed, or read from a local Hugging Face checkpoint folder; saved in HF format.

Inside models/ every linear layer is W [out, in] (PyTorch's ``nn.Linear`` layout) with its bias, per layer:
``Wq bq Wk bk Wv bv`` (attention projections), ``Wp bp`` (attention output), ``W1 b1`` / ``W2 b2`` (FFN),
``ln1_g ln1_b`` / ``ln2_g ln2_b``. GPT2 (pre-LN): ln1 before attention, ln2 before the FFN; its checkpoint
stores ``Conv1D`` weights as [in, out] with q/k/v fused in ``c_attn``. BERT (post-LN): ln1 after the
attention residual, ln2 after the FFN residual. Model-level tensors are in ``top``.

Reading: ``model.safetensors`` through the ``safetensors`` package, else ``pytorch_model.bin`` when torch is
installed. Nothing is downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import ModelConfig
from .errors import ModelError

F = np.float32
LINEARS = ("q", "k", "v", "p", "f1", "f2")  # the six weight GEMMs of a layer (dsl.perf's names)
WEIGHT_KEY = {"q": "Wq", "k": "Wk", "v": "Wv", "p": "Wp", "f1": "W1", "f2": "W2"}
BIAS_KEY = {"q": "bq", "k": "bk", "v": "bv", "p": "bp", "f1": "b1", "f2": "b2"}


@dataclass
class Weights:
    config: ModelConfig
    top: dict  # GPT2: wte wpe lnf_g lnf_b; BERT: word pos type emb_g emb_b pool_W pool_b
    layers: list  # one dict per layer (keys above)

    def linear(self, layer: int, op: str):
        """(W [out, in], b [out]) of operator ``op`` in {q, k, v, p, f1, f2}."""
        lw = self.layers[layer]
        return lw[WEIGHT_KEY[op]], lw[BIAS_KEY[op]]


def shapes(cfg: ModelConfig) -> tuple[dict, dict]:
    d, f = cfg.hidden, cfg.ffn
    layer = {"Wq": (d, d), "bq": (d,), "Wk": (d, d), "bk": (d,), "Wv": (d, d), "bv": (d,), "Wp": (d, d),
             "bp": (d,), "W1": (f, d), "b1": (f,), "W2": (d, f), "b2": (d,), "ln1_g": (d,), "ln1_b": (d,),
             "ln2_g": (d,), "ln2_b": (d,)}
    if cfg.kind == "gpt2":
        top = {"wte": (cfg.vocab, d), "wpe": (cfg.max_positions, d), "lnf_g": (d,), "lnf_b": (d,)}
    else:
        top = {"word": (cfg.vocab, d), "pos": (cfg.max_positions, d), "type": (max(cfg.type_vocab, 1), d),
               "emb_g": (d,), "emb_b": (d,), "pool_W": (d, d), "pool_b": (d,)}
    return top, layer


def random_weights(cfg: ModelConfig, seed: int = 0, std: float | None = None) -> Weights:
    """Normal(0, initializer_range) matrices and embeddings (as HF initialises them), small random biases and
    LayerNorm parameters near (1, 0), so that every tensor takes part in the checks."""
    rng = np.random.default_rng(seed)
    std = float(cfg.hf.get("initializer_range", 0.02)) if std is None else std

    def draw(name, shape):  # drawn in float32 (no float64 copy: gpt2-medium has 350 M parameters)
        x = rng.standard_normal(shape, dtype=F)
        if name.endswith("_g"):
            return x * F(0.1) + F(1.0)
        return x * F(0.02 if len(shape) == 1 else std)

    top_shapes, layer_shapes = shapes(cfg)
    top = {k: draw(k, s) for k, s in top_shapes.items()}
    layers = [{k: draw(k, s) for k, s in layer_shapes.items()} for _ in range(cfg.layers)]
    return Weights(cfg, top, layers)


# -- Hugging Face names ---------------------------------------------------------------------------------
GPT2_TOP = {"wte": "wte.weight", "wpe": "wpe.weight", "lnf_g": "ln_f.weight", "lnf_b": "ln_f.bias"}
GPT2_LAYER = {"ln1_g": "ln_1.weight", "ln1_b": "ln_1.bias", "Wp": "attn.c_proj.weight", "bp": "attn.c_proj.bias",
              "ln2_g": "ln_2.weight", "ln2_b": "ln_2.bias", "W1": "mlp.c_fc.weight", "b1": "mlp.c_fc.bias",
              "W2": "mlp.c_proj.weight", "b2": "mlp.c_proj.bias"}
BERT_TOP = {"word": "embeddings.word_embeddings.weight", "pos": "embeddings.position_embeddings.weight",
            "type": "embeddings.token_type_embeddings.weight", "emb_g": "embeddings.LayerNorm.weight",
            "emb_b": "embeddings.LayerNorm.bias", "pool_W": "pooler.dense.weight", "pool_b": "pooler.dense.bias"}
BERT_LAYER = {"Wq": "attention.self.query.weight", "bq": "attention.self.query.bias",
              "Wk": "attention.self.key.weight", "bk": "attention.self.key.bias",
              "Wv": "attention.self.value.weight", "bv": "attention.self.value.bias",
              "Wp": "attention.output.dense.weight", "bp": "attention.output.dense.bias",
              "ln1_g": "attention.output.LayerNorm.weight", "ln1_b": "attention.output.LayerNorm.bias",
              "W1": "intermediate.dense.weight", "b1": "intermediate.dense.bias",
              "W2": "output.dense.weight", "b2": "output.dense.bias",
              "ln2_g": "output.LayerNorm.weight", "ln2_b": "output.LayerNorm.bias"}
GPT2_CONV1D = ("Wp", "W1", "W2")  # stored [in, out] by GPT2's Conv1D


def to_hf(w: Weights) -> dict:
    """The state dict HF's ``save_pretrained`` writes (GPT2LMHeadModel: ``transformer.*``, lm_head tied)."""
    out = {}
    if w.config.kind == "gpt2":
        for k, name in GPT2_TOP.items():
            out[f"transformer.{name}"] = w.top[k]
        for i, lw in enumerate(w.layers):
            pre = f"transformer.h.{i}."
            for k, name in GPT2_LAYER.items():
                out[pre + name] = lw[k].T if k in GPT2_CONV1D else lw[k]
            out[pre + "attn.c_attn.weight"] = np.concatenate([lw["Wq"], lw["Wk"], lw["Wv"]]).T
            out[pre + "attn.c_attn.bias"] = np.concatenate([lw["bq"], lw["bk"], lw["bv"]])
    else:
        for k, name in BERT_TOP.items():
            out[name] = w.top[k]
        for i, lw in enumerate(w.layers):
            for k, name in BERT_LAYER.items():
                out[f"encoder.layer.{i}.{name}"] = lw[k]
    return {k: np.ascontiguousarray(v, dtype=F) for k, v in out.items()}


def _normalise(name: str, kind: str) -> str:
    for prefix in ("transformer.", "bert.", "model."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if kind == "bert":  # old BERT checkpoints: LayerNorm gamma/beta
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    return name


def from_hf(cfg: ModelConfig, state: dict, source: str = "checkpoint") -> Weights:
    """Weights from an HF state dict (GPT2Model/GPT2LMHeadModel or BertModel/BertFor* names)."""
    state = {_normalise(k, cfg.kind): v for k, v in state.items()}
    top_shapes, layer_shapes = shapes(cfg)

    def take(name, shape, transpose=False):
        if name not in state:
            raise ModelError(f"{source} has no tensor {name!r} (is it a {cfg.kind} checkpoint of this config?)")
        arr = np.asarray(state[name], dtype=F)
        arr = arr.T if transpose else arr
        if arr.shape != tuple(shape):
            raise ModelError(f"{source}: tensor {name!r} has shape {list(arr.shape)}, the config gives "
                             f"{list(shape)}")
        return np.ascontiguousarray(arr)

    names = GPT2_TOP if cfg.kind == "gpt2" else BERT_TOP
    top = {}
    for k, name in names.items():
        if k.startswith("pool") and name not in state:  # BertModel(add_pooling_layer=False)
            top[k] = np.zeros(top_shapes[k], F)
            continue
        top[k] = take(name, top_shapes[k])
    layers = []
    for i in range(cfg.layers):
        lw = {}
        if cfg.kind == "gpt2":
            pre = f"h.{i}."
            for k, name in GPT2_LAYER.items():
                lw[k] = take(pre + name, layer_shapes[k], transpose=k in GPT2_CONV1D)
            d = cfg.hidden
            qkv = take(pre + "attn.c_attn.weight", (3 * d, d), transpose=True)
            b = take(pre + "attn.c_attn.bias", (3 * d,))
            for j, op in enumerate("qkv"):
                lw[f"W{op}"], lw[f"b{op}"] = qkv[j * d:(j + 1) * d].copy(), b[j * d:(j + 1) * d].copy()
        else:
            for k, name in BERT_LAYER.items():
                lw[k] = take(f"encoder.layer.{i}.{name}", layer_shapes[k])
        layers.append(lw)
    return Weights(cfg, top, layers)


def save_checkpoint(w: Weights, folder) -> Path:
    """config.json and model.safetensors, as ``save_pretrained`` writes them."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    w.config.save(folder)
    save_file(to_hf(w), str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def load_checkpoint(cfg: ModelConfig, folder) -> Weights:
    """The weights of a local HF checkpoint folder: model.safetensors, else pytorch_model.bin (needs torch)."""
    folder = Path(folder)
    st = folder / "model.safetensors"
    if st.is_file():
        from safetensors.numpy import load_file

        try:
            return from_hf(cfg, load_file(str(st)), str(st))
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot read {st}: {exc}") from None
    pt = folder / "pytorch_model.bin"
    if pt.is_file():
        try:
            import torch
        except ImportError:
            raise ModelError(f"{folder} has only pytorch_model.bin, which needs torch (pip install torch); or "
                             "convert it to model.safetensors") from None
        state = torch.load(str(pt), map_location="cpu", weights_only=True)
        return from_hf(cfg, {k: v.float().numpy() for k, v in state.items()}, str(pt))
    raise ModelError(f"checkpoint folder {folder} has no weights: expected model.safetensors or pytorch_model.bin")


def load_weights(cfg: ModelConfig, source, seed: int = 0) -> Weights:
    """``source``: a checkpoint folder (its weights), else random weights drawn with ``seed``."""
    if source is not None and Path(str(source)).is_dir():
        return load_checkpoint(cfg, source)
    return random_weights(cfg, seed)
