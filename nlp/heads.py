"""Trained linear heads over e5 sentence embeddings: sentiment, one head per risk label, action items.

The weights are a small committed file (``nlp/weights/heads.npz``) written by ``scripts/train_nlp.py``; at run
time they are three matrix products in numpy, no scikit-learn or torch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dealtalk.contracts.errors import ConfigurationError

__all__ = ["SENTIMENTS", "HeadScores", "Heads", "load_heads"]

SENTIMENTS = ("negative", "neutral", "positive")
FloatMatrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class HeadScores:
    """Scores for a batch of texts: shapes (n, 3), (n, labels), (n,)."""

    sentiment: FloatMatrix
    risk: FloatMatrix
    action: npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Heads:
    """Weights and decision thresholds of the trained heads."""

    risk_labels: tuple[str, ...]
    sentiment_w: FloatMatrix  # shape: (3, dim)
    sentiment_b: FloatMatrix  # shape: (3,)
    risk_w: FloatMatrix  # shape: (labels, dim)
    risk_b: FloatMatrix  # shape: (labels,)
    risk_threshold: FloatMatrix  # shape: (labels,)
    action_w: FloatMatrix  # shape: (dim,)
    action_b: float
    action_threshold: float
    # The union's sentiment head reads the embedding followed by the rule and cue features (nlp/features.py).
    union_sentiment_w: FloatMatrix  # shape: (3, dim + features)
    union_sentiment_b: FloatMatrix  # shape: (3,)
    version: str
    sha256: str

    def score(self, embeddings: FloatMatrix) -> HeadScores:
        """Probabilities for embeddings of shape (n, dim)."""
        logits = embeddings @ self.sentiment_w.T + self.sentiment_b  # shape: (n, 3)
        logits -= logits.max(axis=1, keepdims=True)
        sentiment = np.exp(logits)
        sentiment /= sentiment.sum(axis=1, keepdims=True)
        risk = _sigmoid(embeddings @ self.risk_w.T + self.risk_b)  # shape: (n, labels)
        action = _sigmoid(embeddings @ self.action_w + self.action_b)  # shape: (n,)
        return HeadScores(sentiment.astype(np.float32), risk.astype(np.float32), action.astype(np.float32))

    def union_sentiment(
        self, embedding: npt.NDArray[np.float32], features: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Sentiment probabilities (negative, neutral, positive) from one embedding and its features."""
        logits = self.union_sentiment_w @ np.concatenate([embedding, features]) + self.union_sentiment_b
        exp: npt.NDArray[np.float32] = np.exp(logits - logits.max()).astype(np.float32)
        total = np.float32(exp.sum())
        probabilities: npt.NDArray[np.float32] = exp / total
        return probabilities


def _sigmoid(x: FloatMatrix) -> FloatMatrix:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))).astype(np.float32)


def load_heads(path: Path | None = None) -> Heads:
    """Load the heads from ``path`` (default: the committed ``nlp/weights/heads.npz``).

    Raises:
        ConfigurationError: the file is missing or does not hold the expected arrays.
    """
    if path is None:
        data = resources.files("dealtalk.nlp.weights").joinpath("heads.npz").read_bytes()
    else:
        if not path.is_file():
            raise ConfigurationError(f"no trained heads at {path}; run scripts/train_nlp.py")
        data = path.read_bytes()
    import io

    try:
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        return Heads(
            risk_labels=tuple(str(label) for label in arrays["risk_labels"]),
            sentiment_w=arrays["sentiment_w"].astype(np.float32),
            sentiment_b=arrays["sentiment_b"].astype(np.float32),
            risk_w=arrays["risk_w"].astype(np.float32),
            risk_b=arrays["risk_b"].astype(np.float32),
            risk_threshold=arrays["risk_threshold"].astype(np.float32),
            action_w=arrays["action_w"].astype(np.float32).reshape(-1),
            action_b=float(arrays["action_b"]),
            action_threshold=float(arrays["action_threshold"]),
            union_sentiment_w=arrays["union_sentiment_w"].astype(np.float32),
            union_sentiment_b=arrays["union_sentiment_b"].astype(np.float32),
            version=str(arrays["version"]),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    except (KeyError, ValueError) as exc:
        raise ConfigurationError(f"the heads file does not hold the expected arrays ({exc})") from exc
