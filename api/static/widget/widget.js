/* Opastin web chat widget. Embed with one tag, served by the API:
 *   <script src="https://API/static/widget/widget.js" data-lang="fi" defer></script>
 * No build step, no third-party requests, no inline styles or scripts (CSP-ready).
 * Every UI string comes from the API's translation catalogue (/api/widget/messages/<lang>).
 * The conversation token lives in sessionStorage and travels in a header, never in a URL.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__opastinWidget) { return; }
  window.__opastinWidget = true;

  var BASE = new URL(script.src, document.baseURI).origin;
  var TOKEN_HEADER = "X-Conversation-Token";
  var STORE_KEY = "opastin.chat.v1";
  var RETRY_MAX_MS = 15000;
  var QUEUE_POLL_MS = 20000;

  var strings = {};          // key -> template, from the catalogue
  var languageNames = {};
  var idleMinutes = 30;
  var ui = {};               // DOM nodes
  var seen = {};             // seq -> true: nothing shown twice
  var streamAbort = null;
  var queueTimer = null;
  var sending = false;
  var state = load();

  // -- storage -------------------------------------------------------------------------

  function fresh() {
    return { id: null, token: null, lang: null, lastSeq: 0, lastActivity: Date.now(), convState: "bot",
             humanSeen: false, rated: {}, titles: {}, outbox: [], open: false };
  }

  function load() {
    try {
      var raw = window.sessionStorage.getItem(STORE_KEY);
      if (raw) { return Object.assign(fresh(), JSON.parse(raw)); }
    } catch (e) { /* storage unavailable: the conversation lasts for this page only */ }
    return fresh();
  }

  function save() {
    try { window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* see load() */ }
  }

  function forget() {
    stopStream();
    try { window.sessionStorage.removeItem(STORE_KEY); } catch (e) { /* see load() */ }
    var keepOpen = state.open;
    var lang = state.lang;
    state = fresh();
    state.open = keepOpen;
    state.lang = lang;
    seen = {};
    ui.list.textContent = "";
    save();
  }

  function touch() { state.lastActivity = Date.now(); save(); }

  function idleExpired() {
    return state.id && Date.now() - state.lastActivity > idleMinutes * 60000;
  }

  // -- helpers -------------------------------------------------------------------------

  function t(key, params) {
    var template = strings[key] || "";
    return template.replace(/\{(\w+)\}/g, function (_, name) {
      return params && params[name] !== undefined ? String(params[name]) : "";
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function sleep(ms) { return new Promise(function (resolve) { window.setTimeout(resolve, ms); }); }

  function headers(json) {
    var h = {};
    if (json) { h["Content-Type"] = "application/json"; }
    if (state.token) { h[TOKEN_HEADER] = state.token; }
    return h;
  }

  function api(path, options) {
    return window.fetch(BASE + path, Object.assign({ cache: "no-store", credentials: "omit" }, options || {}));
  }

  function announce(text) {
    ui.status.textContent = text;
  }

  // -- catalogue -----------------------------------------------------------------------

  function uiLanguage() {
    return state.lang || script.getAttribute("data-lang") || document.documentElement.lang || "fi";
  }

  function loadStrings(lang) {
    return api("/api/widget/messages/" + encodeURIComponent(lang.split("-")[0].toLowerCase()))
      .then(function (r) { return r.ok ? r.json() : api("/api/widget/messages/fi").then(function (f) { return f.json(); }); })
      .then(function (data) {
        strings = data.messages;
        languageNames = data.languages;
        idleMinutes = data.idle_minutes;
        ui.root.lang = data.language;
        ui.root.dir = data.direction;
        ui.root.setAttribute("data-language", data.language);
        label();
      });
  }

  function label() {
    ui.launcher.textContent = t("widget.open");
    ui.title.textContent = t("widget.title");
    ui.close.setAttribute("aria-label", t("widget.close"));
    ui.intro.textContent = t("widget.intro");
    ui.inputLabel.textContent = t("widget.input_label");
    ui.send.textContent = t("widget.send");
    ui.end.textContent = t("widget.end");
    ui.confirmText.textContent = t("widget.end_confirm");
    ui.ratingLegend.textContent = t("widget.rate_prompt");
    ui.stars.forEach(function (star, i) { star.setAttribute("aria-label", t("widget.rate_score", { score: i + 1 })); });
    ui.forget.textContent = t("widget.end_and_forget");
    ui.cancel.textContent = t("widget.cancel");
    ui.typingText.textContent = t("widget.typing");
  }

  // -- building the UI -----------------------------------------------------------------

  function build() {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = BASE + "/static/widget/widget.css";
    document.head.appendChild(css);

    ui.root = el("div", "opastin-widget");
    ui.launcher = el("button", "opastin-launcher");
    ui.launcher.type = "button";
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-controls", "opastin-panel");

    ui.panel = el("section", "opastin-panel");
    ui.panel.id = "opastin-panel";
    ui.panel.hidden = true;
    ui.panel.setAttribute("aria-labelledby", "opastin-title");

    var head = el("div", "opastin-head");
    ui.title = el("h2", "opastin-title");
    ui.title.id = "opastin-title";
    ui.close = el("button", "opastin-close", "\u00d7");
    ui.close.type = "button";
    head.appendChild(ui.title);
    head.appendChild(ui.close);

    ui.intro = el("p", "opastin-intro");
    // The live region wraps the list: a role on the <ol> itself would orphan its items.
    ui.log = el("div", "opastin-log");
    ui.list = el("ol", "opastin-list");
    ui.log.appendChild(ui.list);
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.log.setAttribute("aria-labelledby", "opastin-title");
    ui.log.tabIndex = 0;

    ui.typing = el("div", "opastin-typing");
    ui.typing.hidden = true;
    ui.typingText = el("span", "opastin-typing-text");
    var dots = el("span", "opastin-dots");
    dots.setAttribute("aria-hidden", "true");
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    ui.typing.appendChild(dots);
    ui.typing.appendChild(ui.typingText);

    ui.status = el("p", "opastin-status");
    ui.status.setAttribute("role", "status");
    ui.queue = el("p", "opastin-queue");
    ui.queue.hidden = true;

    ui.form = el("form", "opastin-form");
    ui.inputLabel = el("label", "opastin-label");
    ui.inputLabel.htmlFor = "opastin-input";
    ui.input = el("textarea", "opastin-input");
    ui.input.id = "opastin-input";
    ui.input.rows = 2;
    ui.input.maxLength = 4000;
    ui.send = el("button", "opastin-send");
    ui.send.type = "submit";
    ui.form.appendChild(ui.inputLabel);
    ui.form.appendChild(ui.input);
    ui.form.appendChild(ui.send);

    ui.end = el("button", "opastin-end");
    ui.end.type = "button";

    ui.confirm = el("div", "opastin-confirm");
    ui.confirm.hidden = true;
    ui.confirm.setAttribute("role", "group");
    ui.confirm.setAttribute("aria-labelledby", "opastin-confirm-text");
    ui.confirmText = el("p", "opastin-confirm-text");
    ui.confirmText.id = "opastin-confirm-text";
    ui.rating = el("fieldset", "opastin-rating");
    ui.ratingLegend = el("legend");
    ui.rating.appendChild(ui.ratingLegend);
    ui.stars = [];
    for (var i = 1; i <= 5; i++) {
      var star = el("button", "opastin-star", String(i));
      star.type = "button";
      star.setAttribute("aria-pressed", "false");
      star.setAttribute("data-score", String(i));
      ui.rating.appendChild(star);
      ui.stars.push(star);
    }
    ui.forget = el("button", "opastin-forget");
    ui.forget.type = "button";
    ui.cancel = el("button", "opastin-cancel");
    ui.cancel.type = "button";
    ui.confirm.appendChild(ui.confirmText);
    ui.confirm.appendChild(ui.rating);
    ui.confirm.appendChild(ui.forget);
    ui.confirm.appendChild(ui.cancel);

    [head, ui.intro, ui.log, ui.typing, ui.queue, ui.status, ui.form, ui.end, ui.confirm].forEach(function (node) {
      ui.panel.appendChild(node);
    });
    ui.root.appendChild(ui.panel);
    ui.root.appendChild(ui.launcher);
    document.body.appendChild(ui.root);

    ui.launcher.addEventListener("click", function () { setOpen(!state.open); });
    ui.close.addEventListener("click", function () { setOpen(false); });
    ui.root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && state.open) { setOpen(false); }
    });
    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = ui.input.value.trim();
      if (!text) { return; }
      ui.input.value = "";
      submit(text);
    });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ui.form.requestSubmit();
      }
    });
    ui.end.addEventListener("click", showConfirm);
    ui.cancel.addEventListener("click", function () { ui.confirm.hidden = true; ui.end.hidden = false; ui.end.focus(); });
    ui.forget.addEventListener("click", endAndForget);
    ui.stars.forEach(function (star) { star.addEventListener("click", function () { rateConversation(star); }); });
    window.addEventListener("online", function () { flush(); startStream(); });
  }

  function setOpen(open) {
    state.open = open;
    save();
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    ui.root.classList.toggle("opastin-is-open", open);
    if (open) { ui.input.focus(); } else { ui.launcher.focus(); }
  }

  // -- showing messages ----------------------------------------------------------------

  function authorLabel(author) {
    return t(author === "user" ? "widget.author_user" : author === "counsellor" ? "widget.author_counsellor" : "widget.author_bot");
  }

  function renderCard(card) {
    var item = el("li", "opastin-card");
    item.appendChild(el("h3", "opastin-card-name", card.name));
    if (card.why && card.why.length) {
      item.appendChild(el("p", "opastin-card-why-label", t("widget.service_why")));
      var why = el("ul", "opastin-card-why");
      card.why.forEach(function (reason) { why.appendChild(el("li", "", reason)); });
      item.appendChild(why);
    }
    var contact = card.contact || {};
    ["phone", "email", "address", "hours"].forEach(function (field) {
      if (contact[field]) {
        var params = {};
        params[field] = contact[field];
        item.appendChild(el("p", "opastin-card-contact", t("bot.contact_" + field, params)));
      }
    });
    var url = card.url || contact.url;
    if (url && /^https?:\/\//.test(url)) {
      var link = el("a", "opastin-card-link", t("widget.service_link"));
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.appendChild(el("span", "opastin-visually-hidden", ": " + card.name));
      item.appendChild(link);
    }
    return item;
  }

  function renderButtons(message) {
    var group = el("div", "opastin-buttons");
    group.setAttribute("role", "group");
    message.buttons.forEach(function (button) {
      var b = el("button", "opastin-quick", button.title);
      b.type = "button";
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (other) { other.disabled = true; });
        b.classList.add("opastin-chosen");
        submit(button.payload, button.title);
        ui.input.focus();
      });
      group.appendChild(b);
    });
    return group;
  }

  function renderThumbs(message) {
    var group = el("div", "opastin-thumbs");
    group.setAttribute("role", "group");
    // Words, not emoji: they need no emoji font and say the same to everyone.
    [[true, "widget.helpful"], [false, "widget.not_helpful"]].forEach(function (spec) {
      var b = el("button", "opastin-thumb", t(spec[1]));
      b.type = "button";
      b.setAttribute("aria-pressed", state.rated[message.id] === spec[0] ? "true" : "false");
      b.addEventListener("click", function () { rateAnswer(message, spec[0], group); });
      group.appendChild(b);
    });
    return group;
  }

  function show(message) {
    if (seen[message.seq]) { return; }
    seen[message.seq] = true;
    if (message.seq > state.lastSeq) { state.lastSeq = message.seq; }
    if (message.state) { setConversationState(message.state); }
    if (message.author === "counsellor") { state.humanSeen = true; }
    if (message.author === "user" && !message.text) { return; }  // e.g. a sticker from another channel

    var item = el("li", "opastin-msg opastin-" + message.author);
    item.setAttribute("data-seq", String(message.seq));
    var who = el("span", message.author === "counsellor" ? "opastin-author" : "opastin-author opastin-visually-hidden",
                 authorLabel(message.author) + ": ");
    item.appendChild(who);
    var text = el("div", "opastin-text", message.text);
    if (message.text && message.text.charAt(0) === "/") { text.textContent = buttonTitle(message.text); }
    item.appendChild(text);
    if (message.services && message.services.length) {
      var cards = el("ul", "opastin-cards");
      message.services.forEach(function (card) { cards.appendChild(renderCard(card)); });
      item.appendChild(cards);
    }
    if (message.buttons && message.buttons.length) { item.appendChild(renderButtons(message)); }
    if (message.author === "bot") { item.appendChild(renderThumbs(message)); }

    // Keep seq order, whichever of POST reply, event stream or history arrived first.
    var after = null;
    Array.prototype.some.call(ui.list.children, function (child) {
      var seq = Number(child.getAttribute("data-seq"));
      if (seq > message.seq) { after = child; return true; }
      return false;
    });
    ui.list.insertBefore(item, after);
    ui.log.scrollTop = ui.log.scrollHeight;
    save();
  }

  // A pressed button is sent as its payload; show the title the person chose instead.
  function buttonTitle(payload) {
    return state.titles[payload] || payload;
  }

  function setConversationState(next) {
    state.convState = next;
    ui.queue.hidden = next !== "queued";
    if (next === "queued") { pollQueue(); } else if (queueTimer) { window.clearTimeout(queueTimer); queueTimer = null; }
  }

  function showQueue(data) {
    ui.queue.hidden = false;
    ui.queue.textContent = data && data.text ? data.text : t("widget.queue_waiting");
  }

  function pollQueue() {
    if (queueTimer || !state.id) { return; }
    ui.queue.textContent = ui.queue.textContent || t("widget.queue_waiting");
    var tick = function () {
      queueTimer = null;
      if (state.convState !== "queued" || !state.id) { return; }
      api("/api/chat/" + state.id + "/queue", { headers: headers(false) })
        .then(function (r) { return r.ok ? r.json() : null; })  // 404 until the queue route exists
        .then(function (data) { showQueue(data); })
        .catch(function () { showQueue(null); })
        .then(function () { queueTimer = window.setTimeout(tick, QUEUE_POLL_MS); });
    };
    tick();
  }

  function typing(on) {
    ui.typing.hidden = !on;
  }

  // -- sending -------------------------------------------------------------------------

  function submit(text, title) {
    if (title) { state.titles[text] = title; }
    state.outbox.push({ text: text, client_message_id: uuid() });
    touch();
    flush();
  }

  function flush() {
    if (sending || !state.outbox.length) { return; }
    sending = true;
    typing(true);
    var delay = 1000;
    var attempt = function () {
      var item = state.outbox[0];
      var body = { text: item.text, client_message_id: item.client_message_id, channel: "web" };
      if (state.id) { body.conversation_id = state.id; } else if (ui.root.lang) { body.language = ui.root.lang; }
      return api("/api/chat", { method: "POST", headers: headers(true), body: JSON.stringify(body) })
        .then(function (response) {
          if (response.status === 404 && state.id) { expire(); return "expired"; }
          if (response.status >= 500) { throw new Error("server " + response.status); }
          if (!response.ok) { return "refused"; }
          var token = response.headers.get(TOKEN_HEADER);
          return response.json().then(function (data) {
            if (token) { state.token = token; }
            if (!state.id) { state.id = data.conversation_id; startStream(); }
            if (data.language && data.language !== ui.root.lang) { state.lang = data.language; loadStrings(data.language); }
            data.messages.forEach(function (m) { show(Object.assign({ state: data.state }, m)); });
            return "sent";
          });
        })
        .then(function (outcome) {
          state.outbox.shift();
          touch();
          if (outcome === "refused") { announce(t("widget.error")); }
          if (outcome === "sent") { announce(""); return sync(); }
          return null;
        })
        .catch(function () {
          announce(t("widget.offline"));
          return sleep(delay).then(function () { delay = Math.min(delay * 2, RETRY_MAX_MS); return attempt(); });
        });
    };
    attempt().then(function () {
      sending = false;
      typing(false);
      if (state.outbox.length) { flush(); }
    });
  }

  function sync() {
    if (!state.id) { return Promise.resolve(); }
    return api("/api/chat/" + state.id + "/messages?after=" + state.lastSeq, { headers: headers(false) })
      .then(function (response) {
        if (response.status === 404) { expire(); return; }
        if (!response.ok) { return; }
        return response.json().then(function (data) {
          data.messages.forEach(function (m) { show(Object.assign({ state: data.state }, m)); });
          if (data.state) { setConversationState(data.state); }
        });
      })
      .catch(function () { /* the event stream catches up once the network is back */ });
  }

  // -- the event stream (fetch, because EventSource cannot send the token header) ------

  function stopStream() {
    if (streamAbort) { streamAbort.abort(); streamAbort = null; }
  }

  function startStream() {
    if (streamAbort || !state.id) { return; }
    var controller = new AbortController();
    streamAbort = controller;
    var delay = 1000;
    var wasOffline = false;
    var loop = function () {
      if (controller.signal.aborted || !state.id) { return Promise.resolve(); }
      return api("/api/chat/" + state.id + "/events?after=" + state.lastSeq, { headers: headers(false), signal: controller.signal })
        .then(function (response) {
          if (response.status === 404) { expire(); return null; }
          if (!response.ok || !response.body) { throw new Error("stream " + response.status); }
          if (wasOffline) { announce(t("widget.online")); wasOffline = false; }
          delay = 1000;
          return read(response.body.getReader(), controller);
        })
        .catch(function () {
          if (controller.signal.aborted) { return null; }
          wasOffline = true;
          announce(t("widget.offline"));
          return null;
        })
        .then(function () {
          if (controller.signal.aborted || !state.id) { return null; }
          return sleep(delay).then(function () { delay = Math.min(delay * 2, RETRY_MAX_MS); return loop(); });
        });
    };
    loop();
  }

  function read(reader, controller) {
    var decoder = new TextDecoder();
    var buffer = "";
    var pump = function () {
      return reader.read().then(function (chunk) {
        if (chunk.done || controller.signal.aborted) { return; }
        buffer += decoder.decode(chunk.value, { stream: true });
        var parts = buffer.split("\n\n");
        buffer = parts.pop();
        parts.forEach(handleEvent);
        return pump();
      });
    };
    return pump();
  }

  function handleEvent(block) {
    var name = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) { name = line.slice(6).trim(); }
      else if (line.indexOf("data:") === 0) { data.push(line.slice(5).replace(/^ /, "")); }
    });
    if (!data.length) { return; }
    var payload;
    try { payload = JSON.parse(data.join("\n")); } catch (e) { return; }
    if (name === "message") { show(payload); touch(); }
    else if (name === "queue") { showQueue(payload); }
  }

  // -- feedback, ending ----------------------------------------------------------------

  function rateAnswer(message, helpful, group) {
    api("/api/chat/" + state.id + "/feedback", {
      method: "POST", headers: headers(true), body: JSON.stringify({ message_id: message.id, helpful: helpful })
    }).then(function (response) {
      if (!response.ok) { announce(t("widget.error")); return; }
      state.rated[message.id] = helpful;
      save();
      var buttons = group.querySelectorAll("button");
      buttons[0].setAttribute("aria-pressed", helpful ? "true" : "false");
      buttons[1].setAttribute("aria-pressed", helpful ? "false" : "true");
      announce(t("widget.feedback_thanks"));
    }).catch(function () { announce(t("widget.offline")); });
  }

  function showConfirm() {
    // A conversation that reached a person is rated by the counsellor's satisfaction question.
    ui.rating.hidden = !state.id || state.convState !== "bot" || state.humanSeen;
    ui.stars.forEach(function (star) { star.setAttribute("aria-pressed", "false"); });
    ui.confirm.hidden = false;
    ui.end.hidden = true;
    ui.forget.focus();
  }

  function rateConversation(star) {
    var score = Number(star.getAttribute("data-score"));
    api("/api/chat/" + state.id + "/feedback", {
      method: "POST", headers: headers(true), body: JSON.stringify({ score: score })
    }).then(function (response) {
      if (!response.ok) { announce(t("widget.error")); return; }
      ui.stars.forEach(function (other) { other.setAttribute("aria-pressed", other === star ? "true" : "false"); });
      announce(t("widget.feedback_thanks"));
    }).catch(function () { announce(t("widget.offline")); });
  }

  function endAndForget() {
    var done = function () {
      forget();
      ui.confirm.hidden = true;
      ui.end.hidden = false;
      ui.queue.hidden = true;
      ui.list.appendChild(el("li", "opastin-msg opastin-system", t("widget.ended")));
      ui.input.focus();
    };
    if (!state.id) { done(); return; }
    api("/api/chat/" + state.id + "/end", { method: "POST", headers: headers(false) }).catch(function () {}).then(done);
  }

  function expire() {
    forget();
    ui.queue.hidden = true;
    ui.list.appendChild(el("li", "opastin-msg opastin-system", t("widget.expired")));
    announce("");
  }

  // -- start ---------------------------------------------------------------------------

  function start() {
    build();
    loadStrings(uiLanguage()).then(function () {
      if (idleExpired()) { expire(); }
      if (state.open) { setOpen(true); }
      if (state.id) {
        var after = state.lastSeq;
        state.lastSeq = 0;  // a reload shows the whole conversation again
        sync().then(function () { if (state.lastSeq < after) { state.lastSeq = after; } startStream(); flush(); });
      }
      ui.root.setAttribute("data-ready", "true");
      // For bench/bench_channels.py: when the widget became usable.
      if (window.performance && window.performance.mark) { window.performance.mark("opastin-widget-ready"); }
      window.setInterval(function () { if (idleExpired() && !sending) { expire(); } }, 60000);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
