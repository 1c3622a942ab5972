"""What the numpy and torch forward passes of a sentence-transformers BERT model share: the model folder.

Reads and checks config.json / sentence_bert_config.json / 1_Pooling/config.json, loads model.safetensors
as float32 numpy arrays, sets up the fast tokenizer (truncation to max_seq_length, [CLS] ... [SEP]) and
runs embed(): texts tokenized, sorted by token count, cut into batches of at most `batch_tokens` tokens, each batch
mean-pooled by the subclass's `_forward`, every row L2-normalised. Imports only numpy, tokenizers and
safetensors; rag/minilm.py (numpy) and rag/minilm_torch.py (torch) implement `_build` and `_forward`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import ConfigError, MissingDependency

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

Spans = list[tuple[int, int]]
Weights = dict[str, "np.ndarray"]


@dataclass(frozen=True)
class BertConfig:
    hidden: int
    heads: int
    layers: int
    eps: float
    max_seq_length: int

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: missing — the model folder must be a sentence-transformers BERT model")
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def read_config(folder: Path) -> BertConfig:
    """The encoder's shape from config.json, checked against what the forward passes implement."""
    cfg = _read_json(folder / "config.json")
    expected = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    for key, value in expected.items():
        if cfg.get(key, value) != value:
            raise ConfigError(f"{folder / 'config.json'}: {key} is {cfg.get(key)!r}; only {value!r} is supported "
                              "— load this model with sentence-transformers instead")
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    if modes != ["pooling_mode_mean_tokens"]:
        raise ConfigError(f"{folder / '1_Pooling' / 'config.json'}: pooling {modes} is not supported "
                          "— only mean pooling; load this model with sentence-transformers instead")
    st_cfg = _read_json(folder / "sentence_bert_config.json")
    max_len = min(int(st_cfg.get("max_seq_length") or 512), int(cfg["max_position_embeddings"]))
    return BertConfig(hidden=int(cfg["hidden_size"]), heads=int(cfg["num_attention_heads"]),
                      layers=int(cfg["num_hidden_layers"]), eps=float(cfg["layer_norm_eps"]),
                      max_seq_length=max_len)


def load_weights(path: Path) -> Weights:
    """model.safetensors as contiguous float32 arrays, keyed without the "bert." prefix."""
    import numpy as np
    from safetensors.numpy import load_file

    if not path.is_file():
        raise ConfigError(f"{path}: missing — the model folder needs its weights as model.safetensors")
    raw = load_file(str(path))
    return {k.removeprefix("bert."): np.ascontiguousarray(v, dtype=np.float32) for k, v in raw.items()
            if v.dtype.kind == "f"}


def _special_id(tokenizer: Tokenizer, token: str, folder: Path) -> int:
    token_id = tokenizer.token_to_id(token)
    if token_id is None:
        raise ConfigError(f"{folder / 'tokenizer.json'}: no {token} token — only BERT WordPiece tokenizers work here")
    return int(token_id)


def batches(lengths: list[int], budget: int) -> list[list[int]]:
    """Indices sorted by length, cut into runs of at most `budget` tokens (a longer text runs alone)."""
    out: list[list[int]] = []
    used = budget
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        if used + lengths[i] > budget:
            out.append([])
            used = 0
        out[-1].append(i)
        used += lengths[i]
    return out


class MeanPooledBert:
    """A sentence-transformers BERT folder with mean pooling; subclasses supply the forward pass.

    `_build(weights)` keeps what the forward pass needs; `_forward(ids)` takes token-id lists sorted by
    length (shortest first) and returns their mean-pooled last hidden states, (len(ids), hidden) float32.
    """

    batch_tokens = 2048  # tokens per _forward call: bounds memory (attention scores, FFN activations)

    def __init__(self, folder: Path, name: str) -> None:
        try:
            import safetensors  # noqa: F401  (used by load_weights)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependency("safetensors and tokenizers", pip="safetensors tokenizers") from exc
        folder = Path(folder)
        self.cfg = read_config(folder)
        self.name = name
        self.dim = self.cfg.hidden
        self.max_tokens = self.cfg.max_seq_length - 2  # room for [CLS] and [SEP]
        if not (folder / "tokenizer.json").is_file():
            raise ConfigError(f"{folder / 'tokenizer.json'}: missing — export the model's fast tokenizer")
        self._tokenizer: Tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # tokenizer.json ships with truncation and fixed padding to 128: switch both off; embed() truncates
        # to max_seq_length itself and packs without padding, and token_spans() must see the whole text.
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._cls, self._sep = (_special_id(self._tokenizer, t, folder) for t in ("[CLS]", "[SEP]"))
        self._build(load_weights(folder / "model.safetensors"))

    def _build(self, weights: Weights) -> None:
        raise NotImplementedError

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        raise NotImplementedError

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """[CLS] + the text's first max_tokens tokens + [SEP], as sentence-transformers feeds the model."""
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [[self._cls, *e.ids[: self.max_tokens], self._sep] for e in encodings]

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embed_ids(self.token_ids(texts) if texts else [])

    def embed_ids(self, ids: list[list[int]]) -> np.ndarray:
        """Unit-length float32 vectors of token_ids() output, one row per sequence."""
        import numpy as np

        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for batch in batches([len(s) for s in ids], self.batch_tokens):
            out[batch] = self._forward([ids[i] for i in batch])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, np.float32(1e-12))

    def token_spans(self, text: str) -> Spans:
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        return [(int(a), int(b)) for a, b in encoding.offsets if b > a]
