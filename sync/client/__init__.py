"""The node's sync client: a pass (``runner``) of stages (``stages``) over a signed transport.

``jobs`` schedules passes inside ``simpul serve`` and serves the kiosk's
"sync now"; ``cli`` is ``simpul sync``; ``state`` and ``schema`` keep the
marks that let a pass resume after a power cut; ``batching`` sizes batches to
the link. It speaks ``sync.protocol`` and never imports ``sync.regional``.
"""
