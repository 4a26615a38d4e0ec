// One ticket: new messages arrive over SSE (resuming after the last one shown), the
// reply is sent without a page load, a canned reply is inserted into the reply box.
(function () {
  "use strict";
  var list = document.getElementById("transcript");
  if (!list) { return; }
  var csrf = document.body.getAttribute("data-csrf");
  var authors = JSON.parse(list.getAttribute("data-authors"));
  var status = document.getElementById("ticket-status");
  var after = Number(list.getAttribute("data-after")) || 0;
  var leaving = false;  // a form is being sent: its answer decides the next page
  document.addEventListener("submit", function () { leaving = true; }, true);

  function append(message) {
    if (list.querySelector('[data-seq="' + message.seq + '"]')) { return; }
    var li = document.createElement("li");
    li.className = "msg " + message.author;
    li.setAttribute("data-seq", message.seq);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = authors[message.author] || message.author;
    var time = document.createElement("time");
    time.textContent = message.at;
    var p = document.createElement("p");
    p.textContent = message.text;
    li.appendChild(who); li.appendChild(document.createTextNode(" ")); li.appendChild(time); li.appendChild(p);
    list.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  var source = new EventSource(list.getAttribute("data-stream") + "?after=" + after);
  source.addEventListener("message", function (event) { append(JSON.parse(event.data)); });
  source.addEventListener("ticket", function (event) {
    var ticket = JSON.parse(event.data);
    if (status && status.textContent !== ticket.status) {
      var changed = status.textContent !== "" && ticket.status !== status.textContent;
      status.textContent = ticket.status;
      if (changed && !leaving) { window.location.reload(); }  // taken, transferred or closed elsewhere
    }
  });
  source.addEventListener("signed-out", function () { source.close(); window.location.reload(); });

  var form = document.getElementById("reply-form");
  var box = document.getElementById("reply");
  var canned = document.getElementById("canned");
  if (canned && box) {
    canned.addEventListener("change", function () {
      if (canned.value) { box.value = box.value ? box.value + "\n" + canned.value : canned.value; box.focus(); }
      canned.value = "";
    });
  }
  if (form && box) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      leaving = false;  // sent in the background: the page stays
      var text = box.value.trim();
      if (!text) { return; }
      var body = new URLSearchParams();
      body.set("text", text);
      body.set("csrf_token", csrf);
      fetch(form.action, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      }).then(function (data) {
        box.value = "";
        append(data.message);
      }).catch(function () { form.submit(); });
    });
  }
})();
