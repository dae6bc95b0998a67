"""The outbox: every SMS the node sends, queued durably with what caused it.

``queue`` (enqueue, list, retention), ``delivery`` (the sender's
bookkeeping), ``segments`` (what a text costs) and ``notices`` (the status
texts a citizen gets). Channels deliver; the core decides what is sent.
"""
