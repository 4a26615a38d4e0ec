// The queue page: rebuilds the ticket tables from the queue stream (SSE) and counts
// waiting times up every second. EventSource reconnects by itself after a restart.
(function () {
  "use strict";
  var root = document.getElementById("queue");
  if (!root) { return; }
  var labels = JSON.parse(root.getAttribute("data-labels"));
  var csrf = document.body.getAttribute("data-csrf");
  var live = document.getElementById("live");
  var received = Date.now();

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    if (text !== undefined && text !== null) { td.textContent = text; }
    return td;
  }

  function minutes(seconds) { return Math.floor(seconds / 60) + " min"; }

  function row(ticket, kind) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-ticket", ticket.id);
    if (ticket.safety) { tr.className = "safety"; }
    var waiting = cell(minutes(ticket.waiting_seconds), "waiting");
    waiting.setAttribute("data-seconds", ticket.waiting_seconds);
    tr.appendChild(waiting);
    tr.appendChild(cell(ticket.language));
    tr.appendChild(cell(labels.topics[ticket.topic || "other"] || ticket.topic));
    tr.appendChild(cell(ticket.municipality || "–"));
    var flags = cell("");
    if (ticket.safety) {
      var strong = document.createElement("strong");
      strong.className = "flag";
      strong.textContent = labels.safety;
      flags.appendChild(strong);
    }
    if (ticket.widened) {
      var span = document.createElement("span");
      span.className = "muted";
      span.textContent = " " + labels.widened;
      flags.appendChild(span);
    }
    tr.appendChild(flags);
    var actions = cell("");
    if (kind !== "mine") {
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/console/tickets/" + ticket.id + "/take";
      form.className = "inline";
      var token = document.createElement("input");
      token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
      var button = document.createElement("button");
      button.type = "submit"; button.className = "take"; button.textContent = labels.take;
      form.appendChild(token); form.appendChild(button);
      actions.appendChild(form);
      actions.appendChild(document.createTextNode(" "));
    }
    var link = document.createElement("a");
    link.href = "/console/tickets/" + ticket.id;
    link.textContent = labels.open;
    actions.appendChild(link);
    tr.appendChild(actions);
    return tr;
  }

  function fill(kind, tickets) {
    var table = root.querySelector('table[data-kind="' + kind + '"] tbody');
    if (!table) { return; }
    while (table.firstChild) { table.removeChild(table.firstChild); }
    if (!tickets.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      var td = cell(labels.empty);
      td.colSpan = 6;
      empty.appendChild(td);
      table.appendChild(empty);
      return;
    }
    tickets.forEach(function (ticket) { table.appendChild(row(ticket, kind)); });
  }

  function transfers(items) {
    var section = document.getElementById("transfers-section");
    var list = document.getElementById("transfers");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/console/tickets/" + item.handover_id;
      a.textContent = "#" + item.handover_id;
      li.appendChild(a);
      if (item.note) { li.appendChild(document.createTextNode(": " + item.note)); }
      list.appendChild(li);
    });
    section.hidden = !items.length;
  }

  var source = new EventSource(root.getAttribute("data-stream"));
  source.addEventListener("queue", function (event) {
    var view = JSON.parse(event.data);
    received = Date.now();
    fill("mine", view.mine);
    fill("waiting", view.waiting);
    fill("offline", view.offline);
    transfers(view.transfers);
    live.textContent = live.getAttribute("data-live");
    root.setAttribute("data-updated", String(received));
  });
  source.addEventListener("signed-out", function () { source.close(); window.location.reload(); });
  source.onerror = function () { live.textContent = live.getAttribute("data-reconnecting"); };

  window.setInterval(function () {
    var elapsed = Math.floor((Date.now() - received) / 1000);
    root.querySelectorAll("td.waiting").forEach(function (td) {
      td.textContent = minutes(Number(td.getAttribute("data-seconds")) + elapsed);
    });
  }, 1000);
})();
