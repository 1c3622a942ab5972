"""The bundled BERT encoder on onnxruntime, float32: the same vectors as rag/embed/minilm_numpy.py and
minilm_torch.py (cosine > 0.99999), and the fastest float32 path on a CPU without native bfloat16.

The graph is written here, in memory, from the model folder's own weights (no export step, no file on
disk, nothing downloaded): onnxruntime's fused BERT operators (com.microsoft EmbedLayerNormalization,
Attention, SkipLayerNormalization, BiasGelu) around plain MatMuls, so attention, the residual sums and
LayerNorm each run as one kernel. The few ONNX protobuf messages it needs are encoded by `_Proto`, which
spares importing the `onnx` package (about 2 s). Measured on a 2-core AVX2 EPYC: a 20-token query on one
thread 10 ms against numpy's 18.6 ms; bulk passages about torch float32's throughput, without torch's
1.5-2.5 s import; the session is ready about 0.2 s after the weights are read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.embed.bert import BertConfig, MeanPooledBert, Weights

if TYPE_CHECKING:
    import numpy as np

_MS = "com.microsoft"
_FLOAT, _INT32 = 1, 6           # TensorProto.DataType
_ATTR_FLOAT, _ATTR_INT = 1, 2   # AttributeProto.AttributeType


class OnnxUnavailable(ImportError):
    """This onnxruntime cannot run the graph (too old for an operator, a broken install): queries fall back
    to numpy and bulk calls to torch float32 (rag/embed/registry.py), as where onnxruntime is missing."""


def available() -> bool:
    """Whether onnxruntime can be imported here (it is a dependency; a broken install falls back to numpy)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


Parts = list[bytes]   # a message as pieces, joined once


class _Proto:
    """Protobuf wire format for the messages of onnx.proto that bert_graph writes (field numbers from it).
    A message is a list of pieces (`Parts`). The weights are not in it: each initializer is declared with
    external data, and the session takes the arrays themselves (SessionOptions.add_external_initializers)."""

    @staticmethod
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    @classmethod
    def message(cls, field: int, body: Parts) -> Parts:
        return [cls.varint(field << 3 | 2), cls.varint(sum(len(b) for b in body)), *body]

    @classmethod
    def text(cls, field: int, value: str) -> Parts:
        return cls.message(field, [value.encode()])

    @classmethod
    def integer(cls, field: int, value: int) -> Parts:
        return [cls.varint(field << 3), cls.varint(value)]

    @classmethod
    def external_tensor(cls, name: str, shape: tuple[int, ...]) -> Parts:
        # TensorProto: dims 1, data_type 2, name 8, external_data 13 ({key 1, value 2}), data_location 14 (EXTERNAL)
        dims = [piece for d in shape for piece in cls.integer(1, d)]
        where = cls.message(13, [*cls.text(1, "location"), *cls.text(2, name)])
        return [*dims, *cls.integer(2, _FLOAT), *cls.text(8, name), *where, *cls.integer(14, 1)]

    @classmethod
    def attribute(cls, name: str, value: int | float) -> Parts:   # AttributeProto: name 1, f 2, i 3, type 20
        if isinstance(value, float):
            return [*cls.text(1, name), cls.varint(2 << 3 | 5), struct.pack("<f", value), *cls.integer(20, _ATTR_FLOAT)]
        return [*cls.text(1, name), *cls.integer(3, value), *cls.integer(20, _ATTR_INT)]

    @classmethod
    def node(cls, op: str, inputs: list[str], outputs: list[str], domain: str = "", **attributes: int | float) -> Parts:
        # NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7
        parts = [piece for i in inputs for piece in cls.text(1, i)]
        parts += [piece for o in outputs for piece in cls.text(2, o)]
        parts += [*cls.text(3, outputs[0]), *cls.text(4, op)]
        parts += [piece for k, v in attributes.items() for piece in cls.message(5, cls.attribute(k, v))]
        return parts + (cls.text(7, domain) if domain else [])

    @classmethod
    def value_info(cls, name: str, elem_type: int, dims: list[str | int]) -> Parts:
        # ValueInfoProto{name 1, type 2: TypeProto{tensor_type 1: {elem_type 1, shape 2: {dim 1: {value 1 | param 2}}}}}
        shape = [piece for d in dims
                 for piece in cls.message(1, cls.integer(1, d) if isinstance(d, int) else cls.text(2, d))]
        tensor_type = [*cls.integer(1, elem_type), *cls.message(2, shape)]
        return [*cls.text(1, name), *cls.message(2, cls.message(1, tensor_type))]


@dataclass(frozen=True)
class Graph:
    model: bytes                      # a serialised ModelProto whose initializers are external ...
    initializers: dict[str, np.ndarray]   # ... and given to the session from these arrays (no copy in protobuf)


def bert_graph(weights: Weights, cfg: BertConfig) -> Graph:
    """The encoder: input_ids and mask (int32, batch × sequence, right-padded) → hidden (float32, batch ×
    sequence × hidden), its last hidden states."""
    import numpy as np

    p = _Proto
    nodes: list[Parts] = []
    tensors: list[Parts] = []
    initializers: dict[str, np.ndarray] = {}

    def weight(name: str, array: np.ndarray) -> str:
        initializers[name] = np.ascontiguousarray(array, dtype=np.float32)
        tensors.append(p.external_tensor(name, initializers[name].shape))
        return name

    def linear(prefix: str) -> tuple[np.ndarray, np.ndarray]:   # torch's (out, in) as MatMul's (in, out)
        return weights[prefix + ".weight"].T, weights[prefix + ".bias"]

    positions = (weights["embeddings.position_embeddings.weight"][: cfg.max_seq_length]
                 + weights["embeddings.token_type_embeddings.weight"][0])   # every token is of type 0
    nodes.append(p.node("EmbedLayerNormalization",
                        ["input_ids", "", weight("word", weights["embeddings.word_embeddings.weight"]),
                         weight("position", positions), "", weight("ln0_g", weights["embeddings.LayerNorm.weight"]),
                         weight("ln0_b", weights["embeddings.LayerNorm.bias"]), "mask"],
                        ["x0", "lengths"], _MS, epsilon=cfg.eps))
    x = "x0"
    for i in range(cfg.layers):
        layer = f"encoder.layer.{i}."
        (qw, qb), (kw, kb), (vw, vb) = (linear(layer + f"attention.self.{n}") for n in ("query", "key", "value"))
        ow, ob = linear(layer + "attention.output.dense")
        f1w, f1b = linear(layer + "intermediate.dense")
        f2w, f2b = linear(layer + "output.dense")
        out = "hidden" if i + 1 == cfg.layers else f"x{i + 1}"
        nodes += [
            p.node("Attention", [x, weight(f"qkv_w{i}", np.concatenate([qw, kw, vw], axis=1)),
                                 weight(f"qkv_b{i}", np.concatenate([qb, kb, vb])), "lengths"],
                   [f"attn{i}"], _MS, num_heads=cfg.heads),
            p.node("MatMul", [f"attn{i}", weight(f"out_w{i}", ow)], [f"attn_out{i}"]),
            p.node("SkipLayerNormalization",
                   [f"attn_out{i}", x, weight(f"ln1_g{i}", weights[layer + "attention.output.LayerNorm.weight"]),
                    weight(f"ln1_b{i}", weights[layer + "attention.output.LayerNorm.bias"]), weight(f"out_b{i}", ob)],
                   [f"y{i}"], _MS, epsilon=cfg.eps),
            p.node("MatMul", [f"y{i}", weight(f"ff1_w{i}", f1w)], [f"ff1_{i}"]),
            p.node("BiasGelu", [f"ff1_{i}", weight(f"ff1_b{i}", f1b)], [f"gelu{i}"], _MS),   # erf GELU, as BERT's
            p.node("MatMul", [f"gelu{i}", weight(f"ff2_w{i}", f2w)], [f"ff2_{i}"]),
            p.node("SkipLayerNormalization",
                   [f"ff2_{i}", f"y{i}", weight(f"ln2_g{i}", weights[layer + "output.LayerNorm.weight"]),
                    weight(f"ln2_b{i}", weights[layer + "output.LayerNorm.bias"]), weight(f"ff2_b{i}", f2b)],
                   [out], _MS, epsilon=cfg.eps),
        ]
        x = out
    # GraphProto: node 1, name 2, initializer 5, input 11, output 12
    graph = [piece for n in nodes for piece in p.message(1, n)] + p.text(2, "bert")
    graph += [piece for t in tensors for piece in p.message(5, t)]
    graph += [*p.message(11, p.value_info("input_ids", _INT32, ["batch", "sequence"])),
              *p.message(11, p.value_info("mask", _INT32, ["batch", "sequence"])),
              *p.message(12, p.value_info("hidden", _FLOAT, ["batch", "sequence", cfg.hidden]))]
    # ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8 ({domain 1, version 2})
    model = [*p.integer(1, 8), *p.text(2, "rag"), *p.message(7, graph), *p.message(8, p.integer(2, 17)),
             *p.message(8, [*p.text(1, _MS), *p.integer(2, 1)])]
    return Graph(b"".join(model), initializers)


class OnnxBertEmbedder(MeanPooledBert):
    """MeanPooledBert on onnxruntime: each `_forward` batch (sorted by length) is right-padded to its
    longest sequence; attention skips the padding (the Attention op's lengths), the pooling ignores it.
    `threads` is the session's intra-op thread count: up to two for queries (registry.QUERY_THREADS), the
    process's cores for bulk embedding. The vectors are the same whatever the count."""

    def __init__(self, folder: Path, name: str, threads: int = 1) -> None:
        self.threads = threads
        super().__init__(folder, name)

    def _build(self, weights: Weights) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3   # errors only: its notes on graph fusions are not for users
        # threads sleep between runs instead of spinning: an ingest's loader and commits need the cores then
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        graph = bert_graph(weights, self.cfg)
        try:
            values = [ort.OrtValue.ortvalue_from_numpy(a) for a in graph.initializers.values()]
            options.add_external_initializers(list(graph.initializers), values)
            self._initializers = (graph.initializers, values)   # the session reads them in place: kept with it
            self._session: Any = ort.InferenceSession(graph.model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:   # onnxruntime's own errors derive from Exception alone (and an old one may
            # lack add_external_initializers)
            raise OnnxUnavailable(f"onnxruntime {ort.__version__} cannot run the encoder's graph: {exc}") from exc

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        import numpy as np

        lengths = np.array([len(s) for s in ids], dtype=np.int32)
        tokens = np.zeros((len(ids), int(lengths.max())), dtype=np.int32)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = seq
        mask = (np.arange(tokens.shape[1], dtype=np.int32)[None, :] < lengths[:, None]).astype(np.int32)
        hidden = self._session.run(["hidden"], {"input_ids": tokens, "mask": mask})[0]
        sums = np.einsum("bsh,bs->bh", hidden, mask.astype(np.float32))
        return sums / lengths[:, None].astype(np.float32)
