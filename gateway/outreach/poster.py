"""The A4 poster: every service, its SMS with an example, and every way to reach the office.

Villagers learn the SMS formats, the USSD code and the portal address from a
sheet on the office wall; typing it by hand from the catalog goes stale the
day a service changes. So the poster is made from the catalog and the
config: the core gives the services (name, SMS format and a worked example,
what to bring, processing time) and the portal with its QR code; each part
adds how to reach the office through it with the ``poster_items(config,
locale)`` hook (the SMS part its number, status and question commands, the
USSD part its code). SMS and USSD come first: they work on any phone, the
portal only on the office Wi-Fi.

One renderer serves ``simpul poster`` (a self-contained file, stylesheet
inlined) and the kiosk's ``/kiosk/poster`` (stylesheet linked, because the
kiosk's Content-Security-Policy refuses inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from gateway import parts
from gateway.i18n import LOCALES, N_, gettext, translations
from gateway.intake.catalog import Catalog, Service
from gateway.intake.examples import sms_example
from gateway.web.qr import qr_svg

TEMPLATE = "poster.html"
STYLESHEET = "poster.css"
PORTAL_RANK = 80


@dataclass(frozen=True)
class PosterItem:
    """One box on the poster: how to reach the office one way (texts already translated)."""

    rank: int  # lower first: SMS 10, USSD 20, status 50, question 60, portal 80
    title: str
    text: str
    codes: tuple[str, ...] = ()  # what to type or dial, printed large
    qr_url: str = ""  # an address printed with its QR code


@dataclass(frozen=True)
class ServiceRow:
    name: str
    sms_format: str
    example: str
    choices: tuple[str, ...]  # "ALASAN: 1=Baru, 2=Hilang" for each choice field
    requirements: str
    processing_time: str
    fee: str


@dataclass(frozen=True)
class Poster:
    locale: str
    office: str
    items: tuple[PosterItem, ...]
    services: tuple[ServiceRow, ...]
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def lead(self) -> tuple[PosterItem, ...]:
        """The ways in shown above the services: SMS and USSD (rank below 50)."""
        return tuple(i for i in self.items if i.rank < 50)

    @property
    def more(self) -> tuple[PosterItem, ...]:
        return tuple(i for i in self.items if i.rank >= 50)


def service_row(service: Service, locale: str) -> ServiceRow:
    choices = tuple(f"{f.text('label', locale).upper().replace(' ', '_')}: {f.options_display(locale)}"
                    for f in service.sms_fields() if f.type == "choice")
    return ServiceRow(name=service.text("name", locale), sms_format=service.sms_format(locale),
                      example=sms_example(service, locale), choices=choices,
                      requirements=service.text("requirements", locale),
                      processing_time=service.text("processing_time", locale), fee=service.text("fee", locale))


def portal_item(config: Any, locale: str) -> PosterItem | None:
    """The portal with its QR code, when ``node.public_url`` says where people reach it."""
    url = (config["node.public_url"] or "").rstrip("/")
    if not url:
        return None
    return PosterItem(PORTAL_RANK, gettext(locale, N_("Website (office Wi-Fi)")),
                      gettext(locale, N_("At the village office, open this address or scan the code to "
                                         "apply and to follow your request.")),
                      codes=(url,), qr_url=url)


def build(config: Any, catalog: Catalog, locale: str) -> Poster:
    """The poster's content in ``locale``: the core's services and portal, the parts' items."""
    locale = locale if locale in LOCALES else config["node.default_locale"]
    items = [item for found in parts.call("poster_items", config, locale) for item in found]
    portal = portal_item(config, locale)
    if portal is not None:
        items.append(portal)
    items.sort(key=lambda i: i.rank)
    return Poster(locale=locale, office=config["node.name"], items=tuple(items),
                  services=tuple(service_row(s, locale) for s in catalog.services))


def _environment(locale: str) -> jinja2.Environment:
    root = resources.files("kiosk_ui") / "templates"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)), autoescape=True,
                             extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def stylesheet() -> str:
    return (resources.files("kiosk_ui") / "static" / STYLESHEET).read_text("utf-8")


def render(poster: Poster, stylesheet_url: str | None = None, languages: Sequence[tuple[str, str, str]] = (),
           back_url: str = "") -> str:
    """The whole HTML page; the stylesheet inlined unless ``stylesheet_url`` is given.

    ``languages`` ((code, name, url) each) and ``back_url`` make a bar for the
    screen that is never printed (the kiosk's page).
    """
    qrs = {i.qr_url: Markup(qr_svg(i.qr_url, i.qr_url)) for i in poster.items if i.qr_url}  # noqa: S704 - our SVG
    return _environment(poster.locale).get_template(TEMPLATE).render(
        poster=poster, qrs=qrs, stylesheet_url=stylesheet_url, languages=languages, back_url=back_url,
        inline_css=Markup(stylesheet()) if stylesheet_url is None else "")  # noqa: S704 - our own file
