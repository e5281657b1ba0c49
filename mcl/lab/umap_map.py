"""A 2-D map of latents with UMAP (umap-learn), drawn with plotly: one colour per label, the text on hover."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def embed_2d(z, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "cosine", random_state: int = 0,
             **umap_kwargs) -> np.ndarray:
    """`(N, D)` latents → `(N, 2)` UMAP coordinates. Cosine metric by default: the space is compared by angle.

    `n_neighbors` is capped at N − 1 so small sets work. Example: `embed_2d(np.random.randn(50, 16)).shape == (50, 2)`.
    """
    import warnings

    import umap

    x = np.asarray(z.detach().cpu() if hasattr(z, "detach") else z, dtype=np.float32)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"latent_map needs at least 3 latents of shape (N, D), got {x.shape}")
    reducer = umap.UMAP(n_components=2, n_neighbors=max(2, min(n_neighbors, len(x) - 1)), min_dist=min_dist,
                        metric=metric, random_state=random_state, **umap_kwargs)
    with warnings.catch_warnings():  # umap warns that a fixed random_state disables parallelism: wanted here
        warnings.filterwarnings("ignore", message="n_jobs value")
        return reducer.fit_transform(x)


def latent_map(z, labels: Sequence[str], texts: Sequence[str] | None = None, title: str = "latent space (UMAP)",
               **umap_kwargs):
    """A plotly scatter of the UMAP of `z` `(N, D)`, coloured by `labels` (N), hover showing `texts` (N).

    Extra keyword arguments go to `umap.UMAP` (`n_neighbors`, `min_dist`, `metric`, `random_state`).
    Example: `latent_map(encode(run, ws), [w.labels["action"] for w in ws], [w.texts[0] for w in ws]).show()`.
    """
    import plotly.graph_objects as go

    labels = [str(x) for x in labels]
    if len(labels) != len(z):
        raise ValueError(f"{len(z)} latents but {len(labels)} labels")
    texts = [str(t) for t in texts] if texts is not None else labels
    if len(texts) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(texts)} texts")
    xy = embed_2d(z, **umap_kwargs)
    fig = go.Figure()
    for lab in sorted(set(labels)):
        idx = [i for i, x in enumerate(labels) if x == lab]
        fig.add_trace(go.Scattergl(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=lab,
                                   text=[texts[i] for i in idx], hovertemplate="%{text}<extra>" + lab + "</extra>",
                                   marker=dict(size=7, opacity=0.8)))
    fig.update_layout(title=title, xaxis_title="UMAP 1", yaxis_title="UMAP 2", template="plotly_white",
                      legend_title_text="label")
    return fig
