"""Reciprocal rank fusion: each path ranks candidates; a candidate's score is the sum of 1/(k + rank)."""

from __future__ import annotations


def rrf(rankings: list[list[str]], k: int = 60) -> list[tuple[str, float]]:
    """Fused (id, score) best first; the score is scaled so ranking first on every path gives 1.0."""
    if not rankings:
        return []
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    best_possible = len(rankings) / (k + 1)
    fused = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return [(item, round(score / best_possible, 6)) for item, score in fused]
