"""Text-encoding throughput of each available frozen space, cold (nothing cached) and cached (second call).

    python bench/spaces.py [--n 2000] [--spaces minilm random-clip]

random-clip has CLIP ViT-B/32's architecture with random weights: its numbers are the speed of the CLIP text tower,
its embeddings mean nothing. For CLIP it also times OpenAI's own `encode_text` (all 77 positions) against
mcl's short-context path (`encode_tokens`, exact), on a subset.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from mcl.spaces import CachedSpace, available_spaces, get_space  # noqa: E402
from mcl.spaces.clip_vit import ClipModelSpace, encode_tokens, tokenize  # noqa: E402

SUBJECTS = ["a person", "a man", "a woman", "someone", "an old man", "a child", "a dancer", "a tired person"]
VERBS = ["walks", "runs", "jumps", "waves", "kicks", "turns around", "sits down", "crawls", "throws a ball",
         "climbs stairs", "dances", "stumbles"]
MANNERS = ["slowly", "quickly", "happily", "forward", "backwards", "in a circle", "to the left", "carefully",
           "while looking up", "with both arms raised", "on one leg", "like a zombie"]
TAILS = ["", " and then stops", " twice", " and sits"]


def prompts(n: int) -> list[str]:
    """`n` distinct prompts from templates (8 × 12 × 12 × 4 = 4,608 combinations)."""
    combos = itertools.product(TAILS, MANNERS, VERBS, SUBJECTS)
    return [f"{s} {v} {m}{t}" for t, m, v, s in itertools.islice(combos, n)]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="distinct texts to encode (default 2000)")
    ap.add_argument("--spaces", nargs="*", help="spaces to time (default: every available one)")
    ap.add_argument("--full-context-subset", type=int, default=128, help="texts for the 77-position CLIP comparison")
    args = ap.parse_args()

    texts = prompts(args.n)
    assert len(set(texts)) == len(texts) == args.n
    names = args.spaces or [n for n, ok, _ in available_spaces() if ok]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(texts)} distinct texts")
    print(f"{'space':<48} {'build s':>8} {'cold texts/s':>13} {'cached texts/s':>15} {'disk-cached texts/s':>20}")
    for name in names:
        space, t_build = timed(lambda: get_space(name, verbose=False))
        label = space.name + (" (random weights: speed only)" if name == "random-clip" else "")
        with tempfile.TemporaryDirectory() as cache_dir:
            cached = CachedSpace(space, cache_dir)
            _, t_cold = timed(lambda: cached.encode_text(texts))
            _, t_hot = timed(lambda: cached.encode_text(texts))
            reopened = CachedSpace(space, cache_dir)
            _, t_disk = timed(lambda: reopened.encode_text(texts))
            assert cached.stats.misses == len(texts) and reopened.stats.disk_hits == len(texts)
        n = len(texts)
        print(f"{label:<48} {t_build:8.1f} {n / t_cold:13.0f} {n / t_hot:15.0f} {n / t_disk:20.0f}")

        if isinstance(space, ClipModelSpace):
            sub = texts[:args.full_context_subset]
            tokens = tokenize(sub)
            with torch.inference_mode():
                _, t_full = timed(lambda: space.model.encode_text(tokens))
                _, t_short = timed(lambda: encode_tokens(space.model, tokens))
            L = int(tokens.argmax(-1).max()) + 1
            print(f"  {space.name} text tower on {len(sub)} texts: OpenAI encode_text (77 positions) "
                  f"{len(sub) / t_full:.0f} texts/s, mcl encode_tokens ({L} positions) {len(sub) / t_short:.0f} "
                  f"texts/s ({t_full / t_short:.1f}x)")


if __name__ == "__main__":
    main()
