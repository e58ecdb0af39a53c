/* Omnihub console: live list, thread updates, keyboard, reply box, collision notices.
   Plain JavaScript next to HTMX; the server renders every page and fragment. */
(function () {
  "use strict";

  const app = document.getElementById("app");
  if (!app) return;
  const ME = Number(app.dataset.me);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  const STATUS = { open: "Open", pending: "Pending", snoozed: "Snoozed", resolved: "Resolved", all: "All" };
  const PRIORITY = { none: "No priority", low: "Low", medium: "Medium", high: "High", urgent: "Urgent" };
  const CHANNELS = {
    email: "Email", webchat: "Web chat", sms: "SMS", whatsapp: "WhatsApp", telegram: "Telegram",
    messenger: "Messenger", slack: "Slack", api: "API", note: "Note", system: "Activity",
  };
  // "Waiting since" colours, like an SLA: amber after 15 minutes, red after an hour.
  const SLA_WARN_S = 15 * 60;
  const SLA_LATE_S = 60 * 60;

  // ---------------------------------------------------------------- helpers
  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }
  function debounce(fn, ms) {
    let t = null;
    return function (...args) { clearTimeout(t); t = setTimeout(() => fn.apply(this, args), ms); };
  }
  function initials(name) {
    const words = String(name || "").split(/[\s@._+-]+/).filter((w) => w && /[\p{L}\p{N}]/u.test(w[0]));
    if (!words.length) return "?";
    if (words.length === 1) return words[0].slice(0, 2).toUpperCase();
    return (words[0][0] + words[words.length - 1][0]).toUpperCase();
  }
  function avatarColor(key) {
    // Same arithmetic as agent_console/ui.py avatar_color.
    let value = 0;
    for (const ch of String(key)) value = (value * 31 + ch.codePointAt(0)) % 4294967296;
    return value % 8;
  }
  function parseTime(iso) { const d = iso ? new Date(iso) : null; return d && !isNaN(d) ? d : null; }
  function ago(iso) {
    const d = parseTime(iso);
    if (!d) return "";
    const s = Math.max(0, Math.floor((Date.now() - d.getTime()) / 1000));
    if (s < 60) return "now";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h";
    if (s < 7 * 86400) return Math.floor(s / 86400) + "d";
    return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }
  function absoluteUtc(iso) {
    const d = parseTime(iso);
    return d ? d.toISOString().slice(0, 16).replace("T", " ") + " UTC" : "";
  }
  function localTime(iso) {
    const d = parseTime(iso);
    return d ? d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "";
  }
  function icon(name) { return `<svg class="i" aria-hidden="true"><use href="#i-${name}"></use></svg>`; }
  function channelIcon(kind) {
    return `<svg class="i ch ch-${esc(kind)}" role="img" aria-label="${esc(CHANNELS[kind] || kind)}"><use href="#i-${esc(kind)}"></use></svg>`;
  }
  async function post(url, data, extraHeaders) {
    const body = data instanceof FormData ? data : new URLSearchParams(data || {});
    const response = await fetch(url, {
      method: "POST", body, credentials: "same-origin",
      headers: Object.assign({ "X-CSRFToken": csrf(), "HX-Request": "true" }, extraHeaders || {}),
    });
    return response;
  }

  // ---------------------------------------------------------------- toasts
  function toast(text, opts) {
    const options = opts || {};
    const box = $("#toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast" + (options.error ? " toast-error" : "");
    el.setAttribute("role", options.error ? "alert" : "status");
    el.innerHTML = `<span>${esc(text)}</span>`;
    if (options.action) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = options.action.label;
      b.addEventListener("click", () => { options.action.run(); el.remove(); });
      el.appendChild(b);
    }
    box.appendChild(el);
    setTimeout(() => el.remove(), options.error ? 7000 : 4000);
  }

  // ---------------------------------------------------------------- times
  function refreshTimes(root) {
    $$("time[data-ago]", root).forEach((t) => {
      const iso = t.getAttribute("datetime");
      t.textContent = ago(iso);
      if (!t.title) t.title = localTime(iso);
    });
    $$("time[data-local]", root).forEach((t) => { t.textContent = localTime(t.getAttribute("datetime")); });
    $$(".waiting[data-since]", root).forEach((w) => {
      const d = parseTime(w.dataset.since);
      if (!d) return;
      const s = (Date.now() - d.getTime()) / 1000;
      const text = $(".waiting-text", w);
      if (text) text.textContent = ago(w.dataset.since);
      w.classList.toggle("sla-warn", s >= SLA_WARN_S && s < SLA_LATE_S);
      w.classList.toggle("sla-late", s >= SLA_LATE_S);
    });
  }
  setInterval(() => refreshTimes(document), 30000);

  // ---------------------------------------------------------------- list rows
  // Mirrors the `row_inner` macro in templates/console/_macros.html (a browser test compares them).
  function previewPrefix(m) {
    if (!m) return "";
    if (m.direction === "note") return "Note: ";
    if (m.author_type === "bot") return "Bot: ";
    if (m.direction === "outbound") return "Reply: ";
    return "";
  }
  function rowInner(c) {
    const name = (c.customer && c.customer.name) || "";
    let h = `<input class="row-check" type="checkbox" name="ids" value="${c.id}" aria-label="Select the conversation with ${esc(name)}">`;
    h += `<a class="row-link" href="/console/c/${c.id}" data-open="${c.id}">`;
    h += `<span class="avatar av-${avatarColor(c.customer.id)}" aria-hidden="true">${esc(initials(name))}</span>`;
    h += `<span class="row-main"><span class="row-line"><span class="row-name">${esc(name)}</span>`;
    h += `<span class="row-channels">${(c.channels || []).map(channelIcon).join("")}</span>`;
    h += `<time class="row-time" datetime="${esc(c.last_activity_at)}" data-ago="">${esc(ago(c.last_activity_at))}</time></span>`;
    h += `<span class="row-line"><span class="row-preview">`;
    if (c.last_message) {
      h += `<span class="row-prefix">${esc(previewPrefix(c.last_message))}</span>${esc(c.last_message.text || "Attachment")}`;
    } else {
      h += "No messages yet";
    }
    h += "</span>";
    if (c.unread) h += `<span class="badge-unread" title="${c.unread} unread">${c.unread}</span>`;
    h += `</span><span class="row-line row-meta">`;
    if (c.status !== "open") h += `<span class="pill st-${esc(c.status)}">${esc(STATUS[c.status] || c.status)}</span>`;
    if (c.priority && c.priority !== "none") {
      h += `<span class="pill pr-${esc(c.priority)}">${icon("flag")}${esc(PRIORITY[c.priority] || c.priority)}</span>`;
    }
    if (c.waiting_since && c.status === "open") {
      h += `<span class="waiting" data-since="${esc(c.waiting_since)}" title="Waiting for a reply since ${esc(absoluteUtc(c.waiting_since))}">`;
      h += `${icon("clock")}<span class="waiting-text">${esc(ago(c.waiting_since))}</span></span>`;
    }
    (c.tags || []).slice(0, 3).forEach((t) => { h += `<span class="tag-chip">${esc(t)}</span>`; });
    h += `<span class="row-spacer"></span>`;
    if (c.assignee) {
      h += `<span class="avatar avatar-xs av-${avatarColor("a" + c.assignee.id)}" title="Assigned to ${esc(c.assignee.name)}">${esc(initials(c.assignee.name))}</span>`;
    }
    h += "</span></span></a>";
    return h;
  }
  function fillRow(li, c) {
    const checked = $(".row-check", li);
    const wasChecked = checked && checked.checked;
    li.id = "row-" + c.id;
    li.dataset.id = c.id;
    li.dataset.summary = JSON.stringify(c);
    li.classList.add("row");
    li.classList.toggle("is-unread", !!c.unread);
    li.innerHTML = rowInner(c);
    if (wasChecked) $(".row-check", li).checked = true;
    refreshTimes(li);
  }
  window.omnihubRow = { rowInner, fillRow }; // for the browser test comparing server and live rows

  const List = {
    pane: () => $("#list-pane"),
    filter() {
      const pane = List.pane();
      try { return pane ? JSON.parse(pane.dataset.filter) : null; } catch (e) { return null; }
    },
    qs: () => (List.pane() ? List.pane().dataset.qs || "" : ""),
    rows: () => $$("#rows > li.row"),
    matches(c) {
      const f = List.filter();
      if (!f) return false;
      if (f.status !== "all" && c.status !== f.status) return false;
      if (f.view === "mine" && c.assignee_id !== f.me) return false;
      if (f.view === "unassigned" && c.assignee_id != null) return false;
      if (f.inbox != null && c.inbox_id !== f.inbox) return false;
      if (f.tag && !(c.tags || []).includes(f.tag)) return false;
      if (f.channel && !(c.channels || []).includes(f.channel)) return false;
      if (f.priority && c.priority !== f.priority) return false;
      return true;
    },
    key(c) {
      const f = List.filter() || {};
      const t = f.sort === "waiting" ? (c.waiting_since || c.last_activity_at) : c.last_activity_at;
      return [parseTime(t) ? parseTime(t).getTime() : 0, c.id];
    },
    before(a, b) {
      // True when `a` sorts before `b` in the current order.
      const f = List.filter() || {};
      const ka = List.key(a), kb = List.key(b);
      const asc = f.sort === "waiting";
      if (ka[0] !== kb[0]) return asc ? ka[0] < kb[0] : ka[0] > kb[0];
      return asc ? ka[1] < kb[1] : ka[1] > kb[1];
    },
    summaryOf(li) { try { return JSON.parse(li.dataset.summary); } catch (e) { return null; } },
    upsert(c) {
      if (!c || !c.id || !List.pane()) return;
      let li = document.getElementById("row-" + c.id);
      if (li) {
        const old = List.summaryOf(li) || {};
        fillRow(li, c);
        li.classList.toggle("is-stale", !List.matches(c));
        // Stable order: a row never jumps; the agent re-sorts when they choose to.
        if (old.last_activity_at !== c.last_activity_at && List.rows()[0] !== li && List.matches(c)) {
          $("#new-activity") && ($("#new-activity").hidden = false);
        }
        return;
      }
      if (!List.matches(c)) return;
      li = document.createElement("li");
      fillRow(li, c);
      li.classList.add("is-new");
      const ul = $("#rows");
      const next = List.rows().find((row) => { const s = List.summaryOf(row); return s && List.before(c, s); });
      const more = $("#rows > .load-more");
      if (next) ul.insertBefore(li, next);
      else if (!more) ul.appendChild(li);
      else return; // older than every loaded row: it arrives with the next page
      const empty = $("#list-empty");
      if (empty) empty.remove();
      markOpenRow();
    },
    reload() {
      const open = Thread.id();
      const qs = List.qs();
      const url = "/console/list" + (qs || "?") + (qs ? "&" : "") + (open ? "open=" + open : "");
      return htmx.ajax("GET", url, { target: "#list-pane", swap: "outerHTML" });
    },
  };

  function markOpenRow() {
    const id = Thread.id();
    List.rows().forEach((r) => r.classList.toggle("is-open", Number(r.dataset.id) === id));
    const hidden = $("#open-conversation");
    if (hidden) hidden.value = id || "";
  }

  const refreshNav = debounce(() => {
    if (!$("#nav")) return;
    const qs = List.qs();
    htmx.ajax("GET", "/console/nav" + qs, { target: "#nav", swap: "outerHTML" });
  }, 1200);

  // ---------------------------------------------------------------- thread
  const Thread = {
    id() {
      const pane = $("#thread-pane");
      return pane && pane.dataset.conversation ? Number(pane.dataset.conversation) : null;
    },
    messages: () => $("#messages .messages-inner"),
    nearBottom() {
      const box = $("#messages");
      return !box || box.scrollHeight - box.scrollTop - box.clientHeight < 160;
    },
    scrollBottom() { const box = $("#messages"); if (box) box.scrollTop = box.scrollHeight; },
    insert(html, onlyIfAbsent) {
      const tpl = document.createElement("template");
      tpl.innerHTML = html.trim();
      const el = tpl.content.firstElementChild;
      const list = Thread.messages();
      if (!el || !list) return null;
      const existing = document.getElementById(el.id);
      if (existing && onlyIfAbsent) return existing;
      const stick = Thread.nearBottom();
      if (existing) existing.replaceWith(el);
      else list.appendChild(el);
      htmx.process(el);
      refreshTimes(el);
      if (!existing && stick) Thread.scrollBottom();
      return el;
    },
    seq: {},
    lastLoadedId() {
      const ids = $$("#messages [id^='m-']").map((el) => Number(el.dataset.id) || 0);
      return ids.length ? Math.max(...ids) : 0;
    },
    async fetchMessage(conversationId, messageId) {
      // Only messages shown, pending, or newer than the ones shown (older ones wait for "load earlier").
      const known = document.getElementById("m-" + messageId) || Thread.seq[messageId];
      if (!known && messageId < Thread.lastLoadedId()) return;
      // Answers can arrive out of order: only the latest request for a message may draw it.
      const n = (Thread.seq[messageId] || 0) + 1;
      Thread.seq[messageId] = n;
      const r = await fetch(`/console/c/${conversationId}/m/${messageId}`, { headers: { "HX-Request": "true" } });
      if (!r.ok || Thread.id() !== conversationId || Thread.seq[messageId] !== n) return;
      Thread.insert(await r.text());
    },
    open(id, opts) {
      const options = opts || {};
      const url = "/console/c/" + id + List.qs();
      document.body.classList.add("has-thread");
      return htmx.ajax("GET", "/console/c/" + id, { target: "#thread-pane", swap: "outerHTML" }).then(() => {
        if (options.push !== false) history.pushState({ omnihub: true }, "", url);
        afterThreadLoad();
      });
    },
    close() {
      Presence.leave();
      const pane = $("#thread-pane");
      if (pane) {
        pane.outerHTML = `<main class="thread-pane thread-empty" id="thread-pane" aria-label="Conversation"></main>`;
      }
      const side = $("#customer-pane");
      if (side) side.hidden = true;
      document.body.classList.remove("has-thread");
      markOpenRow();
    },
    headerTime(el) { const t = el && parseTime(el.dataset.updatedAt); return t ? t.getTime() : 0; },
    isNewer(summary) {
      // A change this page made itself comes back with the header it already shows: nothing to fetch.
      const t = summary && parseTime(summary.updated_at);
      return !t || t.getTime() > Thread.headerTime($("#thread-head"));
    },
    wanted: 0,
    wantHeader(summary) {
      const t = summary && parseTime(summary.updated_at);
      Thread.wanted = Math.max(Thread.wanted, t ? t.getTime() : Date.now());
      Thread.refreshHeader();
    },
    refreshHeader: debounce(() => {
      const id = Thread.id();
      const head = $("#thread-head");
      if (!id || !head) return;
      // This page's own change may have drawn the newer header meanwhile: nothing to fetch then.
      if (Thread.wanted && Thread.wanted <= Thread.headerTime(head)) return;
      const busy = (head.contains(document.activeElement) && document.activeElement.matches("input")) ||
        (Menu.current && head.contains(Menu.current));
      if (busy) {
        Thread.headerStale = true; // never pull a menu or the tag input away from the agent
        return;
      }
      htmx.ajax("GET", `/console/c/${id}/header`, { target: "#thread-head", swap: "outerHTML" });
    }, 400),
    refreshCustomer: debounce(() => {
      const id = Thread.id();
      // A merge (or its undo) made here already drew the fresh profile, with its Undo button: keep it.
      if (!id || !$("#customer-pane") || $("#customer-pane [data-fresh]")) return;
      htmx.ajax("GET", `/console/c/${id}/customer`, { target: "#customer-pane", swap: "outerHTML" });
    }, 500),
    markRead: debounce(() => {
      const id = Thread.id();
      if (!id || document.visibilityState !== "visible") return;
      const row = document.getElementById("row-" + id);
      const summary = row ? List.summaryOf(row) : null;
      const pane = $("#thread-pane");
      const unread = summary ? summary.unread : Number(pane && pane.dataset.unread);
      if (unread) post(`/console/c/${id}/read`);
    }, 300),
  };

  function afterThreadLoad() {
    const id = Thread.id();
    Thread.wanted = 0;
    markOpenRow();
    Thread.scrollBottom();
    refreshTimes($("#thread-pane"));
    const side = $("#customer-pane");
    if (side) { side.hidden = false; refreshTimes(side); }
    Composer.init();
    if (id) {
      Presence.watch(id);
      Thread.markRead();
      const row = document.getElementById("row-" + id);
      if (row) row.scrollIntoView({ block: "nearest" });
    }
  }

  // ---------------------------------------------------------------- live socket
  const Live = {
    ws: null, backoff: 1000, everConnected: false, state: "connecting",
    setState(state) {
      Live.state = state;
      const el = $("#live-status");
      if (!el) return;
      el.dataset.state = state;
      const label = { live: "Live", connecting: "Connecting", offline: "Reconnecting" }[state];
      el.title = "Live updates: " + label.toLowerCase();
      const text = $(".live-text", el);
      if (text) text.textContent = label;
    },
    connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      let ws;
      try { ws = new WebSocket(`${scheme}://${location.host}/api/v1/stream`); } catch (e) { Live.retry(); return; }
      Live.ws = ws;
      ws.onopen = () => { Live.backoff = 1000; };
      ws.onmessage = (e) => { try { Live.handle(JSON.parse(e.data)); } catch (err) { /* a malformed frame is ignored */ } };
      ws.onclose = () => { Live.setState("offline"); Live.retry(); };
    },
    retry() {
      setTimeout(Live.connect, Live.backoff);
      Live.backoff = Math.min(Live.backoff * 2, 15000);
    },
    send(obj) { if (Live.ws && Live.ws.readyState === WebSocket.OPEN) Live.ws.send(JSON.stringify(obj)); },
    handle(ev) {
      const handler = Live.handlers[ev.type];
      if (handler) handler(ev);
    },
    handlers: {
      ready() {
        Live.setState("live");
        if (Live.everConnected) resync();
        Live.everConnected = true;
        const id = Thread.id();
        if (id) Live.send({ type: "watch", conversation_id: id });
      },
      "message.created"(ev) {
        if (ev.conversation) List.upsert(ev.conversation);
        if (ev.conversation_id === Thread.id() && ev.message) {
          Thread.fetchMessage(ev.conversation_id, ev.message.id);
          if (ev.message.direction === "inbound") Thread.markRead();
        }
        refreshNav();
      },
      "message.updated"(ev) {
        if (ev.conversation_id === Thread.id() && ev.message) Thread.fetchMessage(ev.conversation_id, ev.message.id);
      },
      "conversation.created"(ev) { if (ev.conversation) List.upsert(ev.conversation); refreshNav(); },
      "conversation.updated"(ev) {
        if (ev.conversation) List.upsert(ev.conversation);
        const changes = ev.changes || [];
        if (ev.conversation_id === Thread.id() && changes.some((c) => c !== "unread") && Thread.isNewer(ev.conversation)) {
          Thread.wantHeader(ev.conversation);
        }
        refreshNav();
      },
      "customer.updated"(ev) {
        const customer = ev.customer || {};
        List.rows().forEach((row) => {
          const s = List.summaryOf(row);
          if (s && s.customer && s.customer.id === customer.id) {
            s.customer.name = customer.display_name || s.customer.name;
            fillRow(row, s);
          }
        });
        if (ev.conversation_id && ev.conversation_id === Thread.id()) Thread.refreshCustomer();
      },
      presence(ev) { if (ev.conversation_id === Thread.id()) Presence.render(ev.agents || []); },
    },
  };

  async function resync() {
    // After a dropped connection: fetch what we missed (the list, the open thread's messages and header).
    List.reload();
    refreshNav();
    const id = Thread.id();
    if (!id) return;
    const r = await fetch(`/console/c/${id}`, { headers: { "HX-Request": "true", "HX-Target": "thread-pane" } });
    if (!r.ok || Thread.id() !== id) return;
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const fresh = doc.querySelector("#messages");
    const head = doc.querySelector("#thread-head");
    if (fresh && $("#messages")) { $("#messages").replaceWith(fresh); htmx.process(fresh); refreshTimes(fresh); Thread.scrollBottom(); }
    if (head && $("#thread-head")) { $("#thread-head").replaceWith(head); htmx.process(head); refreshTimes(head); }
  }

  // ---------------------------------------------------------------- presence (collision notices)
  const TYPING_FRESH_MS = 7000;
  const Presence = {
    watching: null, timer: null, agents: [], at: 0, rerender: null,
    watch(id) {
      if (Presence.watching === id) return;
      Presence.watching = id;
      Presence.render([]);
      Live.send({ type: "watch", conversation_id: id });
      clearInterval(Presence.timer);
      Presence.timer = setInterval(() => Live.send({ type: "watch", conversation_id: id }), 20000);
    },
    leave() {
      if (Presence.watching) Live.send({ type: "unwatch" });
      Presence.watching = null;
      clearInterval(Presence.timer);
    },
    render(agents) {
      Presence.agents = agents;
      Presence.at = Date.now();
      Presence.draw();
    },
    draw() {
      const fresh = Date.now() - Presence.at < TYPING_FRESH_MS;
      const others = Presence.agents.filter((a) => a.id !== ME).map((a) => ({
        id: a.id, name: a.name, state: fresh ? a.state : "viewing",
      }));
      const box = $("#presence");
      if (box) {
        box.innerHTML = others.map((a) => {
          const doing = a.state === "typing" ? "is typing a reply" : a.state === "typing_note" ? "is writing a note" : "is viewing";
          return `<span class="avatar avatar-xs av-${avatarColor("a" + a.id)}" title="${esc(a.name)} ${doing}">${esc(initials(a.name))}</span>`;
        }).join("") + (others.length ? `<span class="presence-text${others.some((a) => a.state !== "viewing") ? " typing-dots" : ""}">${esc(presenceText(others))}</span>` : "");
      }
      const notice = $("#collision");
      if (notice) {
        const typing = others.filter((a) => a.state === "typing");
        notice.hidden = others.length === 0;
        const text = typing.length
          ? `${names(typing)} ${typing.length > 1 ? "are" : "is"} typing a reply right now: check before you answer.`
          : `${names(others)} ${others.length > 1 ? "are" : "is"} also looking at this conversation.`;
        const span = $(".alert-text", notice);
        if (span) span.textContent = others.length ? text : "";
      }
      clearTimeout(Presence.rerender);
      if (others.some((a) => a.state !== "viewing")) Presence.rerender = setTimeout(Presence.draw, TYPING_FRESH_MS);
    },
  };
  function names(list) { return list.map((a) => a.name).join(", "); }
  function presenceText(others) {
    const typing = others.filter((a) => a.state === "typing" || a.state === "typing_note");
    if (typing.length) return `${names(typing)} typing`;
    return others.length === 1 ? `${others[0].name} viewing` : `${others.length} viewing`;
  }

  // ---------------------------------------------------------------- reply box
  const Composer = {
    form: () => $("#composer"),
    text: () => $("#reply-text"),
    cannedItems: null,
    lastTyping: 0,
    init() {
      const form = Composer.form();
      if (!form || form.dataset.ready) return;
      form.dataset.ready = "1";
      Composer.setMode(form.dataset.mode || "reply");
      Composer.updateWarning();
    },
    setMode(mode) {
      const form = Composer.form();
      if (!form) return;
      if (mode === "reply" && form.dataset.canReply !== "true") mode = "note";
      form.dataset.mode = mode;
      form.elements.private.value = mode === "note" ? "1" : "0";
      $$(".composer-tabs [role=tab]", form).forEach((t) => t.setAttribute("aria-selected", String(t.dataset.mode === mode)));
      const text = Composer.text();
      text.placeholder = mode === "note" ? text.dataset.placeholderNote : text.dataset.placeholderReply;
      $(".send-label", form).textContent = mode === "note" ? "Add note" : "Send";
    },
    focus(mode) {
      Composer.setMode(mode);
      const text = Composer.text();
      if (text) text.focus();
    },
    updateWarning() {
      const form = Composer.form();
      const select = $("#reply-channel");
      const warning = $("#reply-warning");
      if (!form || !select || !warning) return;
      const option = select.selectedOptions[0];
      const text = option ? windowWarning(option.value, option.dataset.lastInbound, Number(option.dataset.windowHours)) : null;
      warning.hidden = !text;
      $(".alert-text", warning).textContent = text || "";
    },
    typingApi: true,
    typing() {
      const id = Thread.id();
      const now = Date.now();
      const note = Composer.form().dataset.mode === "note";
      // At most one frame every 3 s, but at once when the agent switches between reply and note.
      if (!id || (now - Composer.lastTyping < 3000 && Composer.lastTypingNote === note)) return;
      Composer.lastTyping = now;
      Composer.lastTypingNote = note;
      Live.send({ type: "typing", conversation_id: id, private: note }); // colleagues: collision notice
      if (!note && Composer.typingApi) {
        // The customer (web chat) sees "typing…"; never for a private note.
        fetch(`/api/v1/conversations/${id}/typing`, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
          body: JSON.stringify({ typing: true }),
        }).then((r) => { if (r.status === 404 || r.status === 405) Composer.typingApi = false; }).catch(() => {});
      }
    },
    async submit() {
      const form = Composer.form();
      const text = Composer.text();
      const files = $("#reply-files");
      if (!text.value.trim() && !(files && files.files.length)) { text.focus(); return; }
      const button = $("#send-btn");
      button.disabled = true;
      try {
        const response = await post(form.action, new FormData(form));
        const body = await response.text();
        if (!response.ok) {
          toast(response.status === 413 ? "Those files are too large to send." : body || "The message was not sent.", { error: true });
          return;
        }
        Thread.insert(body, true); // the live event may already have drawn a newer state
        Thread.scrollBottom();
        text.value = "";
        if (files) { files.value = ""; Composer.showFiles(); }
        Canned.close();
      } catch (e) {
        toast("Network error: the message was not sent. Try again.", { error: true });
      } finally {
        button.disabled = false;
      }
    },
    showFiles() {
      const input = $("#reply-files");
      const list = $("#files");
      if (!input || !list) return;
      const files = Array.from(input.files || []);
      list.hidden = files.length === 0;
      list.innerHTML = files.map((f, i) => `<li>${icon("file")}<span>${esc(f.name)}</span><button type="button" class="icon-btn" data-remove-file="${i}" aria-label="Remove ${esc(f.name)}">${icon("x")}</button></li>`).join("");
    },
    removeFile(index) {
      const input = $("#reply-files");
      const transfer = new DataTransfer();
      Array.from(input.files).forEach((f, i) => { if (i !== index) transfer.items.add(f); });
      input.files = transfer.files;
      Composer.showFiles();
    },
  };

  function windowWarning(channel, lastInbound, hours) {
    // Same rule and words as conversation/workspace.py delivery_warning.
    if (!hours) return null;
    const last = parseTime(lastInbound);
    if (last && Date.now() - last.getTime() < hours * 3600 * 1000) return null;
    if (!last) return `The customer has not written on ${channel} yet: free-form replies need a message from them first.`;
    return `The customer's last ${channel} message is older than ${Math.floor(hours)} hours: ${channel} will refuse a free-form reply. Pick another channel or wait for them to write.`;
  }

  // Saved replies: "/" then a few letters in the reply box.
  const Canned = {
    items: null, open: false, index: 0, start: -1, shown: [],
    loading: null,
    load() {
      if (!Canned.loading) {
        Canned.loading = fetch("/api/v1/canned_responses", { credentials: "same-origin" })
          .then((r) => (r.ok ? r.json() : { items: [] }))
          .then((data) => { Canned.items = data.items || []; return Canned.items; })
          .catch(() => { Canned.loading = null; return []; });
      }
      return Canned.loading;
    },
    token(text, caret) {
      const before = text.slice(0, caret);
      const slash = before.lastIndexOf("/");
      if (slash < 0) return null;
      if (slash > 0 && !/\s/.test(before[slash - 1])) return null;
      const query = before.slice(slash + 1);
      if (/\s/.test(query)) return null;
      return { start: slash, query: query.toLowerCase() };
    },
    async update() {
      const text = Composer.text();
      if (!text) return;
      if (!Canned.token(text.value, text.selectionStart)) { Canned.close(); return; }
      const items = await Canned.load();
      // Read the text again: the agent may have typed (or picked a reply) while the list loaded.
      const token = Canned.token(text.value, text.selectionStart);
      if (!token) { Canned.close(); return; }
      Canned.start = token.start;
      Canned.shown = items.filter((c) => !token.query || c.short_code.includes(token.query) ||
        (c.title || "").toLowerCase().includes(token.query) || c.text.toLowerCase().includes(token.query)).slice(0, 8);
      Canned.index = 0;
      Canned.draw(token.query);
    },
    draw(query) {
      const box = $("#canned");
      if (!box) return;
      Canned.open = true;
      box.hidden = false;
      if (!Canned.shown.length) {
        box.innerHTML = `<div class="canned-empty">No saved reply matches “/${esc(query)}”.</div>`;
        return;
      }
      box.innerHTML = Canned.shown.map((c, i) => `<div class="canned-item" role="option" id="canned-${i}" data-index="${i}" aria-selected="${i === Canned.index}">
        <div><span class="canned-code">/${esc(c.short_code)}</span>${c.title ? `<span class="canned-title">${esc(c.title)}</span>` : ""}</div>
        <div class="canned-text">${esc(c.text)}</div></div>`).join("");
      Composer.text().setAttribute("aria-activedescendant", "canned-" + Canned.index);
    },
    move(delta) {
      if (!Canned.shown.length) return;
      Canned.index = (Canned.index + delta + Canned.shown.length) % Canned.shown.length;
      $$("#canned .canned-item").forEach((el, i) => el.setAttribute("aria-selected", String(i === Canned.index)));
      Composer.text().setAttribute("aria-activedescendant", "canned-" + Canned.index);
      const active = $(`#canned-${Canned.index}`);
      if (active) active.scrollIntoView({ block: "nearest" });
    },
    choose(index) {
      const item = Canned.shown[index == null ? Canned.index : index];
      const text = Composer.text();
      if (!item || !text) return;
      const caret = text.selectionStart;
      text.value = text.value.slice(0, Canned.start) + item.text + text.value.slice(caret);
      const at = Canned.start + item.text.length;
      text.setSelectionRange(at, at);
      Canned.close();
      text.focus();
    },
    close() {
      Canned.open = false;
      const box = $("#canned");
      if (box) { box.hidden = true; box.innerHTML = ""; }
      const text = Composer.text();
      if (text) text.removeAttribute("aria-activedescendant");
    },
  };

  document.addEventListener("input", (e) => {
    if (e.target.id === "reply-text") { Canned.update(); Composer.typing(); }
    if (e.target.classList.contains("menu-filter")) Menu.filter(e.target);
  });
  document.addEventListener("change", (e) => {
    if (e.target.id === "reply-channel") Composer.updateWarning();
    if (e.target.id === "reply-files") Composer.showFiles();
    if (e.target.classList.contains("row-check")) Bulk.update();
    if (e.target.id === "select-all") Bulk.selectAll(e.target.checked);
  });
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.id === "composer") { e.preventDefault(); Composer.submit(); }
    if (form.matches("[data-snooze-form]")) {
      e.preventDefault();
      const at = new Date(form.elements.at.value);
      if (!isNaN(at)) snooze(at);
    }
    if (form.matches("[data-bulk-tag]")) {
      e.preventDefault();
      if (form.elements.add_tag.value.trim()) Bulk.apply({ add_tag: form.elements.add_tag.value.trim() });
    }
    if (form.id === "bot-try") { e.preventDefault(); tryBot(form); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.id !== "reply-text") return;
    if (Canned.open) {
      if (e.key === "ArrowDown") { e.preventDefault(); Canned.move(1); return; }
      if (e.key === "ArrowUp") { e.preventDefault(); Canned.move(-1); return; }
      if ((e.key === "Enter" || e.key === "Tab") && Canned.shown.length) { e.preventDefault(); Canned.choose(); return; }
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); Canned.close(); return; }
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); Composer.submit(); }
  }, true);

  // ---------------------------------------------------------------- menus
  const Menu = {
    current: null, button: null,
    toggle(button) {
      const menu = document.getElementById(button.dataset.menu);
      if (!menu) return;
      if (Menu.current === menu) { Menu.close(); return; }
      Menu.close();
      Menu.current = menu;
      Menu.button = button;
      menu.hidden = false;
      button.setAttribute("aria-expanded", "true");
      if (!menu.parentElement.classList.contains("menu-wrap")) {
        const r = button.getBoundingClientRect();
        menu.style.position = "fixed";
        menu.style.top = r.bottom + 6 + "px";
        menu.style.left = Math.min(r.left, window.innerWidth - 320) + "px";
      }
      const filter = $(".menu-filter", menu);
      if (filter) { filter.value = ""; Menu.filter(filter); filter.focus(); } else { const first = $("[role=menuitem]", menu); if (first) first.focus(); }
    },
    close() {
      if (Menu.current) {
        Menu.current.hidden = true;
        if (Menu.button) Menu.button.setAttribute("aria-expanded", "false");
      }
      Menu.current = null;
      Menu.button = null;
      if (Thread.headerStale) { Thread.headerStale = false; Thread.refreshHeader(); }
    },
    items: () => (Menu.current ? $$("[role=menuitem]", Menu.current).filter((i) => !i.hidden) : []),
    filter(input) {
      const q = input.value.trim().toLowerCase();
      $$("[role=menuitem]", input.closest(".menu")).forEach((item) => {
        const text = (item.dataset.filterText || item.textContent).toLowerCase();
        item.hidden = q !== "" && !text.includes(q);
      });
    },
    move(delta) {
      const items = Menu.items();
      if (!items.length) return;
      const index = items.indexOf(document.activeElement);
      items[(index + delta + items.length) % items.length].focus();
    },
  };

  function snooze(until) {
    const id = Thread.id();
    Menu.close();
    if (!id) return;
    htmx.ajax("POST", `/console/c/${id}/update`, {
      target: "#thread-head", swap: "outerHTML", values: { status: "snoozed", snoozed_until: until.toISOString() },
    });
  }
  function snoozeTime(kind) {
    const d = new Date();
    if (kind === "1h") return new Date(Date.now() + 3600 * 1000);
    d.setHours(9, 0, 0, 0);
    if (kind === "tomorrow") d.setDate(d.getDate() + 1);
    if (kind === "monday") d.setDate(d.getDate() + (((8 - d.getDay()) % 7) || 7));
    return d;
  }

  // ---------------------------------------------------------------- bulk actions
  const Bulk = {
    selected: () => $$("#rows .row-check:checked").map((c) => c.value),
    update() {
      const ids = Bulk.selected();
      const bar = $("#bulk-bar");
      const filters = $("#filters");
      List.rows().forEach((r) => r.classList.toggle("is-checked", $(".row-check", r).checked));
      $("#rows") && $("#rows").classList.toggle("selecting", ids.length > 0);
      if (!bar) return;
      bar.hidden = ids.length === 0;
      if (filters) filters.hidden = ids.length > 0;
      $("#bulk-count").textContent = `${ids.length} selected`;
      const all = $("#select-all");
      if (all) all.checked = ids.length > 0 && ids.length === List.rows().length;
    },
    selectAll(on) { List.rows().forEach((r) => { $(".row-check", r).checked = on; }); Bulk.update(); },
    clear() { Bulk.selectAll(false); },
    async apply(values) {
      const ids = Bulk.selected();
      if (!ids.length) return;
      Menu.close();
      const data = new FormData();
      ids.forEach((id) => data.append("ids", id));
      Object.entries(values).forEach(([k, v]) => data.append(k, v));
      const response = await post("/console/bulk", data);
      if (!response.ok) { toast((await response.text()) || "That did not work.", { error: true }); return; }
      const trigger = JSON.parse(response.headers.get("HX-Trigger") || "{}");
      const items = (trigger["omnihub:summaries"] || {}).items || [];
      items.forEach(List.upsert);
      const open = items.find((c) => c.id === Thread.id());
      if (open) Thread.wantHeader(open);
      const done = trigger["omnihub:bulk-done"] || { updated: ids.length, rejected: 0 };
      toast(`Updated ${done.updated} conversation${done.updated === 1 ? "" : "s"}` + (done.rejected ? ` (${done.rejected} skipped)` : ""));
      Bulk.clear();
      refreshNav();
    },
    async loadAgents() {
      const box = $("#bulk-agents");
      if (!box || box.dataset.ready) return;
      box.dataset.ready = "1";
      const r = await fetch("/api/v1/agents", { credentials: "same-origin" });
      if (!r.ok) return;
      box.innerHTML = `<div class="menu-label">Agents</div>` + (await r.json()).items.map((a) =>
        `<button type="button" role="menuitem" data-bulk='${esc(JSON.stringify({ assignee: String(a.id) }))}' data-filter-text="${esc(a.name)}">${esc(a.name)}</button>`).join("");
    },
  };

  // ---------------------------------------------------------------- clicks
  document.addEventListener("click", (e) => {
    const t = e.target;
    const rowLink = t.closest("a.row-link");
    if (rowLink && !e.metaKey && !e.ctrlKey && !e.shiftKey && e.button === 0) {
      e.preventDefault();
      selectRow(rowLink.closest("li.row"));
      Thread.open(Number(rowLink.dataset.open));
      return;
    }
    const view = t.closest("a.nav-item[data-list-qs]");
    if (view && List.pane() && !e.metaKey && !e.ctrlKey && !e.shiftKey && e.button === 0) {
      // Switching views keeps the open conversation and the socket: only the list is redrawn.
      e.preventDefault();
      $$("#nav .nav-item").forEach((a) => { a.classList.toggle("active", a === view); a.removeAttribute("aria-current"); });
      view.setAttribute("aria-current", "page");
      const qs = view.dataset.listQs;
      const open = Thread.id();
      const url = "/console/list" + (qs || "?") + (qs ? "&" : "") + (open ? "open=" + open : "");
      htmx.ajax("GET", url, { target: "#list-pane", swap: "outerHTML" }).then(refreshNav);
      return;
    }
    const menuButton = t.closest("[data-menu]");
    if (menuButton) {
      if (menuButton.dataset.menu === "menu-bulk-assign") Bulk.loadAgents();
      Menu.toggle(menuButton);
      return;
    }
    if (Menu.current && !Menu.current.contains(t)) Menu.close();
    const bulk = t.closest("[data-bulk]");
    if (bulk) { Bulk.apply(JSON.parse(bulk.dataset.bulk)); return; }
    const snoozeItem = t.closest("[data-snooze]");
    if (snoozeItem) { snooze(snoozeTime(snoozeItem.dataset.snooze)); return; }
    const tab = t.closest(".composer-tabs [role=tab]");
    if (tab) { Composer.focus(tab.dataset.mode); return; }
    const removeFile = t.closest("[data-remove-file]");
    if (removeFile) { Composer.removeFile(Number(removeFile.dataset.removeFile)); return; }
    const cannedItem = t.closest(".canned-item");
    if (cannedItem) { Canned.choose(Number(cannedItem.dataset.index)); return; }
    const copy = t.closest("[data-copy]");
    if (copy) { navigator.clipboard && navigator.clipboard.writeText(copy.dataset.copy).then(() => toast("Copied")); return; }
    if (t.closest("#new-activity")) { $("#new-activity").hidden = true; List.reload(); return; }
    const action = t.closest("[data-action]");
    if (action) runAction(action.dataset.action, action);
  });

  function runAction(name, el) {
    const actions = {
      shortcuts: () => { const d = $("#shortcuts"); if (d && !d.open) d.showModal(); },
      "close-dialog": () => { const d = el.closest("dialog"); if (d) d.close(); },
      theme: cycleTheme,
      canned: () => {
        const text = Composer.text();
        if (!text) return;
        const at = text.selectionStart;
        const pad = at > 0 && !/\s/.test(text.value[at - 1]) ? " /" : "/";
        text.setRangeText(pad, at, text.selectionEnd, "end");
        text.focus();
        Canned.update();
      },
      "toggle-customer": () => {
        const wide = window.matchMedia("(min-width: 1361px)").matches;
        document.body.classList.toggle(wide ? "hide-customer" : "show-customer");
      },
      "close-thread": () => { Thread.close(); history.pushState({ omnihub: true }, "", "/console" + List.qs()); },
      "bulk-clear": () => Bulk.clear(),
    };
    if (actions[name]) actions[name]();
  }

  // ---------------------------------------------------------------- keyboard
  function typingIn(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function selectRow(li) {
    List.rows().forEach((r) => r.classList.toggle("is-selected", r === li));
  }
  function moveSelection(delta) {
    const rows = List.rows();
    if (!rows.length) return;
    let index = rows.findIndex((r) => r.classList.contains("is-selected"));
    if (index < 0) index = rows.findIndex((r) => r.classList.contains("is-open"));
    index = index < 0 ? (delta > 0 ? 0 : rows.length - 1) : Math.max(0, Math.min(rows.length - 1, index + delta));
    selectRow(rows[index]);
    const link = $(".row-link", rows[index]);
    link.focus({ preventScroll: true });
    rows[index].scrollIntoView({ block: "nearest" });
  }
  function whenSettled(fn) {
    // A key pressed while the header is being swapped acts on the new header, not the leaving one.
    if (!$("#thread-head.htmx-swapping, #thread-head.htmx-settling, #thread-head.htmx-added")) { fn(); return; }
    const done = () => { document.body.removeEventListener("htmx:afterSettle", done); setTimeout(fn, 0); };
    document.body.addEventListener("htmx:afterSettle", done);
  }
  function openSelected() {
    const row = List.rows().find((r) => r.classList.contains("is-selected"));
    if (row) Thread.open(Number(row.dataset.id));
  }
  const KEYS = {
    j: () => moveSelection(1),
    k: () => moveSelection(-1),
    Enter: openSelected,
    r: () => Composer.focus("reply"),
    n: () => Composer.focus("note"),
    e: () => whenSettled(() => {
      const id = Thread.id();
      const head = $("#thread-head");
      if (!id || !head || head.dataset.status === "resolved") return;
      htmx.ajax("POST", `/console/c/${id}/update`, { target: "#thread-head", swap: "outerHTML", values: { status: "resolved" } });
    }),
    a: () => whenSettled(() => { const b = $("#assign-btn"); if (b) Menu.toggle(b); }),
    "?": () => runAction("shortcuts"),
  };
  document.addEventListener("keydown", (e) => {
    if (Menu.current) {
      if (e.key === "Escape") { e.preventDefault(); const b = Menu.button; Menu.close(); if (b) b.focus(); return; }
      if (e.key === "ArrowDown") { e.preventDefault(); Menu.move(1); return; }
      if (e.key === "ArrowUp") { e.preventDefault(); Menu.move(-1); return; }
      if (e.key === "Enter" && e.target.classList.contains("menu-filter")) {
        e.preventDefault();
        const first = Menu.items()[0];
        if (first) first.click();
        return;
      }
    }
    if (e.defaultPrevented || e.metaKey || e.ctrlKey || e.altKey) return;
    if ($("dialog[open]")) return; // the dialog handles its own keys (Esc closes it)
    if (typingIn(e.target)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.key === "Enter" && e.target.closest && e.target.closest("a, button")) return; // native activation
    const handler = KEYS[e.key];
    if (handler) { e.preventDefault(); handler(); }
  });

  // ---------------------------------------------------------------- theme
  function cycleTheme() {
    const order = ["system", "light", "dark"];
    const root = document.documentElement;
    const next = order[(order.indexOf(root.dataset.themeChoice || "system") + 1) % order.length];
    try { localStorage.setItem("omnihub-theme", next); } catch (e) { /* private mode: not remembered */ }
    applyTheme(next);
  }
  function applyTheme(choice) {
    const root = document.documentElement;
    const dark = choice === "dark" || (choice === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
    root.dataset.theme = dark ? "dark" : "light";
    root.dataset.themeChoice = choice;
    const button = $("#theme-toggle");
    if (button) {
      const label = "Theme: " + choice;
      button.setAttribute("aria-label", label);
      const text = $(".theme-label", button);
      if (text) text.textContent = label;
    }
  }
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    applyTheme(document.documentElement.dataset.themeChoice || "system");
  });

  // ---------------------------------------------------------------- bot page
  async function tryBot(form) {
    const button = $("button[type=submit]", form);
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Classifying…"; // the first message loads the language models (about a second)
    let response;
    try {
      response = await fetch("/api/v1/bot/classify", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ text: form.elements.text.value }),
      });
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
    const result = $("#bot-result");
    if (!response.ok) { toast("The bot could not classify that message.", { error: true }); return; }
    const data = await response.json();
    $$("[data-field]", result).forEach((dd) => {
      const value = data[dd.dataset.field];
      dd.textContent = value == null || value === "" ? "—" : dd.dataset.field === "confidence" ? Math.round(value * 100) + "%" : value;
    });
    result.hidden = false;
  }

  // ---------------------------------------------------------------- htmx wiring
  document.body.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRFToken"] = csrf(); });
  document.body.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    toast((xhr && xhr.status < 500 && xhr.responseText) || "Something went wrong. Try again.", { error: true });
  });
  document.body.addEventListener("htmx:sendError", () => toast("Network error. Check your connection.", { error: true }));
  document.body.addEventListener("htmx:afterRequest", (e) => {
    const retry = e.detail.elt && e.detail.elt.dataset && e.detail.elt.dataset.retry;
    if (retry && e.detail.successful && Thread.id()) Thread.fetchMessage(Thread.id(), Number(retry));
  });
  document.body.addEventListener("omnihub:summaries", (e) => ((e.detail && e.detail.items) || []).forEach(List.upsert));
  document.body.addEventListener("htmx:confirm", (e) => {
    if (!e.detail.question) return;
    e.preventDefault();
    const dialog = $("#confirm-dialog");
    $(".confirm-text", dialog).textContent = e.detail.question;
    dialog.showModal();
    const done = (ok) => { dialog.close(); if (ok) e.detail.issueRequest(true); };
    $("[data-confirm=yes]", dialog).onclick = () => done(true);
    $("[data-confirm=no]", dialog).onclick = () => done(false);
    $("[data-confirm=yes]", dialog).focus();
  });
  document.body.addEventListener("htmx:beforeSwap", (e) => {
    // Never let a slower, older header answer overwrite a newer one.
    const target = e.detail.target;
    if (!target || target.id !== "thread-head" || !e.detail.xhr || e.detail.xhr.status >= 300) return;
    const match = /data-updated-at="([^"]*)"/.exec(e.detail.serverResponse || "");
    const incoming = match ? parseTime(match[1]) : null;
    if (incoming && incoming.getTime() < Thread.headerTime(target)) e.detail.shouldSwap = false;
  });
  document.body.addEventListener("htmx:afterSwap", (e) => {
    const target = e.detail.target;
    if (!target) return;
    if (target.id === "nav" || $("#nav") === target) { Live.setState(Live.state); applyTheme(document.documentElement.dataset.themeChoice || "system"); }
  });
  htmx.onLoad((el) => {
    refreshTimes(el);
    if (el.id === "list-pane") { markOpenRow(); Bulk.update(); $("#new-activity") && ($("#new-activity").hidden = true); }
    if (el.id === "nav") { Live.setState(Live.state); applyTheme(document.documentElement.dataset.themeChoice || "system"); }
    if (el.classList && el.classList.contains("load-more") === false && el.matches && el.matches("li.row")) markOpenRow();
    if (el.id === "customer-pane") {
      el.hidden = false;
      // After a minute a merge notice may give way to live refreshes again.
      if ($("[data-fresh]", el)) setTimeout(() => { $$("[data-fresh]", el).forEach((n) => n.removeAttribute("data-fresh")); }, 60000);
    }
  });
  document.body.addEventListener("htmx:afterSettle", (e) => {
    if (e.detail.target && e.detail.target.id === "rows") markOpenRow();
  });

  window.addEventListener("popstate", (e) => {
    if (e.state && e.state.htmx) return;
    const match = location.pathname.match(/^\/console\/c\/(\d+)/);
    if (match) Thread.open(Number(match[1]), { push: false });
    else if (location.pathname === "/console") Thread.close();
  });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") Thread.markRead(); });

  // ---------------------------------------------------------------- start
  function start() {
    htmx.config.historyCacheSize = 0;
    htmx.config.refreshOnHistoryMiss = true;
    applyTheme(document.documentElement.dataset.themeChoice || "system");
    refreshTimes(document);
    if (Thread.id()) afterThreadLoad();
    else markOpenRow();
    Live.connect();
  }
  start();
})();
