// Kiosk niceties; every page works without this file.
// - a submit button marked data-once is disabled after the first click (the
//   server also ignores a second submission of the same form token);
// - the receipt page's Print button is shown and calls window.print();
// - on a request's page, the SMS segment count of the note is shown as the
//   officer types (counted by the server: /kiosk/requests/<code>/segments);
//   the inbox's answer box likewise (data-segments-field names the textarea).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-once")) {
      // disabled a tick later so the clicked button still sends its name/value
      window.setTimeout(function () { submitter.disabled = true; }, 0);
    }
  });
  // back/forward cache: a page shown again must be usable again
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-sent]").forEach(function (form) { delete form.dataset.sent; });
    document.querySelectorAll("button[data-once]").forEach(function (b) { b.disabled = false; });
  });
  var form = document.querySelector("form[data-segments-url]");
  var field = (form && form.dataset.segmentsField) || "note";
  var note = form && form.querySelector("#" + field);
  var out = document.getElementById("segments");
  if (note && out && window.fetch) {
    var timer = null;
    var ask = function () {
      var params = {};
      params[field] = note.value;
      var query = new URLSearchParams(params);
      fetch(form.dataset.segmentsUrl + "?" + query.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          out.textContent = data.text;
          out.classList.toggle("error", data.segments > data.max);
        })
        .catch(function () {});
    };
    var later = function () { window.clearTimeout(timer); timer = window.setTimeout(ask, 250); };
    note.addEventListener("input", later);
  }
  var print = document.querySelector("[data-print]");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
