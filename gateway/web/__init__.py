"""The web toolkit every web surface shares: the kiosk, the portal and the regional server.

One implementation each of CSRF (``csrf``), security headers (``headers``),
password hashing (``passwords``), the login throttle (``throttle``),
server-side sessions (``sessions``), the client address and cookie flags
behind a trusted reverse proxy (``proxy``), byte-wise token comparison
(``compare``) and the page helpers (``ui``, ``forms``, ``qr``). It lives in
the core because ``sync.regional`` may not import ``channels``.
"""
