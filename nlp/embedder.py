"""Sentence embeddings with multilingual-e5-small on onnxruntime (no torch at run time).

The ONNX graph (exported by ``dealtalk.models.e5``) already mean-pools and L2-normalises, so an embedding is
one session run. Texts are batched by token length so that padding stays small: a call's segments range from
"Ja." to long monologues, and padding a batch to its longest member would waste most of the work.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from dealtalk.contracts.documents import ModelRef
from dealtalk.contracts.errors import ConfigurationError

__all__ = ["Embedder", "OnnxEmbedder", "load_embedder"]

log = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float32]
# e5 was trained with these prefixes; classification inputs use "query: " (the model card's advice for
# symmetric tasks such as classification and clustering).
_PREFIX = "query: "
# Longer inputs are cut: a segment's first 256 tokens carry its sentiment and risk, and attention cost is
# quadratic in length. Long monologues are split into sentences before they get here.
MAX_TOKENS = 256
# Small batches run faster per segment on CPU (the activations stay in cache): 800 labelled utterances, one
# thread, AMD EPYC: 239 segments/CPU-s at 4096 tokens per batch, 366 at 512, 307 at 128.
_TOKENS_PER_BATCH = 512


class Embedder(Protocol):
    """Texts in, L2-normalised vectors out (one row per text)."""

    @property
    def dim(self) -> int: ...

    @property
    def model(self) -> ModelRef: ...

    def embed(self, texts: list[str]) -> FloatMatrix: ...


@dataclass(frozen=True, slots=True)
class _Batch:
    rows: list[int]
    ids: npt.NDArray[np.int64]
    mask: npt.NDArray[np.int64]


class OnnxEmbedder:
    """multilingual-e5-small int8 on onnxruntime.

    Args:
        folder: the export folder (``model.int8.onnx``, ``tokenizer.json``, ``manifest.json``).
        threads: intra-op threads (1 per worker process: more threads under contention were slower).
    """

    def __init__(self, folder: Path, *, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise ConfigurationError(
                f"no e5 export in {folder}; run `python -m dealtalk.models.e5` (scripts/setup.sh does it)"
            )
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The session (native code, releases the GIL) builds while the 17 MB tokenizer file is parsed: the two
        # together are most of the engine's load time.
        with ThreadPoolExecutor(max_workers=1) as pool:
            session = pool.submit(
                onnxruntime.InferenceSession,
                str(folder / "model.int8.onnx"),
                options,
                providers=["CPUExecutionProvider"],
            )
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self._session = session.result()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._dim = int(manifest.get("dim", 384))
        self._model = ModelRef(
            name=str(manifest["name"]),
            version=str(manifest["version"]),
            source=str(manifest["source"]),
            sha256=str(manifest["sha256"]),
        )

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model(self) -> ModelRef:
        return self._model

    def embed(self, texts: list[str]) -> FloatMatrix:
        """Embed texts; returns shape (len(texts), dim), rows L2-normalised."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([_PREFIX + text for text in texts])
        for batch in _batches([encoding.ids for encoding in encodings]):
            (vectors,) = self._session.run(None, {"input_ids": batch.ids, "attention_mask": batch.mask})
            out[batch.rows] = vectors
        return out


def _batches(token_ids: list[list[int]]) -> list[_Batch]:
    """Group texts of similar length (sorted by length) into batches of about ``_TOKENS_PER_BATCH`` tokens."""
    order = sorted(range(len(token_ids)), key=lambda row: len(token_ids[row]))
    batches: list[_Batch] = []
    start = 0
    while start < len(order):
        longest = len(token_ids[order[start]])
        end = start
        while end < len(order):
            longest = max(longest, len(token_ids[order[end]]))
            if (end - start + 1) * longest > _TOKENS_PER_BATCH and end > start:
                break
            end += 1
        rows = order[start:end]
        width = max(len(token_ids[row]) for row in rows)
        ids = np.ones((len(rows), width), dtype=np.int64)  # 1 = <pad> in the XLM-R vocabulary
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            n = len(token_ids[row])
            ids[i, :n] = token_ids[row]
            mask[i, :n] = 1
        batches.append(_Batch(rows, ids, mask))
        start = end
    return batches


def load_embedder(folder: Path, *, threads: int = 1) -> OnnxEmbedder:
    """Load the exported e5 model from ``folder``.

    Raises:
        ConfigurationError: the export is missing (the message names the command that makes it).
    """
    log.info("loading e5 embedder from %s", folder)
    return OnnxEmbedder(folder, threads=threads)
