// trailwatch viewer UI. Plain JavaScript without a build step, served by trailwatch-viewer.
//
// Every value from the event log reaches the page through textContent or setAttribute, never
// through innerHTML, because trails and info texts are attacker-controlled strings.
"use strict";

(function () {
  const FILTER_KEYS = ["src", "dst", "port", "proto", "type", "trail", "info", "severity", "q"];
  const LIVE_INTERVAL_MS = 5000;
  const SVG_NS = "http://www.w3.org/2000/svg";

  // View state. It is mirrored into location.hash so that a reload or a shared link shows the
  // same view.
  const state = {
    from: "",
    to: "",
    filters: {},
    sort: "-time",
    offset: 0,
    limit: 100,
  };

  let session = null;
  let pivotQuery = null;
  let live = { generation: 0, active: false, timer: null, date: "", next: null, pending: 0 };

  const $ = (id) => document.getElementById(id);

  // Creates an element. Strings and numbers among the children become text nodes.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      node.setAttribute(name, String(value));
    }
    return node;
  }

  function localDate(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  function today() {
    return localDate(new Date());
  }

  // ---- HTTP ----

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // Fetches JSON from the server. A 401 shows the login form and rejects.
  async function getJson(path, params) {
    const url = params ? `${path}?${params}` : path;
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.status === 401) {
      showLogin();
      throw new HttpError(401, "The session has ended. Log in again.");
    }
    if (!response.ok) {
      throw new HttpError(response.status, await errorMessage(response));
    }
    return response.json();
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") return body.error;
    } catch (_) {
      // The body is not JSON, so the status line is the message.
    }
    return `The server returned ${response.status} ${response.statusText}.`;
  }

  // Query string with the date range and the filters, the parameters every data endpoint takes.
  function commonParams() {
    const params = new URLSearchParams();
    params.set("from", state.from);
    params.set("to", state.to);
    for (const key of FILTER_KEYS) {
      const value = state.filters[key];
      if (value) params.set(key, value);
    }
    return params;
  }

  // ---- session and login ----

  function showLogin(message) {
    session = null;
    stopLive();
    $("app-view").hidden = true;
    $("session-bar").hidden = true;
    closePivot();
    $("login-view").hidden = false;
    showLoginError(message || "");
    $("login-username").focus();
  }

  function showLoginError(message) {
    $("login-error").textContent = message;
    $("login-error").hidden = !message;
  }

  async function submitLogin(event) {
    event.preventDefault();
    const form = $("login-form");
    const body = new URLSearchParams(new FormData(form));
    let response;
    try {
      response = await fetch("/login", {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
    } catch (error) {
      showLoginError(`The server cannot be reached: ${error.message}`);
      return;
    }

    // Success is a 303 to "/", which fetch follows, so an OK response means logged in.
    if (response.ok) {
      $("login-password").value = "";
      await startSession();
      return;
    }
    if (response.status === 401) {
      showLoginError("Wrong user name or password.");
    } else if (response.status === 429) {
      showLoginError("Too many failed logins from this address. Wait a minute and try again.");
    } else {
      showLoginError(await errorMessage(response));
    }
  }

  async function logout() {
    if (session) {
      try {
        await fetch("/logout", {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": session.csrf },
        });
      } catch (_) {
        // The login form is shown anyway, and the server drops the session when it expires.
      }
    }
    showLogin();
  }

  async function startSession() {
    let current;
    try {
      current = await getJson("/api/session");
    } catch (error) {
      if (error.status !== 401) showLogin(error.message);
      return;
    }
    session = current;
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    $("session-bar").hidden = false;
    $("user-name").textContent = session.user;
    $("read-only-badge").hidden = !session.read_only;
    refreshAll();
  }

  // ---- state and URL ----

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const date = /^\d{4}-\d{2}-\d{2}$/;
    state.from = date.test(params.get("from") || "") ? params.get("from") : today();
    state.to = date.test(params.get("to") || "") ? params.get("to") : state.from;
    state.filters = {};
    for (const key of FILTER_KEYS) {
      if (params.get(key)) state.filters[key] = params.get(key);
    }
    state.sort = params.get("sort") || "-time";
    state.offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
    state.limit = parseInt(params.get("limit") || "100", 10) || 100;
  }

  function writeHash() {
    const params = commonParams();
    if (state.sort !== "-time") params.set("sort", state.sort);
    if (state.offset) params.set("offset", String(state.offset));
    if (state.limit !== 100) params.set("limit", String(state.limit));
    history.replaceState(null, "", `#${params}`);
  }

  function syncForms() {
    $("range-from").value = state.from;
    $("range-to").value = state.to;
    const form = $("filter-form");
    for (const key of FILTER_KEYS) {
      form.elements[key].value = state.filters[key] || "";
    }
    $("page-size").value = String(state.limit);
    for (const header of document.querySelectorAll("#events-table th[data-sort]")) {
      const key = header.dataset.sort;
      let direction = "none";
      if (state.sort === key) direction = "ascending";
      if (state.sort === `-${key}`) direction = "descending";
      header.setAttribute("aria-sort", direction);
    }
  }

  function showAppError(message) {
    $("app-error").textContent = message;
    $("app-error").hidden = !message;
  }

  // Reloads every view for the current state. Errors from the server (a bad filter value is a
  // 400 naming the parameter) are shown above the cards.
  async function refreshAll() {
    writeHash();
    syncForms();
    updateExports();
    showAppError("");
    const results = await Promise.allSettled([
      loadSummary(),
      loadTimeline(),
      loadThreats(),
      loadEvents(),
    ]);
    const failed = results.find((r) => r.status === "rejected" && r.reason.status !== 401);
    if (failed) showAppError(failed.reason.message);
    updateLive();
  }

  // Exports stream every matching event in file order, so they take no sort or page.
  function updateExports() {
    const params = commonParams();
    $("export-csv").href = `/api/export.csv?${params}`;
    $("export-json").href = `/api/export.json?${params}`;
  }

  // ---- summary cards ----

  async function loadSummary() {
    const shown = commonParams().toString();
    const all = commonParams();
    all.set("limit", "1");
    const high = commonParams();
    high.set("severity", "high");
    high.set("limit", "1");
    const [events, highEvents] = await Promise.all([
      getJson("/api/events", all),
      getJson("/api/events", high),
    ]);
    // A total of null means the server is still indexing the day; ask again shortly.
    $("stat-events").textContent = formatTotal(events.total);
    $("stat-high").textContent = formatTotal(highEvents.total);
    if (events.total === null || highEvents.total === null) {
      setTimeout(() => {
        // Only for the range and filter still shown; a changed view loads its own summary.
        if (commonParams().toString() === shown) loadSummary().catch(reportError);
      }, TOTAL_RETRY_MS);
    }
  }

  // Wait before asking again for a total that the server has not counted yet.
  const TOTAL_RETRY_MS = 1000;

  function formatTotal(total) {
    return total === null ? "counting…" : total.toLocaleString();
  }

  // ---- timeline ----

  async function loadTimeline() {
    const timeline = await getJson("/api/timeline", commonParams());
    $("timeline-title").textContent =
      timeline.unit === "hour" ? `Events per hour, ${state.from}` : "Events per day";
    drawTimeline(timeline);
  }

  let lastTimeline = null;

  // Draws the bars in a viewBox as wide as the box in CSS pixels, so labels keep their size on
  // a phone.
  function drawTimeline(timeline) {
    lastTimeline = timeline;
    const box = $("timeline");
    box.replaceChildren();
    const buckets = timeline.buckets || [];
    if (buckets.length === 0) {
      box.append(el("p", { class: "note" }, "No events in this range."));
      return;
    }

    const width = Math.max(300, Math.round(box.clientWidth) || 720);
    const height = 180;
    const left = 40;
    const bottom = 24;
    const top = 8;
    const max = Math.max(1, ...buckets.map((b) => b.count));
    const slot = (width - left) / buckets.length;
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      class: "chart",
      role: "img",
      "aria-label": `${timeline.unit === "hour" ? "Hourly" : "Daily"} event counts`,
    });

    chart.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
    const maxLabel = svg("text", { x: left - 6, y: top + 10, class: "tick", "text-anchor": "end" });
    maxLabel.textContent = max.toLocaleString();
    chart.append(maxLabel);

    const labelEvery = Math.ceil(buckets.length / Math.max(4, Math.floor(width / 60)));
    buckets.forEach((bucket, index) => {
      const barHeight = ((height - bottom - top) * bucket.count) / max;
      const x = left + index * slot;
      const bar = svg("rect", {
        x: x + slot * 0.1,
        y: height - bottom - barHeight,
        width: Math.max(1, slot * 0.8),
        height: barHeight,
        class: bucket.count > 0 ? "bar" : "bar empty",
      });
      const tooltip = svg("title");
      tooltip.textContent = `${bucket.start}: ${bucket.count} events`;
      bar.append(tooltip);
      chart.append(bar);

      if (index % labelEvery === 0) {
        const label = svg("text", { x: x + slot / 2, y: height - 8, class: "tick", "text-anchor": "middle" });
        label.textContent = bucketLabel(bucket.start, timeline.unit);
        chart.append(label);
      }
    });
    box.append(chart);
  }

  // Short axis label: "13" for the hour starting 13:00, "01-15" for a day.
  function bucketLabel(start, unit) {
    const text = String(start);
    if (unit === "hour") {
      const match = text.match(/[ T](\d{2}):/);
      return match ? match[1] : text;
    }
    return text.slice(5, 10);
  }

  // ---- threats ----

  async function loadThreats() {
    const result = await getJson("/api/threats", commonParams());
    const threats = result.threats || [];
    const body = $("threats-table").tBodies[0];
    body.replaceChildren();
    for (const threat of threats) {
      body.append(
        el(
          "tr",
          {},
          el("td", {}, pivotLink("src", threat.src_ip)),
          el("td", { class: "trail" }, pivotLink("trail", threat.trail)),
          el("td", {}, threat.type),
          el("td", { class: "info" }, threat.info),
          el("td", {}, severityBadge(threat.severity)),
          el("td", { class: "num" }, Number(threat.count).toLocaleString()),
          el("td", { class: "time" }, threat.first),
          el("td", { class: "time" }, threat.last),
          el("td", {}, sparkline(threat.sparkline || [])),
        ),
      );
    }
    if (threats.length === 0) {
      body.append(el("tr", {}, el("td", { colspan: "9", class: "note" }, "No threats in this range.")));
    }

    // The server returns at most 500 threats, so the distinct source count is a lower bound then.
    const sources = new Set(threats.map((t) => t.src_ip)).size;
    const truncated = threats.length >= 500;
    $("stat-sources").textContent = truncated ? `≥ ${sources}` : sources.toLocaleString();
    $("threats-note").textContent = truncated ? "Showing the 500 most frequent threats." : "";
    $("threats-note").hidden = !truncated;
  }

  function sparkline(counts) {
    const width = 96;
    const height = 20;
    const max = Math.max(1, ...counts);
    const step = counts.length > 1 ? width / (counts.length - 1) : width;
    const points = counts
      .map((count, i) => `${(i * step).toFixed(1)},${(height - 1 - ((height - 2) * count) / max).toFixed(1)}`)
      .join(" ");
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "sparkline", role: "img" });
    chart.setAttribute("aria-label", `hourly counts ${counts.join(", ")}`);
    chart.append(svg("polyline", { points, class: "spark" }));
    return chart;
  }

  function severityBadge(severity) {
    const known = ["low", "medium", "high"].includes(severity) ? severity : "unknown";
    return el("span", { class: `sev sev-${known}` }, severity || "unknown");
  }

  // A button that opens the pivot panel for one source, destination or trail.
  function pivotLink(kind, value) {
    if (!value || value === "-") return document.createTextNode(value || "-");
    const button = el("button", { type: "button", class: "link", "data-kind": kind, title: `Pivot on ${value}` }, value);
    button.addEventListener("click", () => openPivot(kind, value));
    return button;
  }

  // ---- events ----

  async function loadEvents() {
    const params = eventsParams();
    const result = await getJson("/api/events", params);
    renderEvents(result);
    if (result.total === null) {
      const shown = params.toString();
      setTimeout(() => {
        // Only reload the page that is still shown once its total is known.
        if (eventsParams().toString() === shown) loadEvents().catch(reportError);
      }, TOTAL_RETRY_MS);
    }
  }

  function eventsParams() {
    const params = commonParams();
    params.set("offset", String(state.offset));
    params.set("limit", String(state.limit));
    params.set("sort", state.sort);
    return params;
  }

  function renderEvents(result) {
    const events = result.events || [];
    const body = $("events-table").tBodies[0];
    body.replaceChildren();
    for (const event of events) {
      body.append(eventRow(event));
    }
    if (events.length === 0) {
      body.append(el("tr", {}, el("td", { colspan: "11", class: "note" }, "No events match.")));
    }

    const first = events.length === 0 ? 0 : result.offset + 1;
    const last = result.offset + events.length;
    $("page-status").textContent =
      `${first.toLocaleString()}–${last.toLocaleString()} of ${formatTotal(result.total)}`;
    $("page-prev").disabled = state.offset === 0;
    // Without a total, a full page means there may be more.
    $("page-next").disabled =
      result.total === null ? events.length < state.limit : last >= result.total;
  }

  function eventRow(event) {
    const info = event.repeats > 0 ? `${event.info} (${event.repeats} repeats)` : event.info;
    return el(
      "tr",
      {},
      el("td", { class: "time", title: event.time }, shortTime(event.time)),
      el("td", {}, pivotLink("src", event.src_ip)),
      el("td", { class: "num" }, event.src_port),
      el("td", {}, pivotLink("dst", event.dst_ip)),
      el("td", { class: "num" }, event.dst_port),
      el("td", {}, event.proto),
      el("td", {}, event.type),
      el("td", { class: "trail" }, pivotLink("trail", event.trail)),
      el("td", { class: "info", title: event.reference || "" }, info),
      el("td", {}, severityBadge(event.severity)),
      el("td", {}, event.sensor),
    );
  }

  // Drops the date and the microseconds when the view covers one day.
  function shortTime(time) {
    const text = String(time);
    if (state.from === state.to && text.startsWith(state.from)) {
      return text.slice(11, 23);
    }
    return text.slice(0, 23);
  }

  function sortBy(key) {
    state.sort = state.sort === `-${key}` ? key : `-${key}`;
    state.offset = 0;
    writeHash();
    syncForms();
    updateExports();
    loadEvents().catch(reportError);
  }

  function page(delta) {
    state.offset = Math.max(0, state.offset + delta * state.limit);
    writeHash();
    loadEvents().catch(reportError);
  }

  function reportError(error) {
    if (error.status !== 401) showAppError(error.message);
  }

  // ---- pivot panel ----

  const PIVOT_TITLES = { src: "Source", dst: "Destination", trail: "Trail" };
  const PEER_TITLES = { src: "Destinations", dst: "Sources", trail: "Sources" };
  const PEER_KINDS = { src: "dst", dst: "src", trail: "src" };

  async function openPivot(kind, value) {
    pivotQuery = { kind, value };
    const panel = $("pivot-panel");
    panel.hidden = false;
    $("pivot-title").textContent = `${PIVOT_TITLES[kind]} ${value}`;
    $("pivot-summary").textContent = "Loading…";
    $("pivot-peers-title").textContent = PEER_TITLES[kind];
    for (const id of ["pivot-days", "pivot-peers", "pivot-events"]) {
      $(id).tBodies[0].replaceChildren();
    }

    const params = new URLSearchParams({ kind, value, from: state.from, to: state.to });
    let pivot;
    try {
      pivot = await getJson("/api/pivot", params);
    } catch (error) {
      $("pivot-summary").textContent = error.message;
      return;
    }
    if (pivotQuery.kind !== kind || pivotQuery.value !== value) return;

    $("pivot-summary").textContent =
      pivot.total > 0
        ? `${pivot.total.toLocaleString()} events, first ${pivot.first}, last ${pivot.last}`
        : "No events in this range.";
    const days = $("pivot-days").tBodies[0];
    for (const day of pivot.days || []) {
      days.append(el("tr", {}, el("td", {}, day.date), el("td", { class: "num" }, day.count)));
    }
    const peers = $("pivot-peers").tBodies[0];
    for (const peer of pivot.peers || []) {
      peers.append(
        el("tr", {}, el("td", {}, pivotLink(PEER_KINDS[kind], peer.value)), el("td", { class: "num" }, peer.count)),
      );
    }
    const events = $("pivot-events").tBodies[0];
    for (const event of pivot.events || []) {
      events.append(
        el(
          "tr",
          {},
          el("td", { class: "time", title: event.time }, shortTime(event.time)),
          el("td", {}, `${event.src_ip}:${event.src_port}`),
          el("td", {}, `${event.dst_ip}:${event.dst_port}`),
          el("td", { class: "trail" }, event.trail),
          el("td", {}, severityBadge(event.severity)),
        ),
      );
    }
  }

  function closePivot() {
    pivotQuery = null;
    $("pivot-panel").hidden = true;
  }

  function filterByPivot() {
    if (!pivotQuery) return;
    state.filters = { ...state.filters, [pivotQuery.kind]: pivotQuery.value };
    state.offset = 0;
    closePivot();
    refreshAll();
  }

  // ---- live updates ----

  // Polls /api/live while the view shows only today. New lines trigger a reload of all views,
  // which keeps counts, charts and paging consistent with the server's filters.
  function updateLive() {
    const date = today();
    const showsToday = session && state.from === date && state.to === date;
    if (!showsToday) {
      stopLive();
      return;
    }
    if (live.active && live.date === date) return;
    stopLive();
    live = { generation: live.generation + 1, active: true, timer: null, date, next: null, pending: 0 };
    $("live-status").textContent = "live";
    $("live-status").hidden = false;
    pollLive(live.generation);
  }

  function stopLive() {
    if (live.timer) clearTimeout(live.timer);
    live = { generation: live.generation + 1, active: false, timer: null, date: "", next: null, pending: 0 };
    $("live-status").hidden = true;
    delete $("live-status").dataset.next;
  }

  // Reads the lines appended since the last poll. A poll whose generation is no longer current
  // belongs to a stopped or restarted session and ends without touching the page.
  async function pollLive(generation) {
    const current = () => live.generation === generation;
    let arrived = 0;
    try {
      // The first request skips the lines already on screen and keeps only the offset it reaches.
      // NOTE: trailwatch-viewer reads a missing "after" as 0 and returns a bounded batch per
      // request. This catch-up therefore reads the whole day once when live polling starts.
      const catchingUp = live.next === null;
      let after = live.next;
      for (;;) {
        const params = new URLSearchParams({ date: live.date });
        if (after !== null) params.set("after", String(after));
        let result;
        try {
          result = await getJson("/api/live", params);
        } catch (error) {
          if (error.status === 400 && after === null) {
            after = 0;
            continue;
          }
          throw error;
        }
        if (!current()) return;

        const count = (result.events || []).length;
        const moved = result.next !== after;
        after = result.next;
        if (!catchingUp) {
          arrived += count;
          break;
        }
        if (count === 0 || !moved) break;
      }
      live.next = after;
      $("live-status").dataset.next = String(after);
      $("live-status").classList.remove("stale");
    } catch (error) {
      if (error.status === 401 || !current()) return;
      $("live-status").classList.add("stale");
    }

    if (arrived > 0) {
      live.pending += arrived;
      $("live-status").textContent = `live: ${live.pending} new`;
      await refreshAll();
      if (!current()) return;
    }
    live.timer = setTimeout(() => pollLive(generation), LIVE_INTERVAL_MS);
  }

  // ---- wiring ----

  function readFilters() {
    const form = $("filter-form");
    const filters = {};
    for (const key of FILTER_KEYS) {
      const value = form.elements[key].value.trim();
      if (value) filters[key] = value;
    }
    return filters;
  }

  function init() {
    $("login-form").addEventListener("submit", submitLogin);
    $("logout-button").addEventListener("click", logout);

    $("range-form").addEventListener("submit", (event) => {
      event.preventDefault();
      state.from = $("range-from").value || today();
      state.to = $("range-to").value || state.from;
      state.offset = 0;
      refreshAll();
    });
    $("range-today").addEventListener("click", () => {
      state.from = today();
      state.to = state.from;
      state.offset = 0;
      refreshAll();
    });

    $("filter-form").addEventListener("submit", (event) => {
      event.preventDefault();
      state.filters = readFilters();
      state.offset = 0;
      refreshAll();
    });
    $("filter-clear").addEventListener("click", () => {
      state.filters = {};
      state.offset = 0;
      refreshAll();
    });

    for (const header of document.querySelectorAll("#events-table th[data-sort]")) {
      header.tabIndex = 0;
      header.addEventListener("click", () => sortBy(header.dataset.sort));
      header.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(header.dataset.sort);
        }
      });
    }
    $("page-prev").addEventListener("click", () => page(-1));
    $("page-next").addEventListener("click", () => page(1));
    $("page-size").addEventListener("change", () => {
      state.limit = parseInt($("page-size").value, 10);
      state.offset = 0;
      writeHash();
      loadEvents().catch(reportError);
    });

    $("pivot-close").addEventListener("click", closePivot);
    $("pivot-filter").addEventListener("click", filterByPivot);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") closePivot();
    });

    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => lastTimeline && drawTimeline(lastTimeline), 150);
    });

    readHash();
    startSession();
  }

  document.addEventListener("DOMContentLoaded", init);
})();
