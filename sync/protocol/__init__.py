"""The sync protocol shared by the node client and the regional server: pure code, no I/O.

``wire`` is the message format (columnar gzip'd JSON), ``signing`` the HMAC
over every request and response, ``flags`` the codes the server sends back
about a node's audit trail. Neither side's package imports the other; both
import this one. docs/sync-protocol.md describes every message.
"""
