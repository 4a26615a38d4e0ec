// Every console page of a counsellor: a heartbeat, so the queue knows the page is open
// (no heartbeat for a while = offline, and the counsellor's chats return to the queue).
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.getAttribute("data-csrf");
  if (body.getAttribute("data-queue") !== "1" || !csrf) { return; }
  var HEARTBEAT_MS = 20000;

  function beat() {
    fetch("/console/heartbeat", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      var select = document.getElementById("presence-status");
      if (data && select && select.value !== data.status && document.activeElement !== select) {
        select.value = data.status;  // e.g. set offline by the server after a long disconnect
      }
    }).catch(function () { /* the next beat tries again */ });
  }
  beat();
  window.setInterval(beat, HEARTBEAT_MS);

  // Changing the status select submits it at once (the button stays for keyboard users).
  var presence = document.getElementById("presence-status");
  if (presence) {
    presence.addEventListener("change", function () { presence.form.submit(); });
  }
})();
