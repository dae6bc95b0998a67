"""QR codes as inline SVG (qrcode's SVG path factory; no Pillow, no image file).

The receipt and the portal's result page embed the track URL as a QR code;
inline SVG keeps the page self-contained and prints sharply on a thermal
printer. The path has one ``M x,y`` square per dark module, which also lets
tests read the matrix back.
"""

from __future__ import annotations

import re

import qrcode
from qrcode.image.svg import SvgPathImage


def qr_svg(data: str, label: str = "") -> str:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       image_factory=SvgPathImage)
    qr.add_data(data)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    safe_label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return svg.replace("<svg ", f'<svg class="qr" role="img" aria-label="{safe_label}" ', 1)


def track_base_url(config, host_url: str | None = None) -> str:
    """The node's public base URL: ``node.public_url``, else http://HOST:PORT."""
    public = (config["node.public_url"] or "").rstrip("/")
    if public:
        return public
    host = config["http.host"]
    if host in ("0.0.0.0", "::", "") and host_url:
        return host_url.rstrip("/")
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config['http.port']}"


def track_url(config, code: str, host_url: str | None = None) -> str:
    return f"{track_base_url(config, host_url)}/track/{code}"
