"""``/kiosk/inbox``: citizens' questions by SMS, answered by an officer (issue 18).

The inbox is the core's (``gateway.inbox``); this module only shows and
answers it. A thread is every message of one phone, addressed by the id of
one of its messages (never the phone, which would land in logs). Texts are
sealed: they open only with a key-holding session, and that opening is a
look-up in the audit log (``via`` ``inbox_thread``). Any officer may answer;
an answer is queued in the outbox and its delivery state shown. Forms carry
a one-time token, so a double click queues one SMS.
"""

from __future__ import annotations

import uuid

from flask import abort, g, jsonify, redirect, render_template, request, url_for

from channels.kiosk.blueprint import blueprint, form_binding, session_opener
from channels.kiosk.training import work_node
from gateway.cases import records as cases
from gateway.inbox import actions, threads
from gateway.outbox import segments as counter
from gateway.outbox import sent as sent_notices
from gateway.web import csrf
from gateway.web.ui import _, locale

ANSWER_NAMESPACE = uuid.UUID("0b7e4f44-52a6-4c1e-9d7e-3f1d6a2c8e51")
ANSWER_MAX_CHARS = 1000  # far over 3 segments: the segment limit is what refuses


def _node():
    """While an officer practises, the inbox is the training node's: answering a real citizen
    from practice would send a real SMS, which practice promises never to do."""
    return work_node()


@blueprint.get("/inbox")
def inbox_list():
    return render_template("kiosk/inbox.html", threads=threads.threads(_node().store.read()))


def _thread(message_id: int, *, error: str | None = None, status: int = 200, answer: str = ""):
    node = _node()
    try:
        phone, messages = actions.read_thread(node, message_id, session_opener(), actor=g.officer["username"])
    except actions.UnknownMessage:
        abort(404)
    db = node.store.read()
    last_question = max((m["id"] for m in messages if m["direction"] == "in"), default=message_id)
    return render_template(
        "kiosk/inbox_thread.html", phone=phone, messages=messages, message_id=last_question,
        open=any(m["direction"] == "in" and not m["handled_at"] for m in messages),
        requests=cases.list_requests(db, phone=phone, limit=20), status_label=lambda s: cases.status_label(s, locale()),
        sms_status_label=lambda s: sent_notices.status_label(s, locale()),
        form_token=csrf.new_form_token(form_binding()), error=error, done=request.args.get("done"),
        answer=answer, answer_max=ANSWER_MAX_CHARS, segments_text=_segments_text(counter.count(answer).parts)
        if answer else "", sealed=session_opener() is None,
    ), status


@blueprint.get("/inbox/<int:message_id>")
def inbox_thread(message_id: int):
    return _thread(message_id)


def _segments_text(parts: int) -> str:
    return _("Answer SMS: %(n)d of at most %(max)d segments.", n=parts, max=actions.MAX_ANSWER_PARTS)


@blueprint.get("/inbox/segments")
def inbox_segments():
    """The segment count of an answer as typed (the kiosk script asks while the officer types)."""
    counted = counter.count(request.args.get("answer", "")[:ANSWER_MAX_CHARS].strip())
    return jsonify({"segments": counted.parts, "max": actions.MAX_ANSWER_PARTS, "encoding": counted.encoding,
                    "text": _segments_text(counted.parts)})


@blueprint.post("/inbox/<int:message_id>/answer")
def inbox_answer(message_id: int):
    text = request.form.get("answer", "")[:ANSWER_MAX_CHARS * 2]
    nonce = csrf.form_nonce(form_binding(), request.form.get(csrf.FORM_FIELD))
    if nonce is None:
        return _thread(message_id, error=_("This form has expired. Please try again."), status=400, answer=text)
    try:
        actions.answer(_node(), message_id, text, officer=g.officer["username"],
                       uid=str(uuid.uuid5(ANSWER_NAMESPACE, f"kiosk:{nonce}")))
    except actions.UnknownMessage:
        abort(404)
    except actions.AnswerError as exc:
        error = (_("Write an answer first.") if not exc.segments else
                 _("The answer is too long: %(n)d SMS segments, at most %(max)d. Shorten it.",
                   n=exc.segments, max=exc.limit))
        return _thread(message_id, error=error, status=422, answer=text)
    return redirect(url_for("kiosk.inbox_thread", message_id=message_id, done="answered"), 303)


@blueprint.post("/inbox/<int:message_id>/handled")
def inbox_handled(message_id: int):
    try:
        actions.mark_handled(_node(), message_id, officer=g.officer["username"])
    except actions.UnknownMessage:
        abort(404)
    return redirect(url_for("kiosk.inbox_thread", message_id=message_id, done="handled"), 303)
