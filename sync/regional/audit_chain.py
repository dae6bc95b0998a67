"""Does a node's audit batch extend the chain the regional server holds? A pure judgement.

The node's local ``simpul audit verify`` cannot catch someone who edited an
entry and recomputed every later hash: the chain is consistent again. What
that person cannot recompute is the copy the regional server already holds.
So the server accepts audit entries only when they continue exactly where its
copy ends (or repeat it, byte for byte, after a lost ack), and otherwise says
why, for a flag a case worker sees. Hashes come from
:func:`gateway.privacy.audit.entry_hash`, the one digest both sides use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.privacy.audit import GENESIS, entry_hash
from sync.protocol.flags import BAD_HASH, GAP, PROBLEMS, REWRITTEN, UNLINKED  # noqa: F401 - the codes judge() gives


@dataclass
class Verdict:
    problem: str | None = None
    seq: int | None = None  # the entry where it stopped fitting
    held: str | None = None  # what the server holds there (None: nothing)
    got: str | None = None  # what the node's batch says instead
    hashes: list[str] = field(default_factory=list)  # recomputed, one per entry, when it fits
    same: int = 0  # entries the server already held, identical (a resend)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def detail(self) -> dict[str, Any]:
        return {"problem": self.problem, "seq": self.seq, "held": self.held, "got": self.got}


def judge(prev: str, head: tuple[int, str], entries: list[dict[str, Any]], held_seq: int,
          held_hash_at: Callable[[int], str | None]) -> Verdict:
    """Check a batch against the held chain ``1..held_seq``; ``held_hash_at(seq)`` reads it.

    Fits when: seqs are contiguous from ``first``; ``first <= held_seq + 1``
    (no hole after what is held); ``prev`` is the held hash at ``first - 1``
    (genesis before entry 1); every hash recomputes from its content and the
    last equals ``head``; entries the server already holds recompute to the
    very hashes it holds. A batch without entries carries only the node's
    head, which must be one the server holds (or a seq it has not seen yet).
    """

    def held_at(seq: int) -> str | None:
        return GENESIS if seq == 0 else held_hash_at(seq)

    if not entries:
        seq, digest = head
        if seq > held_seq:
            return Verdict(GAP, held_seq + 1, None, digest)
        if held_at(seq) != digest:
            return Verdict(REWRITTEN, seq, held_at(seq), digest)
        return Verdict()
    first = entries[0]["seq"]
    if first > held_seq + 1:
        return Verdict(GAP, held_seq + 1, None, None)
    link = held_at(first - 1)
    if prev != link:
        problem = UNLINKED if first - 1 == held_seq else REWRITTEN
        return Verdict(problem, first, link, prev)
    verdict, running = Verdict(), prev
    for i, e in enumerate(entries):
        if e["seq"] != first + i:
            return Verdict(GAP, first + i, None, None)
        running = entry_hash(running, e["seq"], e["at"], e["actor"], e["action"], e["subject"], e["details"])
        verdict.hashes.append(running)
    if running != head[1]:
        return Verdict(BAD_HASH, head[0], None, head[1])
    for e, digest in zip(entries, verdict.hashes, strict=True):
        if e["seq"] > held_seq:
            break
        held = held_at(e["seq"])
        if held != digest:
            return Verdict(REWRITTEN, e["seq"], held, digest)
        verdict.same += 1
    return verdict
