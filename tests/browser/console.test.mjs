// The console in a real browser (Debian's Chromium, driven by playwright-core) against a
// scratch `hirestream up` that scripts/browser starts. It seeds its own history over the API,
// then looks at it as an auditor and an admin would. Screenshots go to $SCREENSHOTS.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (scripts/browser sets it)`);
  return value;
};
const BASE = env("CONSOLE_BASE_URL");
const DATABASE = env("CONSOLE_DATABASE_URL");
const SCREENSHOTS = env("SCREENSHOTS");
const TOKENS = {
  admin: env("ADMIN_TOKEN"),
  auditor: env("AUDITOR_TOKEN"),
  candidate: env("CANDIDATE_TOKEN"),
};
const CANDIDATE = env("CANDIDATE_ID");
const DEADLINE = 60_000;

let browser;

async function call(method, path, token, body) {
  const response = await fetch(BASE + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return json;
}

/// Polls `check` until it returns something truthy.
async function eventually(what, check) {
  const until = Date.now() + DEADLINE;
  for (;;) {
    const found = await check().catch(() => null);
    if (found) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/// A wallet of five events (grant 10, charge 3, grant 5, a resume for 5 and its outcome's
/// charge chain), all under a signed checkpoint.
async function seed() {
  await call("POST", "/candidates", TOKENS.candidate, { name: "Ada Lovelace", email: "ada@example.com" });
  await call("PUT", `/candidates/${CANDIDATE}/profile`, TOKENS.candidate, {
    headline: "Backend engineer",
    skills: [{ name: "Rust", proficiency: "expert" }],
    years_experience: 6,
    remote: "remote",
  });
  const grant = (credits, n) =>
    call("POST", `/wallets/${CANDIDATE}/grants`, TOKENS.admin, {
      grant_id: `00000000-0000-4000-8000-00000000000${n}`,
      credits,
      reason: "welcome",
    });
  await grant(10, 1);
  await call("POST", `/wallets/${CANDIDATE}/charges`, TOKENS.candidate, {
    charge_id: "00000000-0000-4000-8000-0000000000c1",
    credits: 3,
    purpose: "resume",
  });
  await grant(5, 2);
  const document = await call("POST", `/candidates/${CANDIDATE}/documents`, TOKENS.candidate, {
    kind: "resume",
    idempotency_key: "console-cv",
  });
  await eventually("the resume", async () => {
    const view = await call("GET", `/documents/${document.id}`, TOKENS.candidate);
    return view.status === "ready";
  });
  await eventually("a checkpoint over every event", async () => {
    const [{ checkpoints }, { events }] = await Promise.all([
      call("GET", "/audit/checkpoints?limit=500", TOKENS.auditor),
      call("GET", "/audit/events?limit=500", TOKENS.auditor),
    ]);
    const signed = checkpoints.reduce((n, c) => n + c.events, 0);
    return signed === events.length;
  });
  return document.id;
}

let documentId;

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  documentId = await seed();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

async function signedIn(role) {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  page.errors = errors;
  await page.goto(`${BASE}/console`);
  await page.getByLabel("Bearer token").fill(TOKENS[role]);
  await page.getByRole("button", { name: "Sign in" }).click();
  if (role !== "candidate") await page.locator("#type-counts tbody tr").first().waitFor();
  return page;
}

async function shoot(page, name) {
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

test("a candidate's token is refused", async () => {
  const page = await signedIn("candidate");
  await page.getByText("Refused: this console is for auditors and admins.").waitFor();
  assert.equal(await page.locator("#nav").isHidden(), true);
  await shoot(page, "refused");
  await page.close();
});

test("an auditor opens a wallet, steps back to an earlier version and sees its earlier state", async () => {
  const page = await signedIn("auditor");
  await page.locator("#type-counts tbody tr", { hasText: "wallet" }).waitFor();
  await page.getByLabel("Type", { exact: true }).selectOption("wallet");
  await page.getByLabel("Id", { exact: true }).fill(CANDIDATE);
  await page.getByRole("button", { name: "Open" }).click();
  await page.locator("#version-label", { hasText: "4 of 4" }).waitFor();
  assert.match(await page.locator("#state").textContent(), /"balance": 7/);
  assert.equal(await page.locator("#events tbody tr").count(), 4);
  await shoot(page, "streams");

  // Back to the first event: the first grant alone.
  await page.locator("#version").fill("1");
  await page.locator("#version-label", { hasText: "1 of 4" }).waitFor();
  assert.match(await page.locator("#state").textContent(), /"balance": 10/);
  assert.equal(await page.locator("#events tbody tr.later").count(), 3);
  await shoot(page, "streams-version-1");

  // One event's proof, checked by the browser itself.
  await page.locator("#events tbody tr").first().getByRole("button", { name: "Verify" }).click();
  await page.getByText("Verified in this browser").waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a correlation trace shows the document request's whole chain", async () => {
  const page = await signedIn("auditor");
  await page.getByLabel("Type", { exact: true }).selectOption("document");
  await page.getByLabel("Id", { exact: true }).fill(documentId);
  await page.getByRole("button", { name: "Open" }).click();
  await page.locator("#events tbody tr").first().locator("button.correlation").click();
  const trace = page.locator("#trace-events tbody");
  await trace.locator("tr", { hasText: "DocumentGenerated" }).waitFor();
  const text = await trace.textContent();
  for (const type of ["CreditsCharged", "DocumentRequested", "DocumentGenerated"]) {
    assert.ok(text.includes(type), `${type} is missing from the trace: ${text}`);
  }
  await shoot(page, "correlation");
  await page.close();
});

test("an admin rebuilds a projection from the pipeline and sees it finish; the ledger reconciles", async () => {
  const page = await signedIn("admin");
  await page.getByRole("button", { name: "Pipeline" }).click();
  await page.locator("#projections tbody tr", { hasText: "ledger" }).waitFor();
  assert.ok((await page.locator("#projections tbody tr").count()) >= 7);
  // A rebuild of the profiles, asked from the page, runs to its end.
  await page.locator("#projections tbody tr", { hasText: "profiles" }).getByRole("button", { name: "Rebuild" }).click();
  await page.locator("#rebuild-status", { hasText: "profiles rebuilt" }).waitFor();
  await shoot(page, "pipeline");
  await page.getByRole("button", { name: "Ledger" }).click();
  await page.getByLabel("Wallet (the candidate's id)").fill(CANDIDATE);
  await page.getByRole("button", { name: "Show" }).click();
  await page.locator("#entries tbody tr").nth(3).waitFor();
  await page.getByRole("button", { name: "Reconcile the ledger with the store" }).click();
  await page.getByText("Clean: every wallet matches the store").waitFor();
  await shoot(page, "ledger");
  await page.close();
});

test("a tampered event fails verification, in the store and in the browser", async () => {
  const page = await signedIn("auditor");
  await page.getByRole("button", { name: "Integrity" }).click();
  await page.getByRole("button", { name: "Verify the whole store now" }).click();
  await page.locator("#verify-verdict", { hasText: "Intact" }).waitFor();
  await shoot(page, "integrity");

  // The database owner changes the first charge, with the append-only trigger off.
  execFileSync("psql", [
    DATABASE,
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    `BEGIN;
     ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete;
     UPDATE events SET payload = jsonb_set(payload, '{CreditsCharged,credits}', '1')
      WHERE aggregate_type = 'wallet' AND aggregate_id = '${CANDIDATE}' AND sequence = 2;
     ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete;
     COMMIT;`,
  ]);
  await page.getByRole("button", { name: "Verify the whole store now" }).click();
  await page.locator("#verify-verdict", { hasText: "Failing" }).waitFor();
  assert.match(await page.locator("#verify-problems").textContent(), /altered|Altered/);
  await shoot(page, "integrity-tampered");

  await page.getByRole("button", { name: "Streams" }).click();
  await page.getByLabel("Type", { exact: true }).selectOption("wallet");
  await page.getByLabel("Id", { exact: true }).fill(CANDIDATE);
  await page.getByRole("button", { name: "Open" }).click();
  await page.locator("#events tbody tr").nth(1).getByRole("button", { name: "Verify" }).click();
  await page.getByText("Failing: its hash does not match its content").waitFor();
  await page.close();
});

test("an admin exports a candidate and erases it after typing its id", async () => {
  const page = await signedIn("admin");
  await page.getByRole("button", { name: "People" }).click();
  await page.getByLabel("Candidate id").fill(CANDIDATE);
  await page.getByRole("button", { name: "Export their data" }).click();
  await page.locator("#export", { hasText: "Ada Lovelace" }).waitFor();
  await page.getByRole("button", { name: "Erase this candidate" }).click();
  await page.getByText("Type the candidate's id exactly to confirm the erasure.").waitFor();
  await page.getByLabel("Type the candidate's id to confirm").fill(CANDIDATE);
  await page.getByRole("button", { name: "Erase this candidate" }).click();
  await page.getByText(`Candidate ${CANDIDATE} was erased.`).waitFor();
  await page.locator("#export", { hasText: "CandidateErased" }).waitFor();
  assert.ok(!(await page.locator("#export").textContent()).includes("Ada Lovelace"));
  await shoot(page, "people-erased");
  await page.close();
});

test("the API reference renders from the binary", async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  // Redoc asks for its logo from its CDN; the page's policy blocks it, so no answer from
  // anywhere but this server ever arrives.
  const elsewhere = [];
  page.on("response", (response) => {
    const url = response.url();
    // The search worker Redoc makes from a blob of this page is this server's too.
    if (!url.startsWith(BASE) && !url.startsWith(`blob:${BASE}`)) elsewhere.push(url);
  });
  await page.goto(`${BASE}/docs`);
  await page.getByText("Hirestream API").first().waitFor();
  await page.getByText("Notifications", { exact: true }).first().waitFor();
  assert.deepEqual(elsewhere, [], "nothing is fetched from elsewhere");
  await page.screenshot({ path: `${SCREENSHOTS}/docs.png` });
  await page.close();
});
