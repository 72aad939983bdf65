"""The float32 numpy reference of the unquantised models: GPT2LMHeadModel (with its KV cache, greedy decoding)
and BertModel (last hidden state and pooler output), written from the architecture, independent of the
accelerator and of dsl.library, and checked against Hugging Face ``transformers`` (tests, 1e-4).
"""
from __future__ import annotations

import math

import numpy as np

F = np.float32


def layer_norm(x, g, b, eps):
    x = np.asarray(x, F)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + F(eps)) * g + b).astype(F)


def gelu_tanh(x):
    """GPT2's ``gelu_new``: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = np.asarray(x, F)
    return (F(0.5) * x * (F(1) + np.tanh(F(math.sqrt(2 / math.pi)) * (x + F(0.044715) * x ** 3)))).astype(F)


def _erf(x):
    """erf in float64 (Abramowitz & Stegun 7.1.26: absolute error below 1.5e-7, far inside the 1e-4 the
    reference is held to; numpy has no erf and scipy is not a dependency)."""
    x = np.asarray(x, np.float64)
    s, a = np.sign(x), np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


def gelu_erf(x):
    """BERT's ``gelu``: x/2 (1 + erf(x / sqrt 2)), erf in float64."""
    x = np.asarray(x, F)
    return (0.5 * x.astype(np.float64) * (1.0 + _erf(x.astype(np.float64) / math.sqrt(2.0)))).astype(F)


def softmax(x, axis=-1):
    x = np.asarray(x, F)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(F)


def linear(x, W, b):
    return (np.asarray(x, F) @ W.T + b).astype(F)


def attention(q, k, v, heads, causal_past=None):
    """Multi-head attention of the rows q [lq, d] against k, v [lk, d]; ``causal_past``: query i sees keys
    j <= causal_past + i (None: every key)."""
    lq, d = q.shape
    dh = d // heads
    out = np.empty((lq, d), F)
    for h in range(heads):
        cols = slice(h * dh, (h + 1) * dh)
        s = (q[:, cols] @ k[:, cols].T) / F(math.sqrt(dh))
        if causal_past is not None:
            j = np.arange(k.shape[0])[None, :]
            i = np.arange(lq)[:, None]
            s = np.where(j <= causal_past + i, s, F(-np.inf))
        out[:, cols] = softmax(s) @ v[:, cols]
    return out


# -- GPT2 -----------------------------------------------------------------------------------------------
class KVCache:
    """K and V rows of every layer for the positions seen so far."""

    def __init__(self, layers: int):
        self.k = [None] * layers
        self.v = [None] * layers

    @property
    def length(self) -> int:
        return 0 if self.k[0] is None else self.k[0].shape[0]


def gpt2_embed(w, ids, start: int):
    ids = np.asarray(ids)
    return (w.top["wte"][ids] + w.top["wpe"][start + np.arange(len(ids))]).astype(F)


def gpt2_layer(cfg, lw, h, cache: KVCache, i: int):
    a = layer_norm(h, lw["ln1_g"], lw["ln1_b"], cfg.eps)
    q, k, v = (linear(a, lw[f"W{o}"], lw[f"b{o}"]) for o in "qkv")
    k_all = k if cache.k[i] is None else np.concatenate([cache.k[i], k])
    v_all = v if cache.v[i] is None else np.concatenate([cache.v[i], v])
    cache.k[i], cache.v[i] = k_all, v_all
    h = h + linear(attention(q, k_all, v_all, cfg.heads, causal_past=k_all.shape[0] - len(h)), lw["Wp"], lw["bp"])
    m = layer_norm(h, lw["ln2_g"], lw["ln2_b"], cfg.eps)
    return (h + linear(gelu_tanh(linear(m, lw["W1"], lw["b1"])), lw["W2"], lw["b2"])).astype(F)


def gpt2_head(w, h):
    """ln_f and the LM head (tied to the token embedding): logits [l, vocab]."""
    return (layer_norm(h, w.top["lnf_g"], w.top["lnf_b"], w.config.eps) @ w.top["wte"].T).astype(F)


def gpt2_forward(w, ids, cache: KVCache | None = None):
    """Logits of the tokens ``ids`` appended to the cached context; the cache is extended in place."""
    cache = cache if cache is not None else KVCache(w.config.layers)
    start = cache.length
    h = gpt2_embed(w, ids, start)
    for i, lw in enumerate(w.layers):
        h = gpt2_layer(w.config, lw, h, cache, i)
    return gpt2_head(w, h), cache


def gpt2_generate(w, prompt_ids, gen: int):
    """Greedy decoding: (generated ids, logits of every step [gen, vocab] — the prefill's last row first)."""
    logits, cache = gpt2_forward(w, prompt_ids)
    steps, out = [logits[-1]], []
    for _ in range(gen):
        out.append(int(np.argmax(steps[-1])))
        if len(out) == gen:
            break
        logits, cache = gpt2_forward(w, [out[-1]], cache)
        steps.append(logits[-1])
    return out, np.stack(steps)


# -- BERT -----------------------------------------------------------------------------------------------
def bert_embed(w, ids, token_types=None):
    ids = np.asarray(ids)
    tt = np.zeros(len(ids), int) if token_types is None else np.asarray(token_types)
    e = w.top["word"][ids] + w.top["pos"][np.arange(len(ids))] + w.top["type"][tt]
    return layer_norm(e, w.top["emb_g"], w.top["emb_b"], w.config.eps)


def bert_layer(cfg, lw, h):
    q, k, v = (linear(h, lw[f"W{o}"], lw[f"b{o}"]) for o in "qkv")
    a = layer_norm(h + linear(attention(q, k, v, cfg.heads), lw["Wp"], lw["bp"]), lw["ln1_g"], lw["ln1_b"], cfg.eps)
    f = linear(gelu_erf(linear(a, lw["W1"], lw["b1"])), lw["W2"], lw["b2"])
    return layer_norm(a + f, lw["ln2_g"], lw["ln2_b"], cfg.eps)


def bert_pooler(w, h):
    return np.tanh(h[0] @ w.top["pool_W"].T + w.top["pool_b"]).astype(F)


def bert_forward(w, ids, token_types=None):
    """(last_hidden_state [l, d], pooler_output [d]) of BertModel."""
    h = bert_embed(w, ids, token_types)
    for lw in w.layers:
        h = bert_layer(w.config, lw, h)
    return h, bert_pooler(w, h)
