// Test-only stand-in for trailwatch-viewer: serves ../../ui and the JSON endpoints the UI uses,
// computed from the Maltrail log files in a folder, so e2e.mjs can run before or without the
// Rust server. It is not the server's reference: sessions live in memory, severity comes from
// the info text, and nothing is indexed.
//
// Usage: node standin.mjs --listen 127.0.0.1:PORT --log-dir DIR --user NAME:PASSWORD

import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, statSync, openSync, readSync, closeSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "ui");
const STATIC_FILES = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};
const SEVERITY_RANK = { low: 1, medium: 2, high: 3 };

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 2) {
    options[argv[i].replace(/^--/, "")] = argv[i + 1];
  }
  for (const key of ["listen", "log-dir", "user"]) {
    if (!options[key]) throw new Error(`missing --${key}; usage: ${process.argv[1]} --listen 127.0.0.1:PORT --log-dir DIR --user NAME:PASSWORD`);
  }
  return options;
}

// Splits a Maltrail line into its eleven fields: space-separated, a field with spaces is
// double-quoted, and a quote inside a quoted field is doubled.
function splitLine(line) {
  const fields = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " ") {
      i += 1;
      continue;
    }
    if (line[i] === '"') {
      let value = "";
      i += 1;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i += 1;
          break;
        } else {
          value += line[i];
          i += 1;
        }
      }
      fields.push(value);
    } else {
      const end = line.indexOf(" ", i);
      const stop = end === -1 ? line.length : end;
      fields.push(line.slice(i, stop));
      i = stop;
    }
  }
  return fields.length === 11 ? fields : null;
}

function toEvent(line) {
  const f = splitLine(line);
  if (!f) return null;
  let info = f[9];
  let repeats = 0;
  const summary = info.match(/^(.*) \((\d+) repeats suppressed\)$/);
  if (summary) {
    info = summary[1];
    repeats = Number(summary[2]);
  }
  const severity = /malware/i.test(info) ? "high" : /suspicious|attacker/i.test(info) ? "medium" : "low";
  return {
    time: f[0], sensor: f[1], src_ip: f[2], src_port: f[3], dst_ip: f[4], dst_port: f[5],
    proto: f[6], type: f[7], trail: f[8], info, reference: f[10], severity, repeats, line,
  };
}

function datesBetween(from, to) {
  const dates = [];
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
    dates.push(d.toISOString().slice(0, 10));
  }
  return dates;
}

function localToday() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

class BadRequest extends Error {}

function readEvents(logDir, query) {
  const date = /^\d{4}-\d{2}-\d{2}$/;
  const from = query.get("from") || localToday();
  const to = query.get("to") || from;
  if (!date.test(from)) throw new BadRequest(`invalid from "${from}": expected YYYY-MM-DD`);
  if (!date.test(to)) throw new BadRequest(`invalid to "${to}": expected YYYY-MM-DD`);
  if (from > to) throw new BadRequest(`from ${from} is after to ${to}: swap them`);
  const events = [];
  for (const day of datesBetween(from, to)) {
    let text;
    try {
      text = readFileSync(join(logDir, `${day}.log`), "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const event = line ? toEvent(line) : null;
      if (event) events.push(event);
    }
  }
  return { from, to, events: events.filter(filterFor(query)) };
}

function filterFor(query) {
  const has = (k) => query.get(k);
  const severity = has("severity");
  if (severity && !SEVERITY_RANK[severity]) throw new BadRequest(`invalid severity "${severity}": expected low, medium or high`);
  const port = has("port");
  if (port && !/^\d{1,5}$/.test(port)) throw new BadRequest(`invalid port "${port}": expected a number 0-65535`);
  const lower = (s) => String(s).toLowerCase();
  return (e) =>
    (!has("src") || e.src_ip === has("src")) &&
    (!has("dst") || e.dst_ip === has("dst")) &&
    (!port || e.src_port === port || e.dst_port === port) &&
    (!has("proto") || lower(e.proto) === lower(has("proto"))) &&
    (!has("type") || lower(e.type) === lower(has("type"))) &&
    (!has("trail") || lower(e.trail).includes(lower(has("trail")))) &&
    (!has("info") || lower(e.info).includes(lower(has("info")))) &&
    (!severity || SEVERITY_RANK[e.severity] >= SEVERITY_RANK[severity]) &&
    (!has("q") || lower(e.line).includes(lower(has("q"))));
}

const strip = ({ line, ...event }) => event;

function sortEvents(events, sort) {
  const key = sort.replace(/^-/, "");
  const fields = { time: "time", src: "src_ip", dst: "dst_ip", port: "dst_port", proto: "proto", type: "type", trail: "trail", severity: "severity" };
  if (!fields[key]) throw new BadRequest(`invalid sort "${sort}": expected one of time src dst port proto type trail severity, optionally with a leading -`);
  const value = (e) => {
    if (key === "severity") return SEVERITY_RANK[e.severity];
    if (key === "port") return Number(e.dst_port) || 0;
    return e[fields[key]];
  };
  const direction = sort.startsWith("-") ? -1 : 1;
  return [...events].sort((a, b) => (value(a) < value(b) ? -direction : value(a) > value(b) ? direction : 0));
}

function countBy(events, key) {
  const counts = new Map();
  for (const e of events) counts.set(key(e), (counts.get(key(e)) || 0) + 1);
  return counts;
}

function handleApi(path, query, logDir) {
  if (path === "/api/events") {
    const { events } = readEvents(logDir, query);
    const offset = Number(query.get("offset") || 0);
    const limit = Number(query.get("limit") || 100);
    if (!(limit >= 1 && limit <= 1000)) throw new BadRequest(`invalid limit "${query.get("limit")}": expected 1-1000`);
    const sorted = sortEvents(events, query.get("sort") || "-time");
    return { total: events.length, offset, events: sorted.slice(offset, offset + limit).map(strip) };
  }
  if (path === "/api/threats") {
    const { events } = readEvents(logDir, query);
    const groups = new Map();
    for (const e of events) {
      const key = `${e.src_ip}\u0000${e.trail}`;
      let group = groups.get(key);
      if (!group) {
        group = { src_ip: e.src_ip, trail: e.trail, type: e.type, info: e.info, severity: e.severity, count: 0, first: e.time, last: e.time, sparkline: new Array(24).fill(0) };
        groups.set(key, group);
      }
      group.count += 1;
      if (e.time < group.first) group.first = e.time;
      if (e.time > group.last) group.last = e.time;
      group.sparkline[Number(e.time.slice(11, 13))] += 1;
    }
    return { threats: [...groups.values()].sort((a, b) => b.count - a.count).slice(0, 500) };
  }
  if (path === "/api/timeline") {
    const { from, to, events } = readEvents(logDir, query);
    if (from === to) {
      const hours = Array.from({ length: 24 }, (_, h) => ({ start: `${from} ${String(h).padStart(2, "0")}:00:00`, count: 0 }));
      for (const e of events) hours[Number(e.time.slice(11, 13))].count += 1;
      return { unit: "hour", buckets: hours };
    }
    const counts = countBy(events, (e) => e.time.slice(0, 10));
    return { unit: "day", buckets: datesBetween(from, to).map((d) => ({ start: d, count: counts.get(d) || 0 })) };
  }
  if (path === "/api/pivot") {
    const kind = query.get("kind");
    const value = query.get("value") || "";
    const own = { src: "src_ip", dst: "dst_ip", trail: "trail" }[kind];
    if (!own) throw new BadRequest(`invalid kind "${kind}": expected src, dst or trail`);
    const peer = kind === "src" ? "dst_ip" : "src_ip";
    const events = readEvents(logDir, query).events.filter((e) => e[own] === value);
    const times = events.map((e) => e.time).sort();
    const days = [...countBy(events, (e) => e.time.slice(0, 10))].map(([date, count]) => ({ date, count }));
    const peers = [...countBy(events, (e) => e[peer])].map(([v, count]) => ({ value: v, count })).sort((a, b) => b.count - a.count);
    return { kind, value, total: events.length, first: times[0] || null, last: times.at(-1) || null, days, peers, events: events.slice(0, 100).map(strip) };
  }
  if (path === "/api/live") {
    const date = query.get("date") || localToday();
    const file = join(logDir, `${date}.log`);
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      return { next: 0, events: [] };
    }
    if (!query.has("after")) return { next: size, events: [] };
    const after = Number(query.get("after"));
    if (after >= size) return { next: after, events: [] };
    const buffer = Buffer.alloc(size - after);
    const fd = openSync(file, "r");
    readSync(fd, buffer, 0, buffer.length, after);
    closeSync(fd);
    const text = buffer.toString("utf8");
    const complete = text.lastIndexOf("\n") + 1;
    const events = text.slice(0, complete).split("\n").filter(Boolean).map(toEvent).filter(Boolean).map(strip);
    return { next: after + Buffer.byteLength(text.slice(0, complete)), events };
  }
  return null;
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const [user, password] = options.user.split(/:(.*)/s);
  const sessions = new Map();
  const [host, port] = options.listen.split(/:(?=\d+$)/);

  const server = createServer((request, response) => {
    const url = new URL(request.url, "http://stand-in");
    const send = (status, body, type = "application/json", extra = {}) => {
      response.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type, "Cache-Control": "no-store", ...extra });
      response.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    const cookie = (request.headers.cookie || "").match(/(?:^|;\s*)tw_session=([0-9a-f]+)/);
    const session = cookie && sessions.get(cookie[1]);

    if (request.method === "GET" && url.pathname === "/") {
      return send(200, readFileSync(join(UI_DIR, "index.html"), "utf8"), STATIC_FILES["index.html"]);
    }
    const file = url.pathname.match(/^\/static\/([a-z.]+)$/);
    if (request.method === "GET" && file && STATIC_FILES[file[1]] && file[1] !== "index.html") {
      return send(200, readFileSync(join(UI_DIR, file[1]), "utf8"), STATIC_FILES[file[1]]);
    }
    if (request.method === "GET" && url.pathname === "/ping") return send(200, "pong", "text/plain");

    if (request.method === "POST" && url.pathname === "/login") {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const form = new URLSearchParams(body);
        if (form.get("username") !== user || form.get("password") !== password) {
          return send(401, { error: "invalid user name or password" });
        }
        const id = randomBytes(32).toString("hex");
        sessions.set(id, { user, csrf: randomBytes(32).toString("hex") });
        send(303, "", "text/plain", { Location: "/", "Set-Cookie": `tw_session=${id}; HttpOnly; SameSite=Strict; Path=/` });
      });
      return;
    }
    if (!session) return send(401, { error: "not logged in: POST /login first" });
    if (request.method === "POST" && url.pathname === "/logout") {
      if (request.headers["x-csrf-token"] !== session.csrf) return send(403, { error: "missing or wrong X-CSRF-Token header" });
      sessions.delete(cookie[1]);
      return send(200, {});
    }
    if (request.method === "GET" && url.pathname === "/api/session") {
      return send(200, { user: session.user, read_only: false, csrf: session.csrf });
    }
    if (request.method === "GET" && /^\/api\/export\.(csv|json)$/.test(url.pathname)) {
      const { events } = readEvents(options["log-dir"], url.searchParams);
      const csv = url.pathname.endsWith(".csv");
      const body = csv
        ? events.map((e) => [e.time, e.src_ip, e.dst_ip, e.trail].map((v) => `"${v.replaceAll('"', '""')}"`).join(",")).join("\n")
        : JSON.stringify(events.map(strip));
      return send(200, body, csv ? "text/csv" : "application/json", { "Content-Disposition": `attachment; filename="events.${csv ? "csv" : "json"}"` });
    }
    try {
      const result = request.method === "GET" ? handleApi(url.pathname, url.searchParams, options["log-dir"]) : null;
      return result ? send(200, result) : send(404, { error: `not found: ${url.pathname}` });
    } catch (error) {
      if (error instanceof BadRequest) return send(400, { error: error.message });
      throw error;
    }
  });
  server.listen(Number(port), host, () => console.log(`stand-in listening on http://${host}:${server.address().port}`));
}

main();
