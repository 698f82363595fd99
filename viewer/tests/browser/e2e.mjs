// End-to-end test of the viewer UI in headless Chromium, driven by playwright-core.
//
// The caller starts a viewer (the real server, or standin.mjs) on 127.0.0.1 over a log folder
// that contains the sensor's replay of samples/demo.pcap, and passes:
//   TW_BASE_URL    http://127.0.0.1:PORT of that viewer
//   TW_LOG_DIR     its log folder, where this script appends a hostile line and today's lines
//   TW_USER, TW_PASSWORD   a user the viewer accepts
//   TW_OUT_DIR     folder for the screenshots (created)
//   TW_DEMO_DATE   date of the demo's log file (default 2026-01-15)
//   TW_CHROMIUM    browser binary (default /usr/bin/chromium)
//
// The browser may load only pages under TW_BASE_URL: every other request is aborted and fails
// the test.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`environment variable ${name} is missing; see the header of e2e.mjs`);
  return value;
};

const BASE_URL = env("TW_BASE_URL");
const LOG_DIR = env("TW_LOG_DIR");
const USER = env("TW_USER");
const PASSWORD = env("TW_PASSWORD");
const OUT_DIR = env("TW_OUT_DIR");
const DEMO_DATE = env("TW_DEMO_DATE", "2026-01-15");
const CHROMIUM = env("TW_CHROMIUM", "/usr/bin/chromium");

// Generous, because the machine may be busy with other tests. Waits end as soon as the
// condition is true.
const DEADLINE_MS = 90_000;

// The six indicators planted in samples/demo.pcap (samples/README.md).
const DEMO_TRAILS = [
  "ageanrzekiycakzrswcq.com",
  "paulocamarao.com",
  "etvidanueva.com",
  "etvidanueva.com/photos/images/WebPanel/login.php",
  "office365upgrade.com",
  "213.152.161.99:47390",
];

// A trail an attacker can make a sensor log: if the UI put it into innerHTML, the script or the
// image's error handler would set window.__xss.
const HOSTILE_TRAIL = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
const HOSTILE_SOURCE = "192.168.1.66";
// The same kind of markup in the info text, as a user agent or host name from traffic would
// bring it, and in the sensor name. Their handlers would set window.__xss to 3 or 4.
const HOSTILE_INFO = 'agent <img src=x onerror="window.__xss=3"> (malware)';
const HOSTILE_SENSOR = '<img/src=x/onerror=window.__xss=4>';

let browser;
let page;
let profile;
const blocked = [];
const consoleErrors = [];
// Requests that the server rejected with 400, such as one with an unknown parameter. The
// "bad filter value" step sends port=http on purpose and is left out.
const badRequests = [];

function localDate(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function localTime(date) {
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${localDate(date)} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}000`;
}

// Renders one Maltrail log line. Values with a space or a quote are quoted, quotes doubled.
function logLine(fields) {
  return `${fields.map((v) => (/[ "]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(" ")}\n`;
}

function liveLine(trail) {
  return logLine([localTime(new Date()), "e2e", "10.9.8.7", "51000", "198.51.100.9", "443", "TCP", "DNS", trail, "live check (malware)", "(static)"]);
}

async function tableTexts(selector) {
  return page.$$eval(selector, (cells) => cells.map((cell) => cell.textContent));
}

// Waits until predicate(argument), run in the page, is true. A timeout lists the rows shown.
async function waitForEvents(predicate, description, argument = null) {
  try {
    await page.waitForFunction(predicate, argument, { timeout: DEADLINE_MS, polling: 100 });
  } catch (error) {
    const rows = await tableTexts("#events-table tbody tr");
    throw new Error(`events table never showed ${description}; rows: ${JSON.stringify(rows.slice(0, 10))}`, { cause: error });
  }
}

before(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  appendFileSync(
    join(LOG_DIR, `${DEMO_DATE}.log`),
    logLine([`${DEMO_DATE} 12:00:20.000000`, HOSTILE_SENSOR, HOSTILE_SOURCE, "40000", "198.51.100.7", "80", "TCP", "URL", HOSTILE_TRAIL, HOSTILE_INFO, "(static)"]),
  );

  profile = mkdtempSync(join(tmpdir(), "tw-e2e-profile-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: false,
  });
  await browser.route("**/*", (route) => {
    const url = route.request().url();
    if (url === BASE_URL || url.startsWith(`${BASE_URL}/`)) return route.continue();
    blocked.push(url);
    return route.abort();
  });

  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(DEADLINE_MS);
  page.on("pageerror", (error) => consoleErrors.push(`page error: ${error.message}`));
  page.on("response", (response) => {
    if (response.status() === 400 && !response.url().includes("port=http")) badRequests.push(response.url());
  });
  page.on("console", (message) => {
    // Chromium logs every 4xx fetch as "Failed to load resource". The test causes a 401
    // and a 400 on purpose and checks each response in its own step.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      consoleErrors.push(message.text());
    }
  });
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
});

test("login rejects wrong password", async () => {
  await page.goto(`${BASE_URL}/`);
  await page.waitForSelector("#login-form", { state: "visible" });
  assert.equal(await page.isHidden("#app-view"), true, "the app must stay hidden before login");

  await page.fill("#login-username", USER);
  await page.fill("#login-password", `${PASSWORD}-wrong`);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#login-error", { state: "visible" });
  assert.match(await page.textContent("#login-error"), /wrong user name or password/i);
  await page.screenshot({ path: join(OUT_DIR, "login.png") });
});

test("login shows the user", async () => {
  await page.fill("#login-password", PASSWORD);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app-view", { state: "visible", timeout: DEADLINE_MS });
  assert.equal(await page.textContent("#user-name"), USER);
  assert.equal(await page.isHidden("#login-view"), true);
});

test("demo day shows the indicators", async () => {
  await page.fill("#range-from", DEMO_DATE);
  await page.fill("#range-to", DEMO_DATE);
  await page.click("#range-form button[type=submit]");
  await waitForEvents(
    (hostile) => [...document.querySelectorAll("#events-table tbody td.trail")].some((td) => td.textContent === hostile),
    "the appended hostile line",
    HOSTILE_TRAIL,
  );

  const trails = new Set(await tableTexts("#events-table tbody td.trail"));
  for (const trail of DEMO_TRAILS) {
    assert.ok(trails.has(trail), `events table lacks demo trail ${trail}; it has ${[...trails].join(", ")}`);
  }
  assert.deepEqual([...trails].sort(), [...DEMO_TRAILS, HOSTILE_TRAIL].sort(), "events table has a trail that is no demo indicator");

  const threatTrails = new Set(await tableTexts("#threats-table tbody td.trail"));
  for (const trail of DEMO_TRAILS) {
    assert.ok(threatTrails.has(trail), `threats table lacks ${trail}`);
  }
  assert.ok((await page.$$("#threats-table tbody svg.sparkline polyline")).length >= DEMO_TRAILS.length, "threat rows lack sparklines");

  const rows = (await page.$$("#events-table tbody tr")).length;
  // The first response for an unindexed day has no total; the card and the pager show
  // "counting…" until the UI requests the total again.
  await page.waitForFunction(
    () => !document.querySelector("#stat-events").textContent.includes("counting")
      && !document.querySelector("#page-status").textContent.includes("counting"),
    null,
    { timeout: DEADLINE_MS },
  );
  assert.match(await page.textContent("#page-status"), new RegExp(`^1–${rows} of ${rows}$`));
  const total = Number((await page.textContent("#stat-events")).replace(/\D/g, ""));
  assert.equal(total, rows, "the events card must count every row of this one-page day");
  assert.ok(total >= DEMO_TRAILS.length + 1, `expected at least ${DEMO_TRAILS.length + 1} events, card says ${total}`);
  assert.ok(Number((await page.textContent("#stat-sources")).replace(/\D/g, "")) >= 2, "expected the demo host and the hostile source");

  const bars = await page.$$eval("#timeline rect.bar", (rects) => rects.map((r) => Number(r.getAttribute("height"))));
  assert.equal(bars.length, 24, "a single day's timeline has one bar per hour");
  assert.ok(bars[12] > 0, "the demo's events are all in hour 12");
  assert.equal(bars.filter((h) => h > 0).length, 1, "only hour 12 has events");

  const severities = await tableTexts("#events-table tbody .sev");
  assert.ok(severities.every((s) => ["low", "medium", "high"].includes(s)), `severity shown as text: ${severities}`);
});

test("hostile trail renders as text", async () => {
  assert.equal(await page.evaluate(() => window.__xss), undefined, "markup from a trail was executed");
  assert.equal((await page.$$("main tbody img, main tbody script, aside tbody img")).length, 0, "markup from a trail became elements");
  const cells = await tableTexts("#events-table tbody td.trail");
  assert.ok(cells.includes(HOSTILE_TRAIL), "the hostile trail is shown verbatim");
  const rowText = await page.evaluate(() => document.querySelector("#events-table tbody").textContent);
  assert.ok(rowText.includes(HOSTILE_INFO), "the hostile info is shown verbatim");
});

test("bad filter value shows error", async () => {
  await page.fill("#filter-form input[name=port]", "http");
  await page.click("#filter-form button[type=submit]");
  await page.waitForSelector("#app-error", { state: "visible", timeout: DEADLINE_MS });
  assert.match(await page.textContent("#app-error"), /port/i, "the error names the parameter");
  await page.click("#filter-clear");
  await page.waitForSelector("#app-error", { state: "hidden", timeout: DEADLINE_MS });
});

test("trail filter narrows events", async () => {
  await page.fill("#filter-form input[name=trail]", "office365");
  await page.click("#filter-form button[type=submit]");
  await waitForEvents(
    () => {
      const cells = [...document.querySelectorAll("#events-table tbody td.trail")];
      return cells.length > 0 && cells.every((td) => td.textContent.includes("office365"));
    },
    "only office365upgrade.com rows",
  );
  const rows = (await page.$$("#events-table tbody tr")).length;
  assert.equal(Number((await page.textContent("#stat-events")).replace(/\D/g, "")), rows);
  assert.match(await page.evaluate(() => location.hash), /trail=office365/, "the filter is kept in the URL");

  const href = await page.getAttribute("#export-csv", "href");
  assert.match(href, /^\/api\/export\.csv\?/);
  assert.match(href, /trail=office365/, "the export link carries the filter");
  const exported = await page.evaluate(async (url) => {
    const response = await fetch(url);
    return { status: response.status, disposition: response.headers.get("Content-Disposition"), body: await response.text() };
  }, href);
  assert.equal(exported.status, 200, `GET ${href}: ${exported.body}`);
  assert.match(exported.disposition ?? "", /attachment/);
  assert.match(exported.body, /office365upgrade\.com/);
  assert.doesNotMatch(exported.body, /paulocamarao\.com/, "the export ignores the filter");

  await page.click("#filter-clear");
  await waitForEvents(() => document.querySelectorAll("#events-table tbody td.trail").length > 2, "all rows again");
});

test("time header sorts ascending", async () => {
  const header = "#events-table th[data-sort=time]";
  assert.equal(await page.getAttribute(header, "aria-sort"), "descending");
  const before = await page.$$eval("#events-table tbody td.time", (cells) => cells.map((c) => c.title));
  await page.click(header);
  await page.waitForFunction((h) => document.querySelector(h).getAttribute("aria-sort") === "ascending", header);
  await waitForEvents(
    (first) => document.querySelector("#events-table tbody td.time")?.title !== first,
    "a new first row after sorting",
    before[0],
  );
  const times = await page.$$eval("#events-table tbody td.time", (cells) => cells.map((c) => c.title));
  assert.deepEqual(times, [...times].sort(), "rows are in ascending time order");
  assert.deepEqual([...times].sort(), [...before].sort(), "sorting kept the same rows");
  await page.click(header);
});

test("source pivot shows days and peers", async () => {
  await page.click("#events-table tbody button.link[data-kind=src] >> text=192.168.1.23");
  await page.waitForSelector("#pivot-panel", { state: "visible" });
  await page.waitForFunction(() => document.querySelectorAll("#pivot-events tbody tr").length > 0, null, { timeout: DEADLINE_MS });
  assert.match(await page.textContent("#pivot-title"), /192\.168\.1\.23/);

  const days = await tableTexts("#pivot-days tbody td:first-child");
  assert.deepEqual(days, [DEMO_DATE]);
  const peers = await tableTexts("#pivot-peers tbody td:first-child");
  assert.ok(peers.includes("192.168.1.1"), `peers lack the router: ${peers}`);
  assert.ok(peers.includes("213.152.161.99"), `peers lack the AsyncRAT address: ${peers}`);
  assert.ok(!peers.includes("198.51.100.7"), "the hostile line's destination is not a peer of the demo host");
  await page.screenshot({ path: join(OUT_DIR, "pivot-desktop.png") });

  await page.click("#pivot-close");
  await page.waitForSelector("#pivot-panel", { state: "hidden" });
});

test("desktop and phone screenshots", async () => {
  await page.screenshot({ path: join(OUT_DIR, "desktop.png"), fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the phone layout scrolls sideways by ${overflow} px`);
  await page.screenshot({ path: join(OUT_DIR, "phone.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  console.log(`screenshots in ${OUT_DIR}`);
});

test("today updates live", async () => {
  const today = join(LOG_DIR, `${localDate(new Date())}.log`);
  appendFileSync(today, liveLine("first.live.example"));
  await page.click("#range-today");
  await page.waitForSelector("#live-status", { state: "visible", timeout: DEADLINE_MS });
  await waitForEvents(
    () => [...document.querySelectorAll("#events-table tbody td.trail")].some((td) => td.textContent === "first.live.example"),
    "today's first line",
  );

  // Lines written before the first poll count as already shown, so wait for its offset.
  await page.waitForSelector("#live-status[data-next]", { timeout: DEADLINE_MS });

  appendFileSync(today, liveLine("second.live.example"));
  await waitForEvents(
    () => [...document.querySelectorAll("#events-table tbody td.trail")].some((td) => td.textContent === "second.live.example"),
    "the line appended while the page was open",
  );
  // Another reload may show the line in the table first, but the live poll still counts it.
  await page.waitForFunction(
    () => /1 new/.test(document.querySelector("#live-status").textContent),
    null,
    { timeout: DEADLINE_MS, polling: 100 },
  );
  assert.match(await page.textContent("#live-status"), /^live: 1 new$/);
});

test("logout ends the session", async () => {
  await page.click("#logout-button");
  await page.waitForSelector("#login-form", { state: "visible" });
  const status = await page.evaluate(async () => (await fetch("/api/session")).status);
  assert.equal(status, 401, "the session still works after logout");
});

test("no blocked requests or errors", () => {
  assert.deepEqual(blocked, [], "the page requested something outside the viewer");
  assert.deepEqual(consoleErrors, [], "the page logged errors (a CSP violation shows up here)");
  assert.deepEqual(badRequests, [], "the server rejected requests of the UI");
});
