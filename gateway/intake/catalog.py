"""The service catalog: data, not code.

One TOML file lists the services a node offers. It drives the SMS grammar
(keywords and field order), the USSD menus (one screen per field) and the web
and kiosk forms, so adding a service never needs a code change. The catalog
is validated as a whole and every problem is reported with its location
(``services[2].fields[1].type``), because an operator fixing a file wants all
errors at once, not one per restart.

The file has a ``format``: 1 (no ``format`` key) needs ``id`` and ``en`` for
every text; 2 needs only ``id`` and may add ``en``, ``jv``, ``su`` (missing
ones fall back to ``id``). Nodes that only know format 1 get a format-1 copy
from the regional server (:mod:`gateway.intake.catalog_format`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from gateway.errors import CatalogError
from gateway.i18n import LOCALES, Message
from gateway.intake import validators

FIELD_TYPES = ("nik", "text", "date", "choice", "phone", "integer")
# Free-form types: whatever a citizen types there may be health, family or
# money circumstances (specific personal data under UU 27/2022), so they are
# personal unless the catalog says otherwise *and* says why.
FREE_FORM_TYPES = ("text",)
# Types that identify a person whatever the catalog says.
ALWAYS_PERSONAL_TYPES = ("nik", "phone")
DEMO_CATALOG = "demo_catalog.toml"
CATALOG_FORMAT = 4  # the newest catalog format this code understands
# Per format: locales a text must have, locales it may have.
FORMAT_LOCALES = {1: (("id", "en"), ("id", "en")), 2: (("id",), LOCALES), 3: (("id",), LOCALES),
                  4: (("id",), LOCALES)}
# Format 4: an optional choice after a text field is left out of the SMS shape (``Service.sms_fields``).
# Older nodes would split an SMS at its ``#`` to fill it, so they get a copy without such fields.
SMS_SKIPS_CHOICE_SINCE = 4
# Service keys and the format that introduced them (an older node refuses them).
SERVICE_KEYS_SINCE = {"processing_days": 3, "reject_reasons": 3}


def skipped_by_sms(fields: Sequence[Any]) -> list[Any]:
    """The optional choice fields that follow a text field (parsed ``Field`` or raw tables)."""
    def get(f: Any, key: str, default: Any = None) -> Any:
        return f.get(key, default) if isinstance(f, dict) else getattr(f, key, default)

    out, after_text = [], False
    for f in fields:
        if after_text and get(f, "type") == "choice" and not get(f, "required", True):
            out.append(f)
        after_text = after_text or get(f, "type") == "text"
    return out


def _text(texts: dict[str, str], locale: str) -> str:
    return texts.get(locale) or texts.get("id") or next(iter(texts.values()), "")


@dataclass(frozen=True)
class Option:
    code: str
    label: dict[str, str]


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: dict[str, str]
    prompt: dict[str, str]
    required: bool = True
    personal: bool = False
    max_length: int = 200
    min_length: int = 1
    not_future: bool = False
    minimum: int | None = None
    maximum: int | None = None
    options: tuple[Option, ...] = ()

    def text(self, attr: str, locale: str) -> str:
        return _text(getattr(self, attr), locale)

    def options_display(self, locale: str) -> str:
        return ", ".join(f"{i}={_text(o.label, locale)}" for i, o in enumerate(self.options, 1))

    def validate(self, value: str, locale: str) -> Any:
        """Normalized value, or raise validators.Invalid."""
        if self.type == "nik":
            return validators.nik(value)
        if self.type == "date":
            return validators.date(value, not_future=self.not_future)
        if self.type == "phone":
            return validators.phone(value)
        if self.type == "integer":
            return validators.integer(value, minimum=self.minimum, maximum=self.maximum)
        if self.type == "choice":
            opts = [(o.code, list(o.label.values())) for o in self.options]
            return validators.choice(value, opts, self.options_display(locale))
        return validators.text(value, max_length=self.max_length, min_length=self.min_length)


@dataclass(frozen=True)
class Service:
    code: str
    keywords: tuple[str, ...]
    name: dict[str, str]
    description: dict[str, str]
    requirements: dict[str, str]
    fee: dict[str, str]
    processing_time: dict[str, str]
    fields: tuple[Field, ...]
    processing_days: float | None = None  # the number behind processing_time (analytics: past due)
    reject_reasons: tuple[Option, ...] = ()  # categories a rejection is filed under

    def text(self, attr: str, locale: str) -> str:
        return _text(getattr(self, attr), locale)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def split_personal(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(plain, personal): a value of a field this service does not declare counts as personal."""
        plain: dict[str, Any] = {}
        personal: dict[str, Any] = {}
        for name, value in values.items():
            field = self.field(name)
            (plain if field is not None and not field.personal else personal)[name] = value
        return plain, personal

    def reject_reason(self, status: str, code: str | None) -> str | None:
        """``code`` when a rejection is filed under one of this service's ``reject_reasons``, else None
        (any other status, or a code the catalog lacks: the district analytics count it "unknown")."""
        return code if status == "rejected" and code in {r.code for r in self.reject_reasons} else None

    def sms_fields(self) -> list[Field]:
        """The fields an SMS fills, in order. A text field takes the rest of the message (``#``
        included), so an optional choice after one (ADUAN's category) is left to USSD, web and kiosk."""
        skipped = skipped_by_sms(self.fields)
        return [f for f in self.fields if f not in skipped]

    def sms_format(self, locale: str) -> str:
        """The exact SMS shape, e.g. ``DOMISILI#NIK#NAMA#ALAMAT``."""
        parts = [self.keywords[0]] + [
            f.text("label", locale).upper().replace(" ", "_") for f in self.sms_fields()
        ]
        return "#".join(parts)


def labelled_fields(service: Service | None, values: dict[str, Any], locale: str) -> list[tuple[str, Any]]:
    """(label, value) pairs for display: catalog order first, then fields the catalog no longer has."""
    order = [f.name for f in service.fields] if service else []
    names = [n for n in order if n in values] + [n for n in values if n not in order]
    out = []
    for name in names:
        field = service.field(name) if service else None
        out.append((field.text("label", locale) if field else name, values[name]))
    return out


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: Message

    def render(self, locale: str) -> str:
        return f"{self.field}: {self.message.render(locale)}"


@dataclass(frozen=True)
class Catalog:
    version: int
    services: tuple[Service, ...]
    format: int = 1

    def service(self, code: str) -> Service | None:
        code = code.strip().upper()
        return next((s for s in self.services if s.code == code), None)

    def by_keyword(self, word: str) -> Service | None:
        word = word.strip().upper()
        return next((s for s in self.services if word in s.keywords or word == s.code), None)

    def keywords(self) -> list[str]:
        return [kw for s in self.services for kw in s.keywords]

    def validate(
        self, service: Service, values: dict[str, str], locale: str
    ) -> tuple[dict[str, Any], list[FieldProblem]]:
        """Check every field; return normalized values and all problems found."""
        clean: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        known = {f.name for f in service.fields}
        for name in values:
            if name not in known:
                problems.append(FieldProblem(name, Message("unknown field for this service")))
        for f in service.fields:
            raw = values.get(f.name)
            if raw is None or str(raw).strip() == "":
                if f.required:
                    problems.append(FieldProblem(f.name, Message("required")))
                continue
            try:
                clean[f.name] = f.validate(str(raw), locale)
            except validators.Invalid as exc:
                problems.append(FieldProblem(f.name, exc.message))
        return clean, problems


# --------------------------------------------------------------------------
# Parsing with located errors


class _Errors(list):
    format: int = 1

    def add(self, where: str, what: str) -> None:
        self.append(f"{where}: {what}")


def _locale_texts(errors: _Errors, where: str, value: Any, required: bool = True) -> dict[str, str]:
    needed, allowed = FORMAT_LOCALES.get(errors.format, FORMAT_LOCALES[CATALOG_FORMAT])
    if value is None:
        if required:
            errors.add(where, f"missing (a table of locale = text; needs: {', '.join(needed)})")
        return {}
    if isinstance(value, str):
        return {loc: value for loc in needed}
    if not isinstance(value, dict):
        errors.add(where, "must be a table of locale = text")
        return {}
    for loc in needed:
        if not isinstance(value.get(loc), str) or not value.get(loc):
            errors.add(f"{where}.{loc}", "missing text for shipped locale")
    for loc in value:
        if loc not in allowed:
            errors.add(f"{where}.{loc}", f"unknown locale (format {errors.format}: {', '.join(allowed)})")
        elif not isinstance(value[loc], str) or not value[loc]:
            errors.add(f"{where}.{loc}", "must be a non-empty text")
    return {k: v for k, v in value.items() if isinstance(v, str) and v}


def _options(errors: _Errors, where: str, raw: list[Any]) -> list[Option]:
    """A list of {code, label} tables (choice options, reject reasons)."""
    options = []
    for j, opt in enumerate(raw):
        ow = f"{where}[{j}]"
        if not isinstance(opt, dict) or not isinstance(opt.get("code"), str):
            errors.add(ow, "needs a code and a label")
            continue
        options.append(Option(opt["code"], _locale_texts(errors, f"{ow}.label", opt.get("label"))))
    return options


_FIELD_KEYS = {"name", "type", "label", "prompt", "required", "personal", "reason", "max_length",
               "min_length", "not_future", "min", "max", "options"}
_SERVICE_KEYS = {"code", "keywords", "name", "description", "requirements", "fee",
                 "processing_time", "processing_days", "reject_reasons", "fields"}


def _personal(errors: _Errors, where: str, data: dict[str, Any], ftype: Any) -> bool:
    """Privacy by default: NIK and phone always, free text unless declared otherwise with a reason."""
    declared = data.get("personal")
    reason = data.get("reason")
    if "reason" in data and (not isinstance(reason, str) or not reason.strip()):
        errors.add(f"{where}.reason", "must be a non-empty text saying why the field is not personal")
    if ftype in ALWAYS_PERSONAL_TYPES:
        if declared is False:
            errors.add(f"{where}.personal", f"a {ftype} field is always personal data")
        return True
    if ftype in FREE_FORM_TYPES and declared is not True:
        if declared is False and not (isinstance(reason, str) and reason.strip()):
            errors.add(f"{where}.personal", "free text is personal unless `reason` says why not "
                       "(personal = false needs reason = \"...\")")
        return declared is not False
    return declared is True


def personal_fields(catalog: Catalog) -> dict[str, set[str]]:
    """{service code: names of its personal fields}: what a node running ``catalog`` seals."""
    return {s.code: {f.name for f in s.fields if f.personal} for s in catalog.services}


def privacy_downgrades(sealed: dict[str, set[str]] | dict[str, list[str]], new: Catalog) -> list[str]:
    """``service.field`` names that ``new`` would store in clear although the node seals them now.

    A catalog (a local file or one pulled from the regional server) must never
    turn sealing off for data already protected: it is refused whole instead.
    """
    found = []
    for service in new.services:
        for field in service.fields:
            if not field.personal and field.name in set(sealed.get(service.code, ())):
                found.append(f"{service.code}.{field.name}")
    return sorted(found)


def _parse_field(errors: _Errors, where: str, data: Any) -> Field | None:
    if not isinstance(data, dict):
        errors.add(where, "must be a table")
        return None
    for key in data:
        if key not in _FIELD_KEYS:
            errors.add(f"{where}.{key}", "unknown key")
    name = data.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        errors.add(f"{where}.name", "missing or not an identifier")
        name = "?"
    ftype = data.get("type")
    if ftype not in FIELD_TYPES:
        errors.add(f"{where}.type", f"unknown type {ftype!r} (one of: {', '.join(FIELD_TYPES)})")
    for key in ("required", "personal", "not_future"):
        if key in data and not isinstance(data[key], bool):
            errors.add(f"{where}.{key}", "must be true or false")
    for key in ("max_length", "min_length", "min", "max"):
        if key in data and (not isinstance(data[key], int) or isinstance(data[key], bool)):
            errors.add(f"{where}.{key}", "must be an integer")
    personal = _personal(errors, where, data, ftype)
    options: list[Option] = []
    if ftype == "choice":
        raw = data.get("options")
        if not isinstance(raw, list) or not raw:
            errors.add(f"{where}.options", "a choice needs a non-empty list of options")
        else:
            options = _options(errors, f"{where}.options", raw)
    def _int(key: str, default: int | None) -> int | None:
        value = data.get(key, default)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    return Field(
        name=name,
        type=ftype if ftype in FIELD_TYPES else "text",
        label=_locale_texts(errors, f"{where}.label", data.get("label")),
        prompt=_locale_texts(errors, f"{where}.prompt", data.get("prompt")),
        required=data.get("required", True) is True,
        personal=personal,
        max_length=_int("max_length", 200) or 200,
        min_length=_int("min_length", 1) or 0,
        not_future=data.get("not_future", False) is True,
        minimum=_int("min", None),
        maximum=_int("max", None),
        options=tuple(options),
    )


def parse_catalog(data: dict[str, Any]) -> tuple[Catalog | None, list[str]]:
    """Build a Catalog from parsed TOML; return it with every error found."""
    errors = _Errors()
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        errors.add("version", "must be a positive integer")
        version = 0
    fmt = data.get("format", 1)
    if not isinstance(fmt, int) or isinstance(fmt, bool) or not 1 <= fmt <= CATALOG_FORMAT:
        errors.add("format", f"must be an integer from 1 to {CATALOG_FORMAT} (the newest this node understands)")
        fmt = CATALOG_FORMAT
    errors.format = fmt
    for key in data:
        if key not in ("version", "format", "services"):
            errors.add(key, "unknown key")
    raw_services = data.get("services")
    if not isinstance(raw_services, list) or not raw_services:
        errors.add("services", "must be a non-empty array of tables ([[services]])")
        raw_services = []
    services: list[Service] = []
    seen_codes: set[str] = set()
    seen_keywords: dict[str, str] = {}
    for i, raw in enumerate(raw_services):
        where = f"services[{i}]"
        if not isinstance(raw, dict):
            errors.add(where, "must be a table")
            continue
        for key in raw:
            if key not in _SERVICE_KEYS:
                errors.add(f"{where}.{key}", "unknown key")
            elif SERVICE_KEYS_SINCE.get(key, 1) > errors.format:
                errors.add(f"{where}.{key}", f"needs format = {SERVICE_KEYS_SINCE[key]}")
        code = raw.get("code")
        if not isinstance(code, str) or not code.isalnum() or code != code.upper():
            errors.add(f"{where}.code", "must be upper-case letters and digits")
            code = f"?{i}"
        elif code in seen_codes:
            errors.add(f"{where}.code", f"duplicate service code {code}")
        seen_codes.add(code)
        keywords = raw.get("keywords", [code])
        if not isinstance(keywords, list) or not all(isinstance(k, str) and k.isalnum() for k in keywords) or not keywords:
            errors.add(f"{where}.keywords", "must be a list of words (letters and digits)")
            keywords = [code]
        keywords = [k.upper() for k in keywords]
        for kw in keywords:
            if kw in seen_keywords and seen_keywords[kw] != code:
                errors.add(f"{where}.keywords", f"keyword {kw} already used by {seen_keywords[kw]}")
            seen_keywords[kw] = code
        raw_fields = raw.get("fields")
        fields: list[Field] = []
        if not isinstance(raw_fields, list) or not raw_fields:
            errors.add(f"{where}.fields", "must be a non-empty array of tables ([[services.fields]])")
        else:
            names: set[str] = set()
            for j, rf in enumerate(raw_fields):
                f = _parse_field(errors, f"{where}.fields[{j}]", rf)
                if f is None:
                    continue
                if f.name in names:
                    errors.add(f"{where}.fields[{j}].name", f"duplicate field {f.name}")
                names.add(f.name)
                fields.append(f)
            if errors.format < SMS_SKIPS_CHOICE_SINCE and skipped_by_sms(fields):
                errors.add(f"{where}.fields", f"an optional choice after a text field needs format = "
                                              f"{SMS_SKIPS_CHOICE_SINCE} (an SMS does not fill it)")
        services.append(Service(
            code=code,
            keywords=tuple(keywords),
            name=_locale_texts(errors, f"{where}.name", raw.get("name")),
            description=_locale_texts(errors, f"{where}.description", raw.get("description")),
            requirements=_locale_texts(errors, f"{where}.requirements", raw.get("requirements"), False),
            fee=_locale_texts(errors, f"{where}.fee", raw.get("fee"), False),
            processing_time=_locale_texts(errors, f"{where}.processing_time", raw.get("processing_time"), False),
            fields=tuple(fields),
            processing_days=_processing_days(errors, where, raw.get("processing_days")),
            reject_reasons=_reject_reasons(errors, where, raw.get("reject_reasons", [])),
        ))
    if errors:
        return None, list(errors)
    return Catalog(version=version, services=tuple(services), format=fmt), []


def _processing_days(errors: _Errors, where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3650:
        errors.add(f"{where}.processing_days", "must be a number of days above 0")
        return None
    return value


def _reject_reasons(errors: _Errors, where: str, value: Any) -> tuple[Option, ...]:
    if not isinstance(value, list):
        errors.add(f"{where}.reject_reasons", "must be an array of tables ([[services.reject_reasons]])")
        return ()
    return tuple(_options(errors, f"{where}.reject_reasons", value))


def read_catalog_text(path: str | Path | None) -> tuple[str, str]:
    """(source name, TOML text) of the configured catalog or the shipped demo."""
    if not path:
        return f"<demo>/{DEMO_CATALOG}", resources.files("gateway").joinpath(DEMO_CATALOG).read_text("utf-8")
    return str(path), Path(path).read_text(encoding="utf-8")


def check_text(text: str) -> tuple[Catalog | None, list[str]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [f"TOML syntax: {exc}"]
    return parse_catalog(data)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate; raise CatalogError listing every problem."""
    try:
        source, text = read_catalog_text(path)
    except OSError as exc:
        raise CatalogError([f"{path}: cannot read: {exc.strerror}"]) from None
    catalog, errors = check_text(text)
    if catalog is None:
        raise CatalogError([f"{source}: {e}" for e in errors])
    return catalog
