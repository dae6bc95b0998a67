"""Why the regional server refused a node's audit trail: codes on the wire, labels for people.

The server judges the chain (``sync.regional.audit_chain``) and answers with
one of these codes; the node prints the label to its operator. Both sides need
the same table, so it lives with the protocol.
"""

from __future__ import annotations

from gateway.i18n import N_

# Problem codes (stored in node_flags.detail) and their labels (msgids).
REWRITTEN = "rewritten"
UNLINKED = "unlinked"
GAP = "gap"
BAD_HASH = "bad_hash"
PROBLEMS = {
    REWRITTEN: N_("an entry the server already held came back different (history rewritten)"),
    UNLINKED: N_("new entries do not link to the last entry the server holds (chain recomputed)"),
    GAP: N_("entries are missing (sequence numbers not contiguous)"),
    BAD_HASH: N_("the entries do not recompute to the hash the node sent"),
}
