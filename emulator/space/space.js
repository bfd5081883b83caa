// The local space: a small Webex client of the emulator, acting as the chosen person.
//
// It uses the emulator's /v1 API with that person's token, as a Webex client does: the person's
// rooms, the messages of one room, posting (with the bot's @mention in group spaces), card submits
// to /v1/attachment/actions. It learns what changed from /_emulator/space/updates (Webex's push
// channel, here), and fetches messages only then. URL: /?as=<person key>&space=<room key or id>.
(function () {
  "use strict";

  const POLL_MS = 700;
  const $ = (id) => document.getElementById(id);
  const markdown = window.markdownit ? window.markdownit({ html: false, linkify: true, breaks: true }) : null;
  const MENTION = /<@(?:(personId|personEmail):([^|>]+)|(all))(?:\|([^>]*))?>/g;
  const AVATAR_COLORS = ["#0A78CC", "#1B8041", "#8A4BCF", "#C25E00", "#D4371C", "#00838F", "#5B6CC9", "#AD5B8A"];

  const app = {
    directory: null,
    people: new Map(), // id -> directory entry
    bot: null, // the bot this page talks to (directory entry)
    me: null, // the chosen person (directory entry)
    token: null,
    rooms: [], // the person's rooms, from /v1/rooms
    room: null, // the open room, or {type: "direct", pending: true} before the first message
    digests: {}, // roomId -> digest last shown (or first seen)
    unread: new Set(),
    threadParent: null,
    rendered: new Map(), // messageId -> {element, updated}
    generation: 0, // bumped on every person or room switch: late answers are dropped
    loading: null,
    reloadWanted: false,
    pointedAt: null, // a new message out of sight, pointed out by the "new reply" button
  };

  // --- the emulator's API, as this person ----------------------------------------------------

  class ApiError extends Error {}

  async function api(method, path, body) {
    const response = await fetch(`/v1/${path}`, {
      method,
      headers: { Authorization: `Bearer ${app.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let text = `${response.status} ${response.statusText}`;
      try {
        const answer = await response.json();
        if (answer.message) text = `${response.status}: ${answer.message}`;
      } catch (_) { /* not JSON */ }
      throw new ApiError(text);
    }
    return response.status === 204 ? null : response.json();
  }

  async function control(method, path) {
    const response = await fetch(`/_emulator/${path}`, { method });
    if (!response.ok) throw new ApiError(`${response.status} from /_emulator/${path}`);
    return response.status === 204 ? null : response.json();
  }

  // --- small helpers ---------------------------------------------------------------------------

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function initials(name) {
    const words = String(name || "?").split(/\s+/).filter(Boolean);
    return ((words[0] || "?")[0] + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
  }

  function colorFor(id) {
    let hash = 0;
    for (const c of String(id)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
    return AVATAR_COLORS[hash % AVATAR_COLORS.length];
  }

  function avatar(element, person, fallbackName) {
    const name = person ? person.displayName : fallbackName;
    element.textContent = initials(name);
    element.style.background = person && person.type === "bot" ? "#3D3D3D" : colorFor(person ? person.id : name);
    element.classList.toggle("avatar-bot", Boolean(person && person.type === "bot"));
  }

  function timeOf(iso) {
    const date = new Date(iso);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function problem(text) {
    const box = $("problem");
    box.textContent = text;
    box.hidden = !text;
  }

  let toastTimer = null;
  function toast(text) {
    let box = document.querySelector(".toast");
    if (!box) {
      box = document.createElement("div");
      box.className = "toast";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    box.textContent = text;
    box.classList.add("shown");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.remove("shown"), 5000);
  }

  // Markdown as Webex renders it; mentions become highlighted names.
  function renderMarkdown(source) {
    const names = [];
    const marked = source.replace(MENTION, (_all, kind, value, group, label) => {
      let name = label;
      if (!name && group) name = "All";
      if (!name && kind === "personId" && app.people.has(value)) name = app.people.get(value).displayName;
      names.push({ name: name || value, me: value === (app.me && app.me.id) });
      return `@@mention${names.length - 1}@@`;
    });
    const html = markdown ? markdown.render(marked) : `<p>${escapeHtml(marked)}</p>`;
    return html.replace(/@@mention(\d+)@@/g, (_all, index) => {
      const { name, me } = names[Number(index)];
      return `<span class="mention${me ? " mention-me" : ""}">${escapeHtml(name)}</span>`;
    });
  }

  // --- people and spaces -------------------------------------------------------------------------

  async function loadDirectory() {
    app.directory = await control("GET", "directory");
    for (const person of app.directory.people) app.people.set(person.id, person);
    const params = new URLSearchParams(location.search);
    const botKey = params.get("bot") || "bot";
    app.bot = app.directory.people.find((p) => p.key === botKey) || app.directory.people.find((p) => p.type === "bot");
    const select = $("persona");
    select.innerHTML = "";
    for (const person of app.directory.people) {
      if (person.type !== "person" || !person.tokens.some((t) => t.kind === "user")) continue;
      const option = document.createElement("option");
      option.value = person.key;
      option.textContent = person.persona ? `${person.displayName} — ${person.persona}` : person.displayName;
      select.appendChild(option);
    }
  }

  function isBotDirect(room) {
    return room.type === "direct" && app.bot && room.title === app.bot.displayName;
  }

  async function choosePerson(key, wantedSpace) {
    const person = app.directory.people.find((p) => p.key === key) || app.directory.people.find((p) => p.type === "person");
    app.me = person;
    app.token = person.tokens.find((t) => t.kind === "user").token;
    $("persona").value = person.key;
    avatar($("persona-avatar"), person);
    app.digests = {};
    app.unread.clear();
    await loadRooms();
    const ids = app.directory.ids;
    let room = null;
    if (wantedSpace) room = app.rooms.find((r) => r.id === wantedSpace || r.id === ids[wantedSpace]) || null;
    if (!room) room = app.rooms.find(isBotDirect) || null;
    openRoom(room ? room.id : null);
  }

  async function loadRooms() {
    const answer = await api("GET", "rooms?max=100");
    const direct = (room) => (room.type === "direct" ? 0 : 1);
    app.rooms = answer.items.slice().sort((a, b) => direct(a) - direct(b)); // 1:1 spaces first
    renderSpaceList();
  }

  function renderSpaceList() {
    const list = $("space-list");
    list.innerHTML = "";
    const entries = app.rooms.map((room) => ({ id: room.id, title: room.title, type: room.type }));
    if (!app.rooms.some(isBotDirect) && app.bot) {
      entries.unshift({ id: "", title: app.bot.displayName, type: "direct", pending: true });
    }
    for (const entry of entries) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "space-entry";
      button.dataset.roomId = entry.id;
      button.dataset.spaceType = entry.type;
      const current = app.room && (app.room.id || "") === entry.id;
      if (current) button.setAttribute("aria-current", "true");
      if (app.unread.has(entry.id)) button.classList.add("unread");
      const badge = document.createElement("span");
      badge.className = "avatar avatar-sm";
      if (entry.type === "direct") avatar(badge, app.bot && entry.title === app.bot.displayName ? app.bot : null, entry.title);
      else { badge.textContent = initials(entry.title); badge.style.background = colorFor(entry.id); badge.classList.add("avatar-space"); }
      const text = document.createElement("span");
      text.className = "space-name";
      text.textContent = entry.title;
      const kind = document.createElement("span");
      kind.className = "space-kind";
      kind.textContent = entry.pending ? "new 1:1" : entry.type === "direct" ? "1:1" : "group";
      button.append(badge, text, kind);
      button.addEventListener("click", () => openRoom(entry.id || null));
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  function updateUrl() {
    const params = new URLSearchParams(location.search);
    params.set("as", app.me.key);
    if (app.room && app.room.id) params.set("space", keyOf(app.room.id) || app.room.id);
    else params.delete("space");
    history.replaceState(null, "", `?${params}`);
  }

  function keyOf(roomId) {
    return Object.keys(app.directory.ids).find((k) => app.directory.ids[k] === roomId) || null;
  }

  async function openRoom(roomId) {
    app.generation += 1;
    app.room = roomId ? app.rooms.find((r) => r.id === roomId) : { id: "", type: "direct", title: app.bot.displayName, pending: true };
    app.rendered.clear();
    app.threadParent = null;
    app.unread.delete(roomId || "");
    app.pointedAt = null;
    renderPointer();
    $("messages").innerHTML = "";
    $("messages").dataset.roomId = roomId || "";
    $("messages").dataset.ready = "false";
    renderSpaceList();
    renderHeader();
    renderComposer();
    updateUrl();
    if (roomId) {
      await rememberDigest(roomId, app.generation);
      await loadMessages();
      describeMembers(app.room, app.generation);
    } else {
      $("messages").innerHTML = `<div class="empty">Say something to ${escapeHtml(app.bot.displayName)} to start your 1:1 space.</div>`;
      $("messages").dataset.ready = "true";
    }
    $("composer-text").focus();
  }

  function renderHeader() {
    const room = app.room;
    $("space-title").textContent = room.title;
    const badge = $("space-avatar");
    if (room.type === "direct") avatar(badge, app.bot && room.title === app.bot.displayName ? app.bot : null, room.title);
    else { badge.textContent = initials(room.title); badge.style.background = colorFor(room.id); badge.classList.remove("avatar-bot"); }
    $("space-subtitle").textContent = room.type === "direct" ? "1:1 space" : "Group space";
  }

  // What the room looks like now, so that the next poll fetches again only if it changed.
  async function rememberDigest(roomId, generation) {
    try {
      const answer = await control("GET", `space/updates?personId=${encodeURIComponent(app.me.id)}`);
      if (generation === app.generation && answer.rooms[roomId]) app.digests[roomId] = answer.rooms[roomId].digest;
    } catch (_) { /* the poll reports an emulator that does not answer */ }
  }

  async function describeMembers(room, generation) {
    if (room.type !== "group") return;
    try {
      const answer = await api("GET", `memberships?roomId=${encodeURIComponent(room.id)}&max=100`);
      if (generation !== app.generation) return;
      const names = answer.items.map((m) => m.personDisplayName);
      $("space-subtitle").textContent = `Group space · ${names.length} people: ${names.join(", ")}`;
    } catch (error) {
      toast(`Could not list the members: ${error.message}`);
    }
  }

  function renderComposer() {
    const group = app.room.type === "group";
    $("mention-chip").hidden = !group;
    $("composer-text").placeholder = `Write a message to ${app.room.title}`;
    $("composer-hint").textContent = group
      ? `Posting as ${app.me.displayName}, with the bot's @mention as Webex adds it. Enter sends, Shift+Enter adds a line.`
      : `Posting as ${app.me.displayName}. Enter sends, Shift+Enter adds a line.`;
    renderThreadChip();
  }

  function renderThreadChip() {
    const chip = $("thread-chip");
    const parent = app.threadParent && app.rendered.get(app.threadParent);
    chip.hidden = !parent;
    if (parent) $("thread-snippet").textContent = parent.snippet;
  }

  // --- messages ----------------------------------------------------------------------------------

  async function loadMessages() {
    if (!app.room || !app.room.id) return;
    if (app.loading) {
      app.reloadWanted = true;
      return app.loading;
    }
    const generation = app.generation;
    const roomId = app.room.id;
    app.loading = (async () => {
      try {
        const answer = await api("GET", `messages?roomId=${encodeURIComponent(roomId)}&max=500`);
        if (generation !== app.generation) return;
        showMessages(answer.items.slice().reverse());
        $("messages").dataset.ready = "true";
      } catch (error) {
        if (generation === app.generation) toast(`Could not read the messages: ${error.message}`);
      }
    })();
    try {
      await app.loading;
    } finally {
      app.loading = null;
    }
    if (app.reloadWanted) {
      app.reloadWanted = false;
      await loadMessages();
    }
  }

  // Keyed update: existing messages keep their element (and a card keeps what was typed in it).
  function showMessages(messages) {
    const list = $("messages");
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const byId = new Map(messages.map((m) => [m.id, m]));
    const wanted = new Set();
    const arrived = []; // messages new since the room was opened (none on its first load)
    for (const message of messages) {
      wanted.add(message.id);
      const shown = app.rendered.get(message.id);
      if (!shown && list.dataset.ready === "true") arrived.push(message.id);
      if (!shown || shown.updated !== (message.updated || "")) {
        const element = messageElement(message);
        if (shown) shown.element.replaceWith(element);
        app.rendered.set(message.id, { element, updated: message.updated || "", snippet: snippetOf(message) });
      }
    }
    for (const [id, shown] of app.rendered) {
      if (!wanted.has(id)) {
        shown.element.remove();
        app.rendered.delete(id);
        if (app.threadParent === id) app.threadParent = null;
      }
    }
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    // threads: a message with a parentId goes under its parent (if the parent is still there)
    const roots = messages.filter((m) => !m.parentId || !byId.has(m.parentId));
    let position = 0;
    for (const root of roots) {
      const block = threadBlock(root.id);
      placeAt(list, block, position++);
      const replies = block.querySelector(".replies");
      placeAt(block, app.rendered.get(root.id).element, 0);
      const replyMessages = messages.filter((m) => m.parentId === root.id);
      replyMessages.forEach((reply, index) => placeAt(replies, app.rendered.get(reply.id).element, index));
      block.classList.toggle("has-replies", replyMessages.length > 0);
    }
    for (const block of Array.from(list.querySelectorAll(".thread-block"))) {
      if (!roots.some((r) => r.id === block.dataset.root)) block.remove();
    }
    if (!messages.length) list.innerHTML = `<div class="empty">No messages in this space yet.</div>`;
    renderThreadChip();
    if (nearBottom || list.dataset.scrolled !== "true") {
      list.scrollTop = list.scrollHeight;
      list.dataset.scrolled = "true";
    }
    pointOut(arrived.filter((id) => !app.me || app.rendered.get(id).element.dataset.sender !== app.me.key));
  }

  // --- a reply out of sight (in the thread of an older card, or below) is pointed out -----------

  function outOfSight(element) {
    const view = $("messages").getBoundingClientRect();
    const box = element.getBoundingClientRect();
    if (box.bottom <= view.top + 8) return "above";
    if (box.top >= view.bottom - 8) return "below";
    return null;
  }

  function pointOut(arrivedIds) {
    const hidden = arrivedIds.map((id) => app.rendered.get(id).element).filter((e) => outOfSight(e));
    if (!hidden.length) return;
    app.pointedAt = hidden[hidden.length - 1];
    renderPointer();
  }

  function renderPointer() {
    const button = $("new-reply");
    const target = app.pointedAt && app.pointedAt.isConnected ? app.pointedAt : null;
    const where = target ? outOfSight(target) : null;
    if (!where) app.pointedAt = null;
    button.hidden = !where;
    button.dataset.where = where || "";
    button.textContent = where === "above" ? "↑ New reply above" : "↓ New reply below";
  }

  function showPointedAt() {
    const target = app.pointedAt;
    app.pointedAt = null;
    renderPointer();
    if (!target || !target.isConnected) return;
    target.scrollIntoView({ block: "center" });
    target.classList.add("pointed-at");
    setTimeout(() => target.classList.remove("pointed-at"), 2500);
  }

  function placeAt(parent, child, index) {
    const children = Array.from(parent.children).filter((c) => !c.classList.contains("reply-link"));
    if (children[index] !== child) parent.insertBefore(child, children[index] || parent.querySelector(":scope > .reply-link"));
  }

  function threadBlock(rootId) {
    let block = Array.from($("messages").children).find((b) => b.dataset && b.dataset.root === rootId);
    if (block) return block;
    block = document.createElement("div");
    block.className = "thread-block";
    block.dataset.root = rootId;
    const replies = document.createElement("div");
    replies.className = "replies";
    const link = document.createElement("button");
    link.type = "button";
    link.className = "reply-link";
    link.textContent = "Reply to thread";
    link.addEventListener("click", () => {
      app.threadParent = rootId;
      renderThreadChip();
      $("composer-text").focus();
    });
    block.append(replies, link);
    return block;
  }

  function snippetOf(message) {
    const text = message.text || (message.attachments ? "a card" : "");
    return text.length > 60 ? `${text.slice(0, 57)}…` : text;
  }

  function messageElement(message) {
    const person = app.people.get(message.personId);
    const element = document.createElement("article");
    element.className = "activity";
    element.dataset.messageId = message.id;
    element.dataset.sender = person ? person.key : message.personEmail;
    if (message.parentId) element.classList.add("reply");
    if (person && person.type === "bot") element.classList.add("from-bot");
    if (app.me && message.personId === app.me.id) element.classList.add("from-me");

    const badge = document.createElement("span");
    badge.className = "avatar";
    badge.setAttribute("aria-hidden", "true");
    avatar(badge, person, message.personEmail);

    const body = document.createElement("div");
    body.className = "activity-body";
    const meta = document.createElement("div");
    meta.className = "meta";
    const sender = document.createElement("span");
    sender.className = "sender";
    sender.textContent = person ? person.displayName : message.personEmail;
    meta.appendChild(sender);
    if (person && person.type === "bot") {
      const tag = document.createElement("span");
      tag.className = "bot-tag";
      tag.textContent = "Bot";
      meta.appendChild(tag);
    }
    const time = document.createElement("time");
    time.className = "time";
    time.dateTime = message.created;
    time.title = message.created;
    time.textContent = timeOf(message.created);
    meta.appendChild(time);
    if (message.updated) {
      const edited = document.createElement("span");
      edited.className = "edited";
      edited.textContent = "Edited";
      meta.appendChild(edited);
    }
    body.appendChild(meta);

    const card = (message.attachments || []).find((a) => a.contentType === "application/vnd.microsoft.card.adaptive");
    const rendered = card && window.SpaceCards ? renderCard(message, card.content) : null;
    if (!rendered) {
      const text = document.createElement("div");
      text.className = "text";
      text.innerHTML = message.markdown ? renderMarkdown(message.markdown) : `<p>${escapeHtml(message.text || "").replace(/\n/g, "<br>")}</p>`;
      body.appendChild(text);
    } else {
      body.appendChild(rendered);
    }
    element.append(badge, body);
    return element;
  }

  // A card in a bubble, as Webex shows it instead of the message's text.
  function renderCard(message, content) {
    let element = null;
    try {
      element = window.SpaceCards.render(content, {
        messageId: message.id,
        onSubmit: (inputs, title) => submitCard(message, inputs, title),
      });
    } catch (error) {
      window.cardWarnings.push({ messageId: message.id, text: `render failed: ${error.message}` });
      return null;
    }
    if (!element) return null;
    const bubble = document.createElement("div");
    bubble.className = "card-bubble";
    bubble.dataset.cardFor = message.id;
    bubble.appendChild(element);
    return bubble;
  }

  async function submitCard(message, inputs, title) {
    const bubble = document.querySelector(`.card-bubble[data-card-for="${CSS.escape(message.id)}"]`);
    if (bubble) bubble.classList.add("submitting");
    try {
      await api("POST", "attachment/actions", { type: "submit", messageId: message.id, inputs });
    } catch (error) {
      toast(`Could not submit "${title || "the card"}": ${error.message}`);
    } finally {
      if (bubble) setTimeout(() => bubble.classList.remove("submitting"), 400);
    }
  }

  // --- the composer --------------------------------------------------------------------------------

  async function send(text) {
    const body = {};
    if (app.room.pending) {
      body.toPersonId = app.bot.id; // a first message to the bot opens the 1:1 space, as in Webex
      body.text = text;
    } else if (app.room.type === "group") {
      body.roomId = app.room.id;
      body.markdown = `<@personId:${app.bot.id}|${app.bot.displayName}> ${text}`;
    } else {
      body.roomId = app.room.id;
      body.text = text;
    }
    if (app.threadParent) body.parentId = app.threadParent;
    const sent = await api("POST", "messages", body);
    if (app.room.pending) {
      await loadRooms();
      await openRoom(sent.roomId);
    } else {
      await poll(); // shows it at once, fetching the messages only once
    }
  }

  function wireComposer() {
    const box = $("composer-text");
    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = box.value.trim();
      if (!text || !app.room) return;
      box.value = "";
      autosize();
      try {
        await send(text);
      } catch (error) {
        box.value = text;
        toast(`Not sent: ${error.message}`);
      }
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("composer").requestSubmit();
      }
    });
    function autosize() {
      box.style.height = "auto";
      box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
    }
    box.addEventListener("input", autosize);
    $("thread-cancel").addEventListener("click", () => {
      app.threadParent = null;
      renderThreadChip();
    });
  }

  // --- what changed (the push channel) -----------------------------------------------------------

  async function poll() {
    try {
      if (!app.me) return;
      const generation = app.generation;
      const answer = await control("GET", `space/updates?personId=${encodeURIComponent(app.me.id)}`);
      if (generation !== app.generation) return;
      const rooms = answer.rooms;
      const known = new Set(app.rooms.map((r) => r.id));
      if (Object.keys(rooms).some((id) => !known.has(id)) || app.rooms.some((r) => !(r.id in rooms))) {
        await loadRooms();
      }
      let listChanged = false;
      for (const [roomId, info] of Object.entries(rooms)) {
        const before = app.digests[roomId];
        app.digests[roomId] = info.digest;
        if (app.room && roomId === app.room.id) {
          if (before !== info.digest) await loadMessages();
        } else if (before !== undefined && before !== info.digest && !app.unread.has(roomId)) {
          app.unread.add(roomId);
          listChanged = true;
        }
      }
      if (listChanged) renderSpaceList();
      problem("");
    } catch (error) {
      problem(`The emulator is not answering (${error.message}). Is it still running?`);
    }
  }

  async function pollForever() {
    for (;;) {
      await poll();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  // --- start -------------------------------------------------------------------------------------------

  async function start() {
    if (!window.SpaceCards) {
      problem("The card renderer is not installed (node_modules is missing): run `npm ci` in the repository, as `make demo` does. Cards show as text until then.");
    }
    wireComposer();
    $("new-reply").addEventListener("click", showPointedAt);
    $("messages").addEventListener("scroll", () => app.pointedAt && renderPointer(), { passive: true });
    try {
      await loadDirectory();
    } catch (error) {
      problem(`Cannot read the emulator's directory: ${error.message}`);
      return;
    }
    const params = new URLSearchParams(location.search);
    $("persona").addEventListener("change", (event) => choosePerson(event.target.value, null));
    window.SpacePanel && window.SpacePanel.start({ onReset: () => choosePerson(app.me.key, app.room && app.room.id) });
    await choosePerson(params.get("as") || "alice", params.get("space"));
    document.body.dataset.ready = "true";
    pollForever();
  }

  window.addEventListener("DOMContentLoaded", start);
})();
