"""Model descriptions: the fields of Hugging Face's ``config.json`` (GPT2Config, BertConfig) are the model.

``load_config(spec)`` takes a preset name (``gpt2``, ``gpt2-medium``, ``bert-base``, ``bert-large``,
``gpt2-tiny``, ``bert-tiny``), a path to a ``config.json`` or a local checkpoint folder holding one. The
result is a ``ModelConfig``: the HF fields as given (``hf``, written back unchanged by ``save``) and the
symbols the accelerator is generated from (layers N, hidden d, heads h, d_FFN, vocabulary, context).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelError

GPT2_DEFAULTS = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 50257,
                 "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": None,
                 "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
                 "bos_token_id": 50256, "eos_token_id": 50256}
BERT_DEFAULTS = {"model_type": "bert", "architectures": ["BertModel"], "vocab_size": 30522, "hidden_size": 768,
                 "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
                 "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2,
                 "layer_norm_eps": 1e-12, "initializer_range": 0.02, "pad_token_id": 0}

PRESETS = {
    "gpt2": {**GPT2_DEFAULTS},
    "gpt2-medium": {**GPT2_DEFAULTS, "n_embd": 1024, "n_layer": 24, "n_head": 16},
    "gpt2-tiny": {**GPT2_DEFAULTS, "vocab_size": 512, "n_positions": 128, "n_embd": 64, "n_layer": 2,
                  "n_head": 4, "n_inner": 256, "bos_token_id": 0, "eos_token_id": 0},
    "bert-base": {**BERT_DEFAULTS},
    "bert-large": {**BERT_DEFAULTS, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                   "intermediate_size": 4096},
    "bert-tiny": {**BERT_DEFAULTS, "vocab_size": 512, "hidden_size": 64, "num_hidden_layers": 2,
                  "num_attention_heads": 4, "intermediate_size": 256, "max_position_embeddings": 128},
}
ALIASES = {"gpt2-small": "gpt2", "gpt2-124m": "gpt2", "gpt2-355m": "gpt2-medium", "bert-base-uncased": "bert-base",
           "bert-large-uncased": "bert-large", "tiny-gpt2": "gpt2-tiny", "tiny-bert": "bert-tiny"}
# activation functions the accelerator's GeLU units compute (HF names)
ACTIVATIONS = {"gpt2": ("gelu_new", "gelu_pytorch_tanh"), "bert": ("gelu",)}
PERF_MODEL = {"gpt2": "gpt2-small", "gpt2-medium": "gpt2-medium", "bert-base": "bert-base", "bert-large": "bert-large"}


@dataclass(frozen=True)
class ModelConfig:
    kind: str  # "gpt2" (decoder, GPT2LMHeadModel) or "bert" (encoder, BertModel)
    name: str
    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float
    activation: str
    type_vocab: int = 0
    hf: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def is_decoder(self) -> bool:
        return self.kind == "gpt2"

    def perf_model(self):
        """This model as ``dsl.perf`` describes models (layers, hidden, heads, FFN, context)."""
        from dsl.perf import TransformerModel

        known = PERF_MODEL.get(self.name)  # the catalogue's entry: same sizes (dsl.report draws its plots)
        return TransformerModel(name=known or self.name, title=self.name, kind="decoder" if self.is_decoder else "encoder",
                                layers=self.layers, hidden=self.hidden, heads=self.heads, ffn=self.ffn,
                                max_seq=self.max_positions)

    def save(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.hf, indent=2, sort_keys=True) + "\n")
        return folder / "config.json"


def from_hf(hf: dict, name: str = "") -> ModelConfig:
    """A ModelConfig from the fields of an HF config.json (``model_type`` gpt2 or bert)."""
    kind = hf.get("model_type")
    if kind not in ("gpt2", "bert"):
        raise ModelError(f"config model_type {kind!r} is not supported; the accelerators are generated for "
                         "model_type 'gpt2' (GPT2Config) and 'bert' (BertConfig)")
    full = {**(GPT2_DEFAULTS if kind == "gpt2" else BERT_DEFAULTS), **hf}
    try:
        if kind == "gpt2":
            d = int(full["n_embd"])
            cfg = ModelConfig("gpt2", name or "gpt2-custom", int(full["n_layer"]), d, int(full["n_head"]),
                              int(full["n_inner"] or 4 * d), int(full["vocab_size"]), int(full["n_positions"]),
                              float(full["layer_norm_epsilon"]), str(full["activation_function"]), 0, full)
        else:
            cfg = ModelConfig("bert", name or "bert-custom", int(full["num_hidden_layers"]), int(full["hidden_size"]),
                              int(full["num_attention_heads"]), int(full["intermediate_size"]),
                              int(full["vocab_size"]), int(full["max_position_embeddings"]),
                              float(full["layer_norm_eps"]), str(full["hidden_act"]), int(full["type_vocab_size"]),
                              full)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"config {name or '(given)'}: a size field is not a number ({exc})") from None
    _validate(cfg)
    return cfg


def _validate(cfg: ModelConfig) -> None:
    for what, value in (("layers", cfg.layers), ("hidden size", cfg.hidden), ("heads", cfg.heads),
                        ("FFN size", cfg.ffn), ("vocabulary", cfg.vocab), ("positions", cfg.max_positions)):
        if value < 1:
            raise ModelError(f"config {cfg.name}: {what} must be at least 1, got {value}")
    if cfg.hidden % cfg.heads:
        raise ModelError(f"config {cfg.name}: hidden size {cfg.hidden} is not a multiple of the {cfg.heads} heads")
    if cfg.activation not in ACTIVATIONS[cfg.kind]:
        raise ModelError(f"config {cfg.name}: activation {cfg.activation!r} has no unit; {cfg.kind} models use "
                         f"{', '.join(ACTIVATIONS[cfg.kind])}")


def load_config(spec) -> ModelConfig:
    """A preset name, a config.json path, or a checkpoint folder containing config.json."""
    text = str(spec)
    key = ALIASES.get(text.lower(), text.lower())
    if key in PRESETS:
        return from_hf(dict(PRESETS[key]), key)
    path = Path(text)
    if path.is_dir():
        path = path / "config.json"
        if not path.is_file():
            raise ModelError(f"checkpoint folder {spec} has no config.json")
    elif not path.is_file():
        raise ModelError(f"unknown config {spec!r}: give a preset ({', '.join(PRESETS)}), a config.json or a "
                         "local checkpoint folder")
    try:
        hf = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(hf, dict):
        raise ModelError(f"{path} is not a JSON object of config fields")
    return from_hf(hf, path.parent.name if path.name == "config.json" else path.stem)
