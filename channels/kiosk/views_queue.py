"""The officer's queue: filters, search, detail with history, status actions.

Each action is one status event written through ``gateway.cases.actions``
(the path ``simpul set-status`` takes too), which queues the citizen's SMS in
the same write job. Its event id is derived from the action form's one-time
token, so a double click on "Mark ready" records one event, not two. A note
is internal (sealed) unless the officer marks it for the citizen; a
rejection's reason always is. A note for the citizen must fit the SMS limit:
the count is shown as the officer types (``/segments``, counted here).
"""

from __future__ import annotations

import uuid

from flask import abort, g, jsonify, redirect, render_template, request, url_for

from channels.kiosk import queue, training
from channels.kiosk.blueprint import blueprint, form_binding, session_keys, session_opener
from gateway import parts
from gateway.cases import actions, transitions
from gateway.cases import records as cases
from gateway.errors import NoteTooLong, StatusError
from gateway.intake import codes
from gateway.intake.catalog import labelled_fields
from gateway.outbox import notices
from gateway.outbox import sent as sent_notices
from gateway.outbox import states as outbox_states
from gateway.privacy import audit, lookup, vault
from gateway.web import csrf
from gateway.web.ui import _, locale

EVENT_NAMESPACE = uuid.UUID("6f1c63b2-5d0e-4d55-9a43-6a1f3c0e9b11")
ACTIONS = ("in_progress", "ready", "rejected", "closed")
NOTE_MAX_CHARS = 2000  # an internal note; one for the citizen is limited by its SMS segments


def _node():
    return training.work_node()  # the training node while the officer practises


def _label(status: str) -> str:
    return cases.status_label(status, locale())


@blueprint.get("/queue")
def queue_list():
    args = request.args
    try:
        page = int(args.get("page", "1"))
    except ValueError:
        page = 1
    filters = queue.Filters(
        status=args.get("status", "") if args.get("status", "") in cases.STATUSES else "",
        service=args.get("service", "")[:20], channel=args.get("channel", "")[:20],
        q=args.get("q", "")[:60], page=page,
    )
    node_keys = session_keys()
    opener = session_opener()
    if opener is not None and filters.q.strip():
        lookup.catch_up(_node().store, opener)  # rows received since login become findable
    db = _node().store.read()
    rows, more, understood, sealed = queue.find(db, filters, node_keys)
    kinds = sorted({kind for kind, _v in queue.search_terms(filters.q) if kind != queue.CODE}) \
        if filters.q.strip() else []
    if kinds and node_keys:  # a person was looked up by NIK or phone: audited, without the value
        actor = g.officer["username"]
        _node().store.write(lambda wdb: audit.record_access(wdb, actor=actor, via=audit.VIA_QUEUE_SEARCH,
                                                            by=",".join(kinds)))
    return render_template("kiosk/queue.html", rows=rows, more=more, understood=understood, filters=filters,
                           search_sealed=sealed,
                           statuses=cases.STATUSES, services=_node().catalog.services,
                           channels=sorted({*parts.channels(), *queue.channels_in_use(db)}),
                           status_label=_label)


def _request_or_404(code: str) -> dict:
    try:
        row = cases.get_by_code(_node().store.read(), code)
    except codes.CodeError:
        abort(404)
    if row is None:
        abort(404)
    return row


def _detail(row: dict, *, error: str | None = None, status: int = 200, segments_text: str | None = None):
    db = _node().store.read()
    service = _node().catalog.service(row["service"])
    opener = session_opener()
    values, opened = vault.fields_for_view(opener, row, service)
    if opened and row.get("sealed") is not None and request.method == "GET":
        actor = g.officer["username"]
        _node().store.write(lambda wdb: audit.record_access(wdb, actor=actor, via=audit.VIA_DETAIL,
                                                            subject=row["id"]))
    fields = labelled_fields(service, values, locale())
    binding = form_binding()
    return render_template(
        "kiosk/detail.html", row=row, service=service, fields=fields, opened=opened,
        history=cases.history(db, row["id"], opener),
        no_report=outbox_states.NO_REPORT,
        notifications=sent_notices.for_request(db, _node().catalog, row),
        status_label=_label, error=error, done=request.args.get("done"), segments_text=segments_text,
        sms_status_label=lambda s: sent_notices.status_label(s, locale()),
        actions=[s for s in ACTIONS if transitions.allowed(row["status"], s)],
        can_reopen=transitions.is_reopen(row["status"], "in_progress"),
        note_max=NOTE_MAX_CHARS, form_token=csrf.new_form_token(binding),
    ), status


@blueprint.get("/requests/<code>")
def detail(code: str):
    return _detail(_request_or_404(code))


def _form_choice() -> tuple[str, str | None, bool, bool]:
    form = request.form
    return (form.get("status", ""), form.get("note", "").strip() or None,
            form.get("for_citizen") == "1", form.get("reopen") == "1")


@blueprint.get("/requests/<code>/segments")
def segments(code: str):
    """The SMS count for a note as typed (the kiosk script asks while the officer types).

    Counted as if the note reaches the citizen (it does when it becomes a
    rejection's reason or is marked for the citizen), with the longer of
    the texts it may go out in: the rejection's when rejecting is possible.
    """
    row = _request_or_404(code)
    status = request.args.get("status", "")
    if status not in cases.STATUSES:
        status = "rejected" if transitions.allowed(row["status"], "rejected") else row["status"]
    note = request.args.get("note", "")[:NOTE_MAX_CHARS].strip() or None
    counted = actions.count(_node(), row, status, note)
    return jsonify({"segments": counted.parts, "max": notices.MAX_PARTS, "encoding": counted.encoding,
                    "text": _segments_text(counted.parts)})


def _segments_text(parts: int) -> str:
    return _("SMS to the citizen with this note: %(n)d of at most %(max)d segments.", n=parts,
             max=notices.MAX_PARTS)


@blueprint.post("/requests/<code>/status")
def change(code: str):
    row = _request_or_404(code)
    nonce = csrf.form_nonce(form_binding(), request.form.get(csrf.FORM_FIELD))
    if nonce is None:
        return _detail(row, error=_("This form has expired. Please try again."), status=400)
    wanted, note, for_citizen, reopen = _form_choice()
    if note and len(note) > NOTE_MAX_CHARS:
        return _detail(row, error=_("The note is too long (at most %(n)d characters).", n=NOTE_MAX_CHARS),
                       status=422)
    if wanted == "note":
        if not note:
            return _detail(row, error=_("Write a note first."), status=422)
        wanted = row["status"]
    if wanted not in cases.STATUSES:
        return _detail(row, error=_("Unknown action."), status=422)
    if wanted == "rejected" and not note:
        return _detail(row, error=_("Say why the request is rejected (the citizen is told)."), status=422)
    if transitions.is_reopen(row["status"], wanted) and not reopen:
        return _detail(row, status=409, error=_("Tick the confirmation to reopen a closed request."))
    event_id = str(uuid.uuid5(EVENT_NAMESPACE, f"kiosk:{nonce}"))
    try:
        actions.set_status(_node(), row, wanted, actor=g.officer["username"], note=note,
                           internal=not for_citizen, reopen=reopen, event_id=event_id,
                           reason=request.form.get("reason_code") or None)
    except NoteTooLong as exc:
        return _detail(row, status=422, error=_(
            "The note is too long for the citizen's SMS: %(n)d segments, at most %(max)d. Shorten it.",
            n=exc.segments, max=exc.limit), segments_text=_segments_text(exc.segments))
    except StatusError:
        current = cases.get(_node().store.read(), row["id"]) or row
        return _detail(current, status=409, error=_(
            "This request is already \u201c%(current)s\u201d; it cannot be changed to \u201c%(wanted)s\u201d.",
            current=_label(current["status"]), wanted=_label(wanted)))
    return redirect(url_for("kiosk.detail", code=row["tracking_code"], done=wanted), 303)
