// "What the emulator saw": API calls, webhook deliveries with their status, injected faults, the
// current voicemail rules and the authorizations (consent pages waiting, Service Apps per org),
// read from the control API while the panel is open.
(function () {
  "use strict";

  const POLL_MS = 1500;
  const ROWS = 200;
  const $ = (id) => document.getElementById(id);
  let tab = "calls";
  let timer = null;
  let onReset = () => {};

  function escapeHtml(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  async function get(path) {
    const response = await fetch(`/_emulator/${path}`);
    if (!response.ok) throw new Error(`${response.status} from /_emulator/${path}`);
    return response.json();
  }

  function clock(iso) {
    return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }) : "";
  }

  // Webex ids are base64 of ciscospark://us/TYPE/uuid: shown as TYPE:1234abcd, whole in the title.
  function shortIds(text) {
    return escapeHtml(text).replace(/Y2lzY29zcGFyazovL[A-Za-z0-9+/]+/g, (id) => {
      try {
        const decoded = atob(id + "=".repeat((4 - (id.length % 4)) % 4));
        const match = decoded.match(/^ciscospark:\/\/[a-z]+\/([A-Z_]+)\/([0-9a-f-]+)/);
        return match ? `<abbr class="id" title="${id}">${match[1]}:${match[2].slice(0, 8)}</abbr>` : id;
      } catch (_) {
        return id;
      }
    });
  }

  // How long a fault lasts: until cleared, or the calls of its count still to come.
  function lasts(fault) {
    if (fault.count === null) return "until cleared";
    const left = fault.count - fault.hits;
    return left > 0 ? `${left} of ${fault.count} left` : `used up (${fault.count})`;
  }

  function statusClass(status) {
    if (status === null || status === undefined) return "status-bad";
    return status < 300 ? "status-ok" : status < 500 ? "status-warn" : "status-bad";
  }

  function table(headers, rows) {
    if (!rows.length) return `<p class="panel-empty">Nothing yet.</p>`;
    return `<table class="log"><thead><tr>${headers.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
  }

  const views = {
    async calls() {
      const items = (await get("calls/log")).items.slice(-ROWS).reverse();
      return table(["time", "who", "call", "status", "ms"], items.map((c) => `
        <tr><td>${clock(c.time)}</td><td>${escapeHtml(c.caller || "no token")}</td>
        <td><span class="method">${escapeHtml(c.method)}</span> ${shortIds(c.path)}${c.faults && c.faults.length ? ` <span class="fault-tag">fault ${c.faults.join(", ")}</span>` : ""}</td>
        <td class="${statusClass(c.status)}">${c.status}</td><td>${c.ms}</td></tr>`));
    },
    async deliveries() {
      const items = (await get("deliveries")).items.slice(-ROWS).reverse();
      return table(["time", "event", "to", "status", "ms"], items.map((d) => `
        <tr><td>${clock(d.time)}</td><td>${escapeHtml(d.resource)}/${escapeHtml(d.event)} ${shortIds(d.dataId || "")}</td>
        <td>${escapeHtml(d.targetUrl)}</td>
        <td class="${d.ok ? "status-ok" : "status-bad"}" title="${escapeHtml(d.error || "")}">${d.status ?? escapeHtml(d.error || "failed")}</td><td>${d.ms}</td></tr>`));
    },
    async faults() {
      const answer = await get("faults");
      // Used-up faults stay listed, so every "fault N" in the call log names a row here.
      const rows = answer.items.concat(answer.spent.slice().reverse()).map((f) => `
        <tr data-fault="${f.id}"><td>${f.id}</td><td>${escapeHtml(f.method)} ${escapeHtml(f.path)}${f.skip ? ` (after ${f.skip} calls)` : ""}</td>
        <td>${f.drop ? "drop" : escapeHtml(f.status ?? "")}${f.retryAfter ? ` (Retry-After ${escapeHtml(f.retryAfter)})` : ""}${f.latencyMs ? ` +${f.latencyMs} ms` : ""}</td>
        <td>${lasts(f)}</td><td>${f.hits}</td></tr>`);
      return `
        <form class="fault-form" id="fault-form">
          <select name="method" aria-label="Method"><option>*</option><option>GET</option><option>PUT</option><option>POST</option><option>DELETE</option></select>
          <input name="path" value="/v1/telephony/*" aria-label="Path glob">
          <input name="status" value="503" size="4" aria-label="Status">
          <input name="count" value="1" size="3" aria-label="How many calls (empty: until cleared)">
          <button type="submit" class="small-button">Inject</button>
          <button type="button" class="small-button" id="faults-clear">Clear all</button>
          <span class="fault-error" id="fault-error" role="alert"></span>
        </form>
        ${table(["id", "calls", "answer", "lasts", "hits"], rows)}`;
    },
    async rules() {
      const answer = await get("voicemail-rules");
      const r = answer.rules;
      const pin = r.defaultVoicemailPinRules || {};
      const onOff = (s, value) => (s && s.enabled ? value : "off");
      const days = (n) => `${n} ${n === 1 ? "day" : "days"}`;
      const facts = [
        ["Passcode expiry", onOff(r.expirePasscode, days(r.expirePasscode?.numberOfDays))],
        ["Minimum days between changes", onOff(r.changePasscode, days(r.changePasscode?.numberOfDays))],
        ["Block previous passcodes", onOff(r.blockPreviousPasscodes, `last ${r.blockPreviousPasscodes?.numberOfPasscodes}`)],
        ["Default PIN for new users", pin.defaultVoicemailPinEnabled ? `on (${answer.defaultPinSet ? "a PIN is set" : "no PIN set"})` : "off"],
        ["PIN length", `${pin.length?.min} to ${pin.length?.max} digits`],
        ["Repeated digits", onOff(pin.blockRepeatedDigits, `at most ${pin.blockRepeatedDigits?.max} in a row`)],
        ["Sequences", onOff(pin.blockContiguousSequences, `at most ${pin.blockContiguousSequences?.numberOfAscendingDigits} ascending, ${pin.blockContiguousSequences?.numberOfDescendingDigits} descending`)],
        ["Repeated patterns", pin.blockRepeatedPatternsEnabled ? "blocked" : "allowed"],
      ];
      return `<dl class="rules">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>
        <details><summary>As stored (JSON)</summary><pre>${escapeHtml(JSON.stringify(answer.rules, null, 2))}</pre></details>`;
    },
    async authorizations() {
      const [pending, apps, settings, directory] = await Promise.all([
        get("authorizations"), get("serviceApps"), get("settings"), get("directory")]);
      const orgs = directory.orgs;
      const requests = pending.pending.map((r) => `
        <tr><td>${clock(new Date(r.created * 1000).toISOString())}</td><td>${escapeHtml(r.integration)}</td>
        <td class="scopes">${r.scopes.map(escapeHtml).join(" ")}</td>
        <td><a href="${escapeHtml(r.url)}" target="_blank" rel="noopener">Open the consent page</a></td></tr>`);
      const grants = (app) => orgs.map((org) => {
        const on = app.authorizedOrgIds.includes(org.id);
        return `<tr><td>${escapeHtml(org.displayName)}</td>
          <td class="nowrap ${on ? "status-ok" : "status-warn"}">${on ? "authorized" : "not authorized"}</td>
          <td><button type="button" class="small-button" data-app="${escapeHtml(app.id)}" data-org="${escapeHtml(org.id)}" data-on="${on}">${on ? "Deauthorize" : "Authorize"}</button></td></tr>`;
      });
      const seconds = settings.accessTokenSeconds;
      return `<h3>Consent pages waiting for an answer</h3>
        ${table(["opened", "integration", "scopes", ""], requests)}
        <h3>Service Apps (as a Full Admin does in Control Hub)</h3>
        ${apps.items.map((app) => `<p>${escapeHtml(app.name)}</p>${table(["org", "", ""], grants(app))}`).join("")}
        <p class="panel-empty">Issued access tokens last ${seconds ? `${seconds} s` : "14 days (as on Webex)"}.</p>`;
    },
  };

  async function refresh() {
    const body = $("panel-body");
    const shown = tab;
    try {
      const html = await views[shown]();
      if (shown !== tab || $("panel").hidden) return;
      if (shown === "faults" && body.querySelector("#fault-form")) {
        // keep the form as the person left it; refresh only the table
        const fresh = document.createElement("div");
        fresh.innerHTML = html;
        const old = body.querySelector("table, .panel-empty");
        const next = fresh.querySelector("table, .panel-empty");
        if (old && next) old.replaceWith(next);
        return;
      }
      const openDetails = body.querySelector("details[open]") !== null;
      body.innerHTML = html;
      if (openDetails) body.querySelector("details")?.setAttribute("open", "");
      body.dataset.tab = shown;
      if (shown === "faults") wireFaultForm();
      if (shown === "authorizations") wireServiceApps();
    } catch (error) {
      body.innerHTML = `<p class="panel-empty">${escapeHtml(error.message)}</p>`;
    }
  }

  function wireFaultForm() {
    $("fault-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      const spec = { method: form.get("method"), path: form.get("path") };
      // Sent as typed: the emulator checks them and says what is wrong.
      if (form.get("status").trim()) spec.status = form.get("status").trim();
      if (form.get("count").trim()) spec.count = form.get("count").trim();
      const response = await fetch("/_emulator/faults", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(spec) });
      let problem = "";
      if (!response.ok) {
        try { problem = (await response.json()).message; } catch (_) { problem = `${response.status}`; }
      }
      $("fault-error").textContent = problem ? `Not injected: ${problem}` : "";
      refresh();
    });
    $("faults-clear").addEventListener("click", async () => {
      await fetch("/_emulator/faults", { method: "DELETE" });
      refresh();
    });
  }

  function wireServiceApps() {
    for (const button of $("panel-body").querySelectorAll("button[data-app]")) {
      button.addEventListener("click", async () => {
        const path = `/_emulator/serviceApps/${encodeURIComponent(button.dataset.app)}/orgs/${encodeURIComponent(button.dataset.org)}`;
        await fetch(path, { method: button.dataset.on === "true" ? "DELETE" : "PUT" });
        refresh();
      });
    }
  }

  function show(open) {
    $("panel").hidden = !open;
    $("panel-toggle").setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("panel-open", open);
    clearInterval(timer);
    if (open) {
      $("panel-body").innerHTML = "";
      refresh();
      timer = setInterval(refresh, POLL_MS);
    }
    const params = new URLSearchParams(location.search);
    if (open) params.set("panel", tab); else params.delete("panel");
    history.replaceState(null, "", `?${params}`);
  }

  function choose(name) {
    tab = name;
    for (const button of document.querySelectorAll(".tabs [data-tab]")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === name));
    }
    show(true);
  }

  // Reset asks first, and says what it does not reset (the bot's own database).
  function wireReset() {
    const ask = (open) => {
      $("reset-confirm").hidden = !open;
      $("reset").setAttribute("aria-expanded", String(open));
    };
    $("reset").addEventListener("click", () => {
      ask($("reset-confirm").hidden);
      if (!$("reset-confirm").hidden) $("reset-no").focus();
    });
    $("reset-no").addEventListener("click", () => ask(false));
    $("reset-yes").addEventListener("click", async () => {
      ask(false);
      await fetch("/_emulator/reset?keepWebhooks=true", { method: "POST" });
      await onReset();
      refresh();
    });
  }

  function start(options) {
    onReset = options.onReset || onReset;
    $("panel-toggle").addEventListener("click", () => show($("panel").hidden));
    $("panel-close").addEventListener("click", () => show(false));
    for (const button of document.querySelectorAll(".tabs [data-tab]")) {
      button.addEventListener("click", () => choose(button.dataset.tab));
    }
    wireReset();
    const wanted = new URLSearchParams(location.search).get("panel");
    if (wanted) choose(views[wanted] ? wanted : "calls");
  }

  window.SpacePanel = { start };
})();
