"""Spectral clustering of CAM++ speaker embeddings, as a pyannote clustering step.

pyannote's agglomerative clustering was tuned for its own embeddings; CAM++ (the weights we ship) comes from
3D-Speaker, whose recipe clusters with a pruned-affinity spectral method (Park et al., "Auto-tuning spectral
clustering for speaker diarization using normalized maximum eigengap", 2019): keep each embedding's most similar
neighbours, take the Laplacian's smallest eigenvectors, k-means them. The speaker count, when Teams gives it,
is the number of eigenvectors; otherwise the largest eigengap decides. Everything around the ``cluster`` step
(which embeddings train, constrained assignment of every local speaker to a centroid) stays pyannote's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pyannote.audio.pipelines.clustering import BaseClustering

__all__ = ["SpectralClustering", "spectral_labels", "spectral_labels_bounded"]

# Fewer embeddings than this: one speaker (an eigengap over a handful of points means nothing).
MIN_EMBEDDINGS = 4
# Upper bound on the count the eigengap may choose when no count is given.
MAX_AUTO_SPEAKERS = 12
# Embeddings clustered together at most (an eigen-decomposition of 2,000 x 2,000 takes about a second).
MAX_SPECTRAL_POINTS = 2000


def _unit(embeddings: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Rows scaled to length 1 (cosine similarity becomes a dot product)."""
    return np.asarray(
        embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12), dtype=np.float64
    )


def _pruned_affinity(unit: npt.NDArray[np.float64], keep: int) -> npt.NDArray[np.float64]:
    """Cosine affinity keeping each row's ``keep`` most similar entries, symmetrised, zero diagonal."""
    similarity = np.clip(unit @ unit.T, 0.0, None)
    np.fill_diagonal(similarity, 0.0)
    keep = max(1, min(keep, len(unit) - 1))
    drop = np.argsort(similarity, axis=1)[:, : len(unit) - keep]
    pruned = similarity.copy()
    np.put_along_axis(pruned, drop, 0.0, axis=1)
    return 0.5 * (pruned + pruned.T)


def spectral_labels(
    embeddings: npt.NDArray[np.float64],
    *,
    num_clusters: int | None,
    min_clusters: int,
    max_clusters: int,
    neighbours: float,
    seed: int = 0,
) -> npt.NDArray[np.int64]:
    """Cluster labels for ``embeddings`` (n, d).

    Args:
        num_clusters: the count when known (a hard constraint).
        min_clusters / max_clusters: bounds for the eigengap when the count is not known.
        neighbours: the share of the other embeddings each row keeps (at least 6 of them).
        seed: k-means initialisation (the result must not change from run to run).

    Returns:
        shape (n,), labels 0..k-1.
    """
    from sklearn.cluster import KMeans

    n = len(embeddings)
    if n < MIN_EMBEDDINGS or max_clusters < 2:
        return np.zeros(n, dtype=np.int64)
    unit = _unit(embeddings)
    affinity = _pruned_affinity(unit, max(6, round(neighbours * n)))
    laplacian = np.diag(affinity.sum(axis=1)) - affinity
    eigenvalues, eigenvectors = np.linalg.eigh(laplacian)
    if num_clusters is not None:
        k = num_clusters
    else:
        high = min(max_clusters, MAX_AUTO_SPEAKERS, n - 1)
        low = min(max(1, min_clusters), high)
        gaps = np.diff(eigenvalues[low - 1 : high + 1])
        k = int(np.argmax(gaps)) + low if len(gaps) else low
    k = max(1, min(k, n))
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    spectral = eigenvectors[:, :k]
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(spectral)
    # Renumber by first appearance so labels are stable whatever k-means numbered them.
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    return np.asarray(order[labels], dtype=np.int64)


class SpectralClustering(BaseClustering):
    """pyannote ``BaseClustering`` whose ``cluster`` step is :func:`spectral_labels`.

    Args:
        neighbours: the share of the other embeddings each embedding keeps in the affinity.
    """

    def __init__(self, neighbours: float = 0.2) -> None:
        super().__init__(metric="cosine", constrained_assignment=True)
        self.neighbours = neighbours

    def cluster(
        self,
        embeddings: npt.NDArray[np.float64],
        min_clusters: int,
        max_clusters: int,
        num_clusters: int | None = None,
    ) -> Any:
        return spectral_labels(
            np.asarray(embeddings, dtype=np.float64),
            num_clusters=num_clusters,
            min_clusters=min_clusters,
            max_clusters=max_clusters,
            neighbours=self.neighbours,
        )


def spectral_labels_bounded(
    embeddings: npt.NDArray[np.float64],
    *,
    num_clusters: int | None,
    min_clusters: int,
    max_clusters: int,
    neighbours: float,
    max_points: int = MAX_SPECTRAL_POINTS,
) -> npt.NDArray[np.int64]:
    """:func:`spectral_labels` whose cost does not grow with the call: beyond ``max_points`` embeddings (a
    3-hour call has ~14,000 windows; the affinity and its eigenvectors grow with the square and cube), an
    evenly spaced subset is clustered and every embedding goes to the nearest centroid of that subset."""
    n = len(embeddings)
    if n <= max_points:
        return spectral_labels(
            embeddings,
            num_clusters=num_clusters,
            min_clusters=min_clusters,
            max_clusters=max_clusters,
            neighbours=neighbours,
        )
    subset = np.linspace(0, n - 1, max_points).round().astype(np.int64)
    sample = spectral_labels(
        embeddings[subset],
        num_clusters=num_clusters,
        min_clusters=min_clusters,
        max_clusters=max_clusters,
        neighbours=neighbours,
    )
    unit = _unit(embeddings)
    centroids = np.stack([unit[subset][sample == k].mean(axis=0) for k in range(int(sample.max()) + 1)])
    labels = np.asarray(np.argmax(unit @ centroids.T, axis=1), dtype=np.int64)
    labels[subset] = sample
    return labels
