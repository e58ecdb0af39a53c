/* Omnihub web chat widget. Embed: <script src="https://HUB/widget.js" data-inbox="ID" async></script>
 * Plain JavaScript, no build step. Renders inside a shadow root (the page's CSS cannot reach it) and
 * only ever as text: message content goes through textContent, never innerHTML.
 * Page API: Omnihub.open() .close() .send(text) .setUser({identifier, identifier_hash, email?, name?, phone?})
 * .on("message" | "open" | "close" | "ready" | "error" | "unread", fn) .reset()  — see docs/channels/webchat.md
 */
(function () {
  "use strict";
  if (window.Omnihub && window.Omnihub._loaded) return;
  var tag = document.currentScript || document.querySelector('script[src*="widget.js"][data-inbox]');
  if (!tag || !tag.getAttribute("data-inbox")) return;
  var INBOX = tag.getAttribute("data-inbox");
  var BASE = tag.src.replace(/\/widget\.js(\?.*)?$/, "");
  var WS_URL = BASE.replace(/^http/, "ws") + "/widget/ws?inbox=" + encodeURIComponent(INBOX);
  var KEY = "omnihub:" + BASE + ":" + INBOX;
  var pre = window.omnihubSettings || {};

  var T = {
    en: ["Open chat", "Close chat", "Chat with us", "Write a message…", "Send", "Attach a file", "is typing…", "You", "Seen", "Sending…", "Not sent", "Reconnecting…", "Your name", "Your email", "Start chat", "How can we reach you?", "This file is too large", "Only images and PDF files can be sent", "Please wait a moment", "unread", "Please enter a valid email", "Support"],
    nl: ["Chat openen", "Chat sluiten", "Chat met ons", "Schrijf een bericht…", "Versturen", "Bestand toevoegen", "is aan het typen…", "Jij", "Gelezen", "Versturen…", "Niet verstuurd", "Opnieuw verbinden…", "Je naam", "Je e-mailadres", "Chat starten", "Hoe kunnen we je bereiken?", "Dit bestand is te groot", "Alleen afbeeldingen en pdf-bestanden kunnen worden verstuurd", "Even geduld", "ongelezen", "Vul een geldig e-mailadres in", "Support"],
    da: ["Åbn chat", "Luk chat", "Chat med os", "Skriv en besked…", "Send", "Vedhæft en fil", "skriver…", "Dig", "Set", "Sender…", "Ikke sendt", "Genopretter forbindelse…", "Dit navn", "Din e-mail", "Start chat", "Hvordan kan vi kontakte dig?", "Filen er for stor", "Kun billeder og PDF-filer kan sendes", "Vent et øjeblik", "ulæste", "Indtast en gyldig e-mail", "Support"],
    de: ["Chat öffnen", "Chat schließen", "Chatten Sie mit uns", "Nachricht schreiben…", "Senden", "Datei anhängen", "schreibt…", "Sie", "Gelesen", "Wird gesendet…", "Nicht gesendet", "Verbindung wird wiederhergestellt…", "Ihr Name", "Ihre E-Mail", "Chat starten", "Wie können wir Sie erreichen?", "Diese Datei ist zu groß", "Nur Bilder und PDF-Dateien können gesendet werden", "Bitte einen Moment warten", "ungelesen", "Bitte eine gültige E-Mail eingeben", "Support"],
    ru: ["Открыть чат", "Закрыть чат", "Напишите нам", "Введите сообщение…", "Отправить", "Прикрепить файл", "печатает…", "Вы", "Прочитано", "Отправка…", "Не отправлено", "Переподключение…", "Ваше имя", "Ваш e-mail", "Начать чат", "Как с вами связаться?", "Файл слишком большой", "Можно отправлять только изображения и PDF", "Подождите немного", "непрочитанных", "Введите правильный e-mail", "Поддержка"],
    es: ["Abrir chat", "Cerrar chat", "Chatea con nosotros", "Escribe un mensaje…", "Enviar", "Adjuntar un archivo", "está escribiendo…", "Tú", "Visto", "Enviando…", "No enviado", "Reconectando…", "Tu nombre", "Tu correo", "Iniciar chat", "¿Cómo podemos contactarte?", "Este archivo es demasiado grande", "Solo se pueden enviar imágenes y PDF", "Espera un momento", "sin leer", "Introduce un correo válido", "Soporte"],
    fr: ["Ouvrir la discussion", "Fermer la discussion", "Discutez avec nous", "Écrivez un message…", "Envoyer", "Joindre un fichier", "écrit…", "Vous", "Lu", "Envoi…", "Non envoyé", "Reconnexion…", "Votre nom", "Votre e-mail", "Commencer", "Comment vous joindre ?", "Ce fichier est trop volumineux", "Seuls les images et les PDF peuvent être envoyés", "Patientez un instant", "non lus", "Saisissez un e-mail valide", "Support"],
    pt: ["Abrir chat", "Fechar chat", "Fale conosco", "Escreva uma mensagem…", "Enviar", "Anexar um arquivo", "está digitando…", "Você", "Visto", "Enviando…", "Não enviado", "Reconectando…", "Seu nome", "Seu e-mail", "Iniciar chat", "Como podemos falar com você?", "Este arquivo é grande demais", "Só é possível enviar imagens e PDF", "Aguarde um momento", "não lidas", "Informe um e-mail válido", "Suporte"]
  };
  var K = ["open", "close", "title", "placeholder", "send", "attach", "typing", "you", "seen", "sending", "failed", "offline", "name", "email", "start", "prechat", "tooBig", "refused", "slow", "unread", "badEmail", "team"];
  var lang = "en";
  function pickLang(forced) {
    var wanted = [forced || tag.getAttribute("data-locale") || ""].concat(navigator.languages || [navigator.language || ""]);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || "").slice(0, 2).toLowerCase();
      if (T[code]) return code;
    }
    return "en";
  }
  function t(key) { return T[lang][K.indexOf(key)]; }

  // --- state ------------------------------------------------------------------------------------
  var st = {};
  try { st = JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (e) { st = {}; }
  st.outbox = st.outbox || [];
  function save() { try { localStorage.setItem(KEY, JSON.stringify(st)); } catch (e) { /* private mode */ } }
  var cfg = st.cfg || { color: "#2f5bd3", title: "", greeting: "", pre_chat_form: {}, position: "right" };
  var handlers = {}, shown = {}, pendingEls = {}, user = pre.user || null;
  var ws = null, connected = false, started = false, attempt = 0, everOpened = false, restMode = false;
  var timer = null, pollTimer = null, firstReady = true, isOpen = false;
  var lastId = 0, maxAgent = 0, readSent = 0, deliveredSent = 0, seenUpTo = 0, unread = 0;
  var typingTimer = null, typingSentAt = 0, typingIdle = null, needsProfile = false;

  function emit(name, data) {
    (handlers[name] || []).slice().forEach(function (fn) { try { fn(data); } catch (e) { setTimeout(function () { throw e; }); } });
  }
  function cid() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- DOM --------------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-omnihub", "");
  var root = host.attachShadow({ mode: "open" });
  function el(name, cls, attrs) {
    var e = document.createElement(name);
    if (cls) e.className = cls;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var ICON_SEND = "M3 20l18-8L3 4v6l12 2-12 2z";
  var ICON_CLIP = "M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.6-5.6l-8.2 8.2a6 6 0 0 0 8.5 8.5l6.3-6.3";
  function icon(d) {
    var s = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    var p = document.createElementNS("http://www.w3.org/2000/svg", "path");
    p.setAttribute("d", d);
    s.appendChild(p);
    return s;
  }
  var style = el("style");
  style.textContent = [
    ":host{all:initial}",
    ".w{position:fixed;bottom:20px;right:20px;z-index:2147483000;font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#111}",
    ".w.left{right:auto;left:20px}",
    "button{font:inherit;cursor:pointer}",
    ".launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--c);color:var(--f);box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;position:relative}",
    ".launcher svg{width:28px;height:28px;fill:currentColor}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#c62828;color:#fff;font-size:12px;font-weight:600;display:flex;align-items:center;justify-content:center;padding:0 5px}",
    ".panel{position:absolute;bottom:72px;right:0;width:370px;height:min(600px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".left .panel{right:auto;left:0}",
    "[hidden]{display:none!important}",
    "header{background:var(--c);color:var(--f);padding:14px 16px;display:flex;gap:10px;align-items:center}",
    "header h2{font-size:17px;margin:0}header p{margin:2px 0 0;font-size:13px;opacity:.92}",
    "header .x{margin-left:auto;background:transparent;border:0;color:inherit;font-size:26px;line-height:1;padding:4px 8px;border-radius:6px}",
    ".av{width:32px;height:32px;border-radius:50%;object-fit:cover;flex:none;background:#dde3ea;color:#333;display:flex;align-items:center;justify-content:center;font-size:13px;font-weight:600}",
    ".avs{display:flex}.avs .av{margin-right:-8px;border:2px solid var(--c)}",
    ".status{background:#fff3cd;color:#5c4400;font-size:13px;padding:4px 12px;text-align:center}",
    ".list{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f7f8fa}",
    ".m{display:flex;gap:8px;align-items:flex-end;max-width:85%}.m.me{align-self:flex-end;flex-direction:row-reverse}",
    ".b{padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #e1e4e8;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".me .b{background:var(--c);color:var(--f);border-color:var(--c)}",
    ".me .b a{color:inherit}",
    ".who{font-size:12px;color:#555;margin:0 0 2px}",
    ".meta{font-size:11px;color:#5f6368;margin-top:2px}.me .meta{text-align:right}",
    ".b img{display:block;max-width:220px;max-height:220px;border-radius:8px;margin-top:4px}",
    ".fail{color:#b3261e}",
    ".typing{font-size:13px;color:#555;padding:2px 14px;min-height:18px;background:#f7f8fa}",
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e1e4e8;align-items:flex-end;background:#fff}",
    "textarea,input{font:inherit;font-size:16px;border:1px solid #9aa0a6;border-radius:10px;padding:8px 10px;color:#111;background:#fff}",
    "textarea{flex:1;resize:none;max-height:120px;min-height:40px;box-sizing:border-box}",
    ".ib{width:40px;height:40px;border-radius:10px;border:0;display:flex;align-items:center;justify-content:center;background:transparent;color:#444}",
    ".ib svg{width:22px;height:22px;fill:none;stroke:currentColor;stroke-width:2}",
    ".send{background:var(--c);color:var(--f)}.send svg{fill:currentColor;stroke:none}",
    ".pre{flex-direction:column;align-items:stretch;gap:8px}.pre label{font-size:13px;color:#333}",
    ".pre button{border:0;border-radius:10px;padding:10px;background:var(--c);color:var(--f);font-weight:600}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
    "button:focus-visible,textarea:focus-visible,input:focus-visible,a:focus-visible,.list:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}",
    "@media (max-width:480px){.w .panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}}",
    "@media (prefers-reduced-motion:no-preference){.panel{transition:opacity .15s}}"
  ].join("\n");

  var wrap = el("div", "w");
  var launcher = el("button", "launcher", { type: "button", "aria-expanded": "false", "aria-controls": "oh-panel" });
  launcher.appendChild(icon(ICON_CHAT));
  var badge = el("span", "badge", { "aria-hidden": "true" });
  badge.hidden = true;
  launcher.appendChild(badge);
  var panel = el("div", "panel", { id: "oh-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "oh-title" });
  panel.hidden = true;
  var header = el("header");
  var avs = el("div", "avs");
  var titles = el("div");
  var h2 = el("h2", "", { id: "oh-title" });
  var greet = el("p");
  titles.appendChild(h2);
  titles.appendChild(greet);
  var closeBtn = el("button", "x", { type: "button" });
  closeBtn.textContent = "×";
  header.appendChild(avs);
  header.appendChild(titles);
  header.appendChild(closeBtn);
  var status = el("div", "status", { role: "status" });
  status.hidden = true;
  var list = el("div", "list", { role: "log", "aria-live": "polite", tabindex: "0" });
  var typingEl = el("div", "typing", { "aria-live": "polite" });
  var preForm = el("form", "pre");
  preForm.hidden = true;
  preForm.noValidate = true;
  var preTitle = el("div");
  var nameLabel = el("label", "", { for: "oh-name" });
  var nameInput = el("input", "", { id: "oh-name", autocomplete: "name", maxlength: "200" });
  var emailLabel = el("label", "", { for: "oh-email" });
  var emailInput = el("input", "", { id: "oh-email", type: "email", autocomplete: "email", maxlength: "320" });
  var preErr = el("div", "fail", { role: "alert" });
  var preBtn = el("button", "", { type: "submit" });
  [preTitle, nameLabel, nameInput, emailLabel, emailInput, preErr, preBtn].forEach(function (e) { preForm.appendChild(e); });
  var form = el("form");
  var inputLabel = el("label", "sr", { for: "oh-input" });
  var input = el("textarea", "", { id: "oh-input", rows: "1", maxlength: "5000" });
  var file = el("input", "sr", { type: "file", tabindex: "-1", "aria-hidden": "true", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf" });
  var attachBtn = el("button", "ib", { type: "button" });
  attachBtn.appendChild(icon(ICON_CLIP));
  var sendBtn = el("button", "ib send", { type: "submit" });
  sendBtn.appendChild(icon(ICON_SEND));
  [inputLabel, input, file, attachBtn, sendBtn].forEach(function (e) { form.appendChild(e); });
  [header, status, list, typingEl, preForm, form].forEach(function (e) { panel.appendChild(e); });
  wrap.appendChild(panel);
  wrap.appendChild(launcher);
  root.appendChild(style);
  root.appendChild(wrap);

  function readable(hex) {
    var h = /^#[0-9a-f]{3}$/i.test(hex) ? "#" + hex[1] + hex[1] + hex[2] + hex[2] + hex[3] + hex[3] : hex;
    if (!/^#[0-9a-f]{6}$/i.test(h)) return "#fff";
    var c = [1, 3, 5].map(function (i) {
      var v = parseInt(h.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] > 0.179 ? "#111" : "#fff";
  }
  function initials(name) {
    return String(name || "?").split(/\s+/).map(function (w) { return w.charAt(0); }).join("").slice(0, 2).toUpperCase();
  }
  function avatar(url, name) {
    if (url && /^https:\/\//.test(url)) {
      var img = el("img", "av", { alt: "" });
      img.src = url;
      return img;
    }
    var span = el("span", "av", { "aria-hidden": "true" });
    span.textContent = initials(name);
    return span;
  }
  function applyConfig() {
    lang = pickLang(cfg.locale && cfg.locale !== "auto" ? cfg.locale : "");
    var color = /^#[0-9a-f]{3,6}$/i.test(cfg.color || "") ? cfg.color : "#2f5bd3";
    wrap.style.setProperty("--c", color);
    wrap.style.setProperty("--f", readable(color));
    wrap.className = "w" + (cfg.position === "left" ? " left" : "");
    h2.textContent = cfg.title || t("title");
    greet.textContent = cfg.greeting || "";
    greet.hidden = !cfg.greeting;
    avs.textContent = "";
    var pics = (cfg.agent_avatars || []).slice(0, 3);
    if (!pics.length && cfg.avatar_url) pics = [cfg.avatar_url];
    pics.forEach(function (u) { avs.appendChild(avatar(u, cfg.title)); });
    closeBtn.setAttribute("aria-label", t("close"));
    input.setAttribute("placeholder", t("placeholder"));
    inputLabel.textContent = t("placeholder");
    attachBtn.setAttribute("aria-label", t("attach"));
    sendBtn.setAttribute("aria-label", t("send"));
    preTitle.textContent = t("prechat");
    nameLabel.textContent = t("name");
    emailLabel.textContent = t("email");
    preBtn.textContent = t("start");
    updateBadge();
  }
  function updateBadge() {
    badge.hidden = !unread || isOpen;
    badge.textContent = unread > 9 ? "9+" : String(unread);
    launcher.setAttribute("aria-label", (isOpen ? t("close") : t("open")) + (unread && !isOpen ? " (" + unread + " " + t("unread") + ")" : ""));
  }
  function setStatus(text) {
    status.textContent = text || "";
    status.hidden = !text;
  }

  // --- messages ---------------------------------------------------------------------------------
  function appendText(node, text) {
    var parts = String(text || "").split(/(https?:\/\/[^\s<>"']+)/);
    parts.forEach(function (part, i) {
      if (i % 2 && /^https?:\/\//.test(part)) {
        var a = el("a", "", { target: "_blank", rel: "noopener noreferrer nofollow" });
        a.href = part;
        a.textContent = part;
        node.appendChild(a);
      } else if (part) {
        node.appendChild(document.createTextNode(part));
      }
    });
  }
  function fileNode(a) {
    var url = typeof a.url === "string" && a.url.indexOf("/widget/files/") === 0 ? BASE + a.url : null;
    var link = el("a", "", { target: "_blank", rel: "noopener noreferrer" });
    if (url) link.href = url;
    if (url && /^image\//.test(a.content_type)) {
      var img = el("img", "", { alt: a.filename || "" });
      img.src = url;
      link.appendChild(img);
    } else {
      link.textContent = "📎 " + (a.filename || "file");
    }
    return link;
  }
  function timeOf(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }
  function place(node, id) {
    node.setAttribute("data-id", String(id));
    var after = null;
    for (var c = list.lastElementChild; c; c = c.previousElementSibling) {
      var cidn = Number(c.getAttribute("data-id") || Infinity);
      if (cidn < id) break;
      after = c;
    }
    list.insertBefore(node, after);
  }
  function bubble(m, mine) {
    var row = el("div", "m" + (mine ? " me" : ""));
    if (!mine) row.appendChild(avatar(m.author && m.author.avatar_url, m.author && m.author.name));
    var box = el("div");
    if (!mine && m.author && m.author.name) {
      var who = el("div", "who");
      who.textContent = m.author.name;
      box.appendChild(who);
    }
    var b = el("div", "b");
    appendText(b, m.text);
    (m.attachments || []).forEach(function (a) { b.appendChild(fileNode(a)); });
    var meta = el("div", "meta");
    box.appendChild(b);
    box.appendChild(meta);
    row.appendChild(box);
    row._meta = meta;
    return row;
  }
  function render(m) {
    if (!m || typeof m.id !== "number") return;
    var mine = m.author && m.author.type === "customer";
    var row = shown[m.id];
    if (!row && m.client_id && pendingEls[m.client_id]) {
      row = pendingEls[m.client_id];
      delete pendingEls[m.client_id];
      row.parentNode && row.parentNode.removeChild(row);
      row = null;
    }
    if (row) return;
    row = bubble(m, mine);
    row._created = m.created_at;
    shown[m.id] = row;
    place(row, m.id);
    row._meta.textContent = timeOf(m.created_at);
    lastId = Math.max(lastId, m.id);
    if (!mine) {
      maxAgent = Math.max(maxAgent, m.id);
      if (m.status !== "read" && m.id > readSent) unread++;
      typingEl.textContent = "";
    }
    markSeen();
    emit("message", { id: m.id, text: m.text, author: { type: m.author.type, name: m.author.name }, created_at: m.created_at, attachments: m.attachments || [] });
    scrollDown();
  }
  function addAll(msgs) { (msgs || []).forEach(render); receipts(); updateBadge(); }
  function clearList() {
    list.textContent = "";
    shown = {};
    pendingEls = {};
    lastId = maxAgent = readSent = deliveredSent = seenUpTo = unread = 0;
  }
  function scrollDown() { list.scrollTop = list.scrollHeight; }
  function markSeen() {
    var best = 0, id;
    for (id in shown) if (Number(id) <= seenUpTo && shown[id].className.indexOf("me") > -1) best = Math.max(best, Number(id));
    for (id in shown) {
      var r = shown[id];
      if (r.className.indexOf("me") > -1) r._meta.textContent = timeOf(r._created) + (Number(id) === best ? " · " + t("seen") : "");
    }
  }
  function pendingBubble(c, text, label) {
    var row = bubble({ text: text, attachments: [] }, true);
    row.setAttribute("data-id", "Infinity");
    row._meta.textContent = label || t("sending");
    list.appendChild(row);
    pendingEls[c] = row;
    scrollDown();
    return row;
  }
  function failed(c, why) {
    var row = pendingEls[c];
    if (row) { row._meta.textContent = t("failed") + (why ? " · " + why : ""); row._meta.className = "meta fail"; }
  }

  // --- transport --------------------------------------------------------------------------------
  var sentUser = null;
  function helloFrame() {
    sentUser = user;
    return { type: "hello", token: st.token || null, last_id: firstReady ? null : lastId, user: user, locale: lang };
  }
  function identifyFrame() {
    var f = { type: "identify" };
    for (var k in user) f[k] = user[k];
    sentUser = user;
    return f;
  }
  function start() {
    if (started) return;
    started = true;
    connect();
  }
  function connect() {
    clearTimeout(timer);
    if (!window.WebSocket) restMode = true;
    if (restMode) return restSession();
    try { ws = new WebSocket(WS_URL); } catch (e) { return fallBack(); }
    var sock = ws;
    sock.onopen = function () { everOpened = true; attempt = 0; sock.send(JSON.stringify(helloFrame())); };
    sock.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (x) { return; }
      handle(f);
    };
    sock.onclose = function () {
      if (ws !== sock) return;
      ws = null;
      connected = false;
      setStatus(t("offline"));
      if (!everOpened && attempt >= 2) return fallBack();
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt++)) * (0.75 + Math.random() / 2);
      timer = setTimeout(connect, delay);
    };
  }
  function fallBack() {
    restMode = true;
    restSession();
    setTimeout(function () { restMode = false; everOpened = false; attempt = 0; if (!connected) connect(); }, 60000);
  }
  function rest(path, body) {
    var form = body instanceof FormData;
    // text/plain and multipart bodies without custom headers are "simple" requests: no CORS preflight.
    return fetch(BASE + path + "?inbox=" + encodeURIComponent(INBOX), {
      method: "POST", headers: form ? {} : { "Content-Type": "text/plain" }, body: form ? body : JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw j; return j; });
    });
  }
  function restSession() {
    rest("/widget/session", helloFrame()).then(function (f) {
      handle(f);
      if (f.error) handle(f.error);
      clearInterval(pollTimer);
      pollTimer = setInterval(function () {
        if (!restMode) return clearInterval(pollTimer);
        rest("/widget/sync", { token: st.token, after: lastId }).then(handle, noop);
      }, 4000);
    }, function () { timer = setTimeout(restSession, 5000); });
  }
  function noop() {}
  function frame(f) {
    if (ws && connected) { ws.send(JSON.stringify(f)); return true; }
    if (!restMode || !st.token) return false;
    f.token = st.token;
    var path = { message: "/widget/messages", receipt: "/widget/receipts", typing: "/widget/typing", identify: "/widget/identify" }[f.type];
    if (f.type === "identify") f = { token: st.token, user: f };
    if (path) rest(path, f).then(handle, function (err) { handle(Object.assign({ type: "error" }, err, { client_id: f.client_id })); });
    return true;
  }
  function handle(f) {
    if (!f || !f.type) return;
    var fn = { ready: onReady, ack: onAck, message: function () { addAll([f.message]); }, messages: onMessages, typing: onTyping, read: onRead, identified: onIdentified, error: onError, receipt: noop, pong: noop }[f.type];
    if (fn) fn(f);
  }
  function onReady(f) {
    connected = true;
    setStatus("");
    if (f.token !== st.token) { st.token = f.token; }
    cfg = f.inbox || cfg;
    st.cfg = cfg;
    save();
    applyConfig();
    if (firstReady) clearList();
    firstReady = false;
    seenUpTo = Math.max(seenUpTo, f.agent_seen_up_to || 0);
    needsProfile = !!f.needs_profile && !st.profiled;
    if (f.identified && user) st.uid = user.identifier;
    if (user && user !== sentUser) frame(identifyFrame()); // setUser came while the hello was on its way
    showForms();
    addAll(f.messages);
    st.outbox.forEach(function (o) {
      if (!pendingEls[o.c]) pendingBubble(o.c, o.t);
      frame({ type: "message", client_id: o.c, text: o.t });
    });
    emit("ready", { visitor_id: f.visitor_id, identified: f.identified });
  }
  function onAck(f) {
    st.outbox = st.outbox.filter(function (o) { return o.c !== f.client_id; });
    save();
    if (f.message) addAll([f.message]);
    else if (pendingEls[f.client_id]) pendingEls[f.client_id]._meta.textContent = "";
  }
  function onMessages(f) {
    if (f.replace) clearList();
    addAll(f.messages);
  }
  function onTyping(f) {
    clearTimeout(typingTimer);
    typingEl.textContent = f.typing ? ((f.author && f.author.name) || t("team")) + " " + t("typing") : "";
    if (f.typing) typingTimer = setTimeout(function () { typingEl.textContent = ""; }, 6000);
  }
  function onRead() {
    for (var id in shown) if (shown[id].className.indexOf("me") > -1) seenUpTo = Math.max(seenUpTo, Number(id));
    markSeen();
  }
  function onIdentified(f) {
    if (f.token) { st.token = f.token; st.outbox = []; clearList(); }
    if (f.verified && user) st.uid = user.identifier;
    save();
  }
  function onError(f) {
    var c = f.client_id;
    if (f.code === "rate_limited" && c) {
      setTimeout(function () {
        var o = st.outbox.filter(function (x) { return x.c === c; })[0];
        if (o) frame({ type: "message", client_id: o.c, text: o.t });
      }, (f.retry_after || 5) * 1000);
      if (pendingEls[c]) pendingEls[c]._meta.textContent = t("slow");
    } else if (c) {
      st.outbox = st.outbox.filter(function (o) { return o.c !== c; });
      save();
      failed(c, f.code === "too_large" ? t("tooBig") : f.code === "file_refused" ? t("refused") : "");
    }
    if (f.code === "session_invalid") { st.token = null; save(); }
    emit("error", { code: f.code, message: f.message });
  }
  function receipts() {
    if (!maxAgent) return;
    var visible = isOpen && document.visibilityState !== "hidden";
    if (visible && maxAgent > readSent) {
      if (frame({ type: "receipt", status: "read", up_to: maxAgent })) { readSent = deliveredSent = maxAgent; unread = 0; updateBadge(); }
    } else if (!visible && maxAgent > deliveredSent) {
      if (frame({ type: "receipt", status: "delivered", up_to: maxAgent })) deliveredSent = maxAgent;
    }
    if (visible) { unread = 0; updateBadge(); }
    emit("unread", { count: unread });
  }

  // --- sending ----------------------------------------------------------------------------------
  function sendText(text) {
    text = String(text == null ? "" : text).trim();
    if (!text) return false;
    start();
    var c = cid();
    st.outbox.push({ c: c, t: text });
    save();
    pendingBubble(c, text);
    frame({ type: "message", client_id: c, text: text });
    sendTyping(false);
    return true;
  }
  function sendFile(f) {
    var c = cid();
    var row = pendingBubble(c, "📎 " + f.name);
    if (f.size > (cfg.max_file_bytes || 10485760)) return failed(c, t("tooBig"));
    if (cfg.file_types && cfg.file_types.indexOf(f.type) < 0) return failed(c, t("refused"));
    if (!st.token) return failed(c, t("offline"));
    var data = new FormData();
    data.append("token", st.token);
    data.append("client_id", c);
    data.append("file", f, f.name);
    row._meta.textContent = t("sending");
    rest("/widget/messages", data).then(onAck, function (err) { onError({ code: err && err.code, message: err && err.message, client_id: c }); });
  }
  function sendTyping(on) {
    clearTimeout(typingIdle);
    if (!connected) return;
    var now = Date.now();
    if (on && now - typingSentAt < 2500) { typingIdle = setTimeout(function () { sendTyping(false); }, 3000); return; }
    typingSentAt = on ? now : 0;
    frame({ type: "typing", typing: on });
    if (on) typingIdle = setTimeout(function () { sendTyping(false); }, 3000);
  }
  function showForms() {
    preForm.hidden = !(needsProfile && !list.children.length);
    form.hidden = !preForm.hidden;
  }

  // --- open / close -----------------------------------------------------------------------------
  function setOpen(open) {
    if (open === isOpen) return;
    isOpen = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    updateBadge();
    if (open) {
      start();
      showForms();
      scrollDown();
      (preForm.hidden ? input : nameInput).focus();
      receipts();
    } else {
      launcher.focus();
    }
    emit(open ? "open" : "close", {});
  }
  launcher.addEventListener("click", function () { setOpen(!isOpen); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (sendText(input.value)) input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
  });
  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(120, input.scrollHeight) + "px";
    sendTyping(!!input.value);
  });
  attachBtn.addEventListener("click", function () { file.click(); });
  file.addEventListener("change", function () {
    if (file.files && file.files[0]) sendFile(file.files[0]);
    file.value = "";
  });
  preForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var email = emailInput.value.trim(), name = nameInput.value.trim();
    var need = cfg.pre_chat_form || {};
    if ((need.require_email !== false || email) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) { preErr.textContent = t("badEmail"); return; }
    if (need.require_name && !name) { nameInput.focus(); return; }
    preErr.textContent = "";
    st.profiled = true;
    save();
    frame({ type: "identify", name: name || null, email: email || null });
    needsProfile = false;
    showForms();
    input.focus();
  });
  document.addEventListener("visibilitychange", receipts);
  window.addEventListener("online", function () { if (started && !connected && !restMode) { attempt = 0; connect(); } });
  setInterval(function () { if (ws && connected) frame({ type: "ping" }); }, 25000);

  // --- page API ---------------------------------------------------------------------------------
  var api = {
    _loaded: true,
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!isOpen); },
    send: function (text) { return sendText(text); },
    setUser: function (u) {
      if (!u || typeof u !== "object") return;
      user = {};
      ["identifier", "identifier_hash", "email", "email_hash", "name", "phone"].forEach(function (k) {
        if (u[k] != null) user[k] = String(u[k]);
      });
      if (connected) frame(identifyFrame());
      else if (user.identifier !== st.uid) start(); // already linked: the next hello carries it anyway
    },
    reset: function () {
      try { localStorage.removeItem(KEY); } catch (e) { /* ignore */ }
      st = { outbox: [] };
      user = null;
      firstReady = true;
      clearList();
      if (ws) { var old = ws; ws = null; old.close(); }
      connected = false;
      if (started) connect();
    },
    on: function (name, fn) { if (typeof fn === "function") (handlers[name] = handlers[name] || []).push(fn); return api; },
    off: function (name, fn) { handlers[name] = (handlers[name] || []).filter(function (h) { return h !== fn; }); return api; }
  };
  window.Omnihub = api;
  lang = pickLang("");
  applyConfig();
  (document.body || document.documentElement).appendChild(host);
  if (st.token || (user && user.identifier !== st.uid) || st.outbox.length) start();
  if (pre.open) setOpen(true);
  try { window.dispatchEvent(new Event("omnihub:ready")); } catch (e) { /* very old browsers */ }
})();
