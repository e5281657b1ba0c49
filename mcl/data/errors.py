"""Errors and skip reports for the data layer: every bad input names the file, the field and what to do."""
from __future__ import annotations

from dataclasses import dataclass, field


class DataError(ValueError):
    """A source file or value that mcl cannot use. The message names the file, the problem and the fix.

    Example: `raise DataError("walk.bvh", "MOTION section missing", "check the file is a complete BVH export")`.
    """

    def __init__(self, file, problem: str, hint: str = ""):
        self.file, self.problem, self.hint = str(file), problem, hint
        msg = f"{self.file}: {problem}"
        super().__init__(msg + (f" — {hint}" if hint else ""))


@dataclass
class SkipReport:
    """Items left out on purpose (too short, NaN frames, …), counted and reported, never dropped silently."""
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)

    def add(self, what: str, why: str) -> None:
        self.skipped.append((str(what), why))

    def __len__(self) -> int:
        return len(self.skipped)

    def summary(self, limit: int = 10) -> str:
        """One line per reason with its count and, under it, the items it names (at most `limit` items in all).
        Empty string when nothing was skipped. Each reason is printed once, however many files share it."""
        if not self.skipped:
            return ""
        from collections import Counter
        counts = Counter(why for _, why in self.skipped)
        lines = [f"skipped {len(self.skipped)} item(s):"]
        shown = 0
        for why, n in counts.most_common():
            lines.append(f"  {n} × {why}")
            items = [what for what, w in self.skipped if w == why]
            take = items[:max(0, limit - shown)]
            shown += len(take)
            lines += [f"    - {what}" for what in take]
            if len(items) > len(take):
                lines.append(f"    … and {len(items) - len(take)} more")
        return "\n".join(lines)

    def extend(self, other: "SkipReport") -> None:
        self.skipped.extend(other.skipped)
