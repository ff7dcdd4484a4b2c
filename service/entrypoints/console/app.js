// The auditor console: every figure on it comes from /graphql with the caller's token.
import { allPages, claims, gql, signIn, signOut, signedIn } from "./api.js";
import { KINDS, draw, isoDay, legend, model } from "./lanes.js";
import { courtPanel } from "./court.js";

const $ = (id) => document.getElementById(id);
const text = (tag, content, className) => {
  const node = document.createElement(tag);
  if (content !== undefined && content !== null) node.textContent = String(content);
  if (className) node.className = className;
  return node;
};
const when = (iso) => (iso ? iso.replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, " UTC") : null);

const state = { role: null, search: null, cursors: [], family: null };

// --- signing in and out -------------------------------------------------------------------

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("token").value;
  signIn(token);
  $("signin-error").textContent = "";
  try {
    await gql("{ __typename }");
  } catch (e) {
    signOut();
    $("signin-error").textContent = `Not signed in: ${e.message}`;
    return;
  }
  $("token").value = "";
  const who = claims();
  state.role = who.role || null;
  document.body.dataset.role = state.role || "";
  $("who").textContent = `${who.sub ?? "unknown"} · ${state.role ?? "unknown role"}`;
  $("who").hidden = false;
  $("signout").hidden = false;
  $("signin").hidden = true;
  $("app").hidden = false;
  const analyst = state.role === "analyst";
  $("tab-families").hidden = analyst || state.role === "admin";
  $("tab-court").hidden = !["auditor", "analyst", "caseworker", "counsel"].includes(state.role);
  $("nothing").hidden = state.role !== "admin";
  if (state.role === "admin") {
    for (const panel of document.querySelectorAll(".panel")) panel.hidden = true;
    return;
  }
  show(analyst ? "court-panel" : "families-panel");
  (analyst ? $("court-from") : $("search")).focus();
});

$("signout").addEventListener("click", () => {
  signOut();
  window.location.reload(); // nothing of the session outlives it
});

// --- tabs ---------------------------------------------------------------------------------

function show(panelId) {
  for (const tab of document.querySelectorAll(".tabs button")) {
    const on = tab.dataset.panel === panelId;
    if (on) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
    $(tab.dataset.panel).hidden = !on;
  }
}
for (const tab of document.querySelectorAll(".tabs button")) {
  tab.addEventListener("click", () => show(tab.dataset.panel));
}

// --- search -------------------------------------------------------------------------------

const FAMILIES = `query($search: String, $first: Int!, $after: String) {
  families(search: $search, first: $first, after: $after) {
    edges { node { familyId caseNumber status openedAt version members { name role } } }
    pageInfo { hasNextPage endCursor }
  } }`;

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.search = $("search").value.trim() || null;
  state.cursors = [null];
  searchPage();
});
$("results-next").addEventListener("click", () => {
  state.cursors.push(state.next);
  searchPage();
});
$("results-prev").addEventListener("click", () => {
  state.cursors.pop();
  searchPage();
});

async function searchPage() {
  const status = $("search-status");
  status.textContent = "Searching…";
  const after = state.cursors[state.cursors.length - 1];
  let page;
  try {
    page = (await gql(FAMILIES, { search: state.search, first: 20, after })).families;
  } catch (e) {
    status.textContent = `Search failed: ${e.message}`;
    return;
  }
  const body = $("results").tBodies[0];
  body.replaceChildren();
  for (const { node } of page.edges) {
    const row = document.createElement("tr");
    const open = text("button", node.caseNumber, "link");
    open.type = "button";
    open.addEventListener("click", () => openFamily(node.familyId));
    const first = document.createElement("td");
    first.append(open);
    row.append(
      first,
      text("td", node.status),
      text("td", node.openedAt ? node.openedAt.slice(0, 10) : "unknown"),
      text("td", node.members.map((m) => m.name || `${m.role.toLowerCase()} (withheld)`).join(", ")),
      text("td", node.version),
    );
    body.append(row);
  }
  const n = page.edges.length;
  const families = n === 1 ? "family" : "families";
  status.textContent = n ? `${n} ${families} on page ${state.cursors.length}.` : "No family found.";
  $("results").hidden = n === 0;
  state.next = page.pageInfo.endCursor;
  $("results-pager").hidden = !(page.pageInfo.hasNextPage || state.cursors.length > 1);
  $("results-next").disabled = !page.pageInfo.hasNextPage;
  $("results-prev").disabled = state.cursors.length <= 1;
  if (n === 1 && state.cursors.length === 1) openFamily(page.edges[0].node.familyId);
}

// Caseworkers and counsel page by 100 at most, auditors by 500 (schema/limits.py).
const pageSize = () => (state.role === "auditor" ? 500 : 100);

// --- a family -----------------------------------------------------------------------------

const FAMILY = `query($id: UUID!) { family(id: $id) {
  familyId caseNumber status openedAt version updatedAt stale staleReadModels
  members { personId role name sex birthDate age country aNumber status facilityName }
  dataQualityFlags { version rule detail }
} }`;
const TIMELINE = `query($id: UUID!, $first: Int!, $after: String) {
  timeline(familyId: $id, first: $first, after: $after) {
    edges { node { version eventType summary occurredAt recordedAt actor role source reason
                   amends amendedBy } }
    pageInfo { hasNextPage endCursor } } }`;
// What the lanes draw of each member: the events that begin or mark a state, and the
// amendments (a retracted event is not drawn).
const MEMBER_ENTRIES = `query($id: UUID!, $member: UUID!, $types: [String!], $first: Int!, $after: String) {
  timeline(familyId: $id, filter: { memberId: $member, eventTypes: $types }, first: $first, after: $after) {
    edges { node { version eventType occurredAt recordedAt amends } }
    pageInfo { hasNextPage endCursor } } }`;

async function openFamily(id) {
  const article = $("family");
  article.hidden = false;
  $("family-title").textContent = "Loading the family…";
  $("timeline").tBodies[0].replaceChildren();
  $("lanes").replaceChildren();
  $("verification").replaceChildren();
  $("bundle").hidden = true;
  $("asof").replaceChildren();
  $("diff").replaceChildren();
  let family;
  try {
    family = (await gql(FAMILY, { id })).family;
  } catch (e) {
    $("family-title").textContent = `This family cannot be shown: ${e.message}`;
    return;
  }
  if (!family) {
    $("family-title").textContent = "No such family.";
    return;
  }
  state.family = family;
  $("family-title").textContent = `Case ${family.caseNumber}`;
  $("family-title").focus();
  $("family-facts").textContent =
    `${family.status} · opened ${family.openedAt ? family.openedAt.slice(0, 10) : "on an unknown day"}` +
    ` · ${family.version} entries · family id ${family.familyId}`;
  $("family-stale").hidden = !family.stale;
  $("family-stale").textContent = family.stale
    ? `Some events wait for a fix: ${family.staleReadModels.join(", ")} stop before them.`
    : "";
  const auditor = state.role === "auditor";
  $("proof").hidden = !auditor;
  $("reads").hidden = !auditor;
  $("clocks").hidden = !auditor;
  $("clocks-off").hidden = auditor;
  // The timeline and each member's lane are asked for at once; rows show as pages come.
  // The first page of entries goes first (the first render); then the lanes and the rest.
  let firstShown;
  const shown = new Promise((resolve) => {
    firstShown = resolve;
  });
  const timeline = loadTimeline(family, firstShown);
  await shown;
  await Promise.all([timeline, loadLanes(family)]);
  // The lanes' tooltips take each entry's sentence from the timeline, once it is all here.
  const sentences = new Map(state.entries.map((e) => [e.version, e.summary]));
  for (const lane of state.lanes.lanes) {
    for (const item of [...lane.bars, ...lane.ticks, ...lane.undated]) {
      const e = item.entry ?? item;
      e.summary = sentences.get(e.version) ?? e.summary;
    }
  }
  draw($("lanes"), state.lanes);
  if (auditor) setUpClocks();
  if (auditor) {
    state.readCursors = [null];
    readsPage();
  }
}

async function loadTimeline(family, firstShown = () => {}) {
  const status = $("timeline-status");
  status.textContent = "Loading the timeline…";
  const flags = new Map();
  for (const f of family.dataQualityFlags) {
    if (!flags.has(f.version)) flags.set(f.version, []);
    flags.get(f.version).push(f);
  }
  const body = $("timeline").tBodies[0];
  const entries = [];
  let expected = 1;
  let withheld = 0;
  // Versions missing between the entries shown were recorded but may not be read.
  const gapTo = (rows, version) => {
    for (; expected < version; expected++) {
      rows.append(withheldRow(expected));
      withheld++;
    }
  };
  let after = null;
  // A first page of 100 shows at once; the rest follows in the largest pages the role may ask.
  let first = 100;
  try {
    for (;;) {
      const page = (await gql(TIMELINE, { id: family.familyId, first, after })).timeline;
      first = pageSize();
      const rows = document.createDocumentFragment();
      for (const { node } of page.edges) {
        gapTo(rows, node.version);
        rows.append(entryRow(node, flags.get(node.version) || []));
        expected = node.version + 1;
        entries.push(node);
      }
      if (!page.pageInfo.hasNextPage) gapTo(rows, family.version + 1);
      body.append(rows);
      firstShown();
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
  } catch (e) {
    status.textContent = `The timeline cannot be shown to you: ${e.message}`;
    state.entries = entries;
    firstShown();
    return;
  }
  status.textContent =
    `${entries.length} entries` + (withheld ? `; ${withheld} withheld from your role` : "") + ".";
  state.entries = entries;
}

function withheldRow(version) {
  const row = document.createElement("tr");
  row.className = "withheld";
  row.id = `entry-${version}`;
  row.append(text("td", version));
  const cell = text("td", "Withheld: an entry your role may not read (8 CFR 208.6 or counsel scope).");
  cell.colSpan = 6;
  row.append(cell);
  return row;
}

function versionLink(version, label) {
  const a = text("a", label);
  a.href = `#entry-${version}`;
  return a;
}

function entryRow(e, flags) {
  const row = document.createElement("tr");
  row.id = `entry-${e.version}`;
  if (e.amendedBy.length) row.classList.add("amended");
  if (e.amends) row.classList.add("amendment");
  const what = document.createElement("td");
  const summary = text(e.amendedBy.length ? "del" : "span", e.summary, "summary");
  what.append(text("span", e.eventType, "etype"), document.createTextNode(" "), summary);
  const source = document.createElement("td");
  source.append(text("span", e.source, "source"));
  if (e.reason) source.append(text("span", e.reason, "reason"));
  const notes = document.createElement("td");
  if (e.amends) {
    notes.append(document.createTextNode("amends "), versionLink(e.amends, `#${e.amends}`), text("br"));
  }
  for (const v of e.amendedBy) {
    notes.append(text("span", "amended by ", "struck-note"), versionLink(v, `#${v}`), text("br"));
  }
  for (const f of flags) {
    const flag = text("span", `⚑ ${f.rule}`, "flag");
    flag.title = f.detail;
    notes.append(flag, text("span", ` ${f.detail}`, "flag-detail"), text("br"));
  }
  row.append(
    text("td", e.version),
    what,
    text("td", e.occurredAt ? when(e.occurredAt) : "date unknown", e.occurredAt ? "" : "unknown-date"),
    text("td", when(e.recordedAt)),
    text("td", `${e.actor} (${e.role})`),
    source,
    notes,
  );
  return row;
}

// --- where everyone was, on both clocks -----------------------------------------------------

async function loadLanes(family) {
  const types = [...Object.keys(KINDS), "EntryRetracted"];
  const byMember = new Map();
  const retracted = new Set();
  try {
    await Promise.all(
      family.members.map(async (m) => {
        const found = await allPages(
          MEMBER_ENTRIES,
          { id: family.familyId, member: m.personId, types },
          (d) => d.timeline,
          pageSize(),
        );
        for (const e of found) if (e.eventType === "EntryRetracted" && e.amends) retracted.add(e.amends);
        byMember.set(m.personId, found);
      }),
    );
  } catch {
    // A role that may not read the timeline sees lanes without events.
  }
  state.lanes = model(family.members, byMember, retracted);
  state.marker = null;
  state.visible = () => true;
  legend($("legend"));
  draw($("lanes"), state.lanes);
}

function clock() {
  return document.querySelector('input[name="clock"]:checked').value;
}

function setUpClocks() {
  const slider = $("marker");
  state.recordedTimes = [...new Set(state.entries.map((e) => e.recordedAt))].sort();
  state.points = { a: null, b: null };
  $("compare").disabled = true;
  $("points").textContent = "";
  configureSlider();
  // The picture follows the marker at once; the replay is asked for once it rests.
  let resting = null;
  slider.oninput = () => {
    pointChanged(false);
    clearTimeout(resting);
    resting = setTimeout(() => pointChanged(true), 350);
  };
  slider.onchange = slider.oninput;
  for (const radio of document.querySelectorAll('input[name="clock"]')) {
    radio.onchange = () => {
      configureSlider();
      pointChanged(true);
    };
  }
  pointChanged(true);
}

function configureSlider() {
  const slider = $("marker");
  if (clock() === "occurred") {
    const days = Math.round((state.lanes.hi - state.lanes.lo) / 86400000);
    slider.max = String(days);
    slider.value = String(days);
    $("marker-label").textContent = "Day it happened";
  } else {
    slider.max = String(Math.max(0, state.recordedTimes.length - 1));
    slider.value = slider.max;
    $("marker-label").textContent = "Moment recorded";
  }
}

// The point the slider stands at: {occurredAt: day} or {recordedAt: moment}.
function point() {
  const value = Number($("marker").value);
  if (clock() === "occurred") return { occurredAt: isoDay(state.lanes.lo + value * 86400000) };
  return { recordedAt: state.recordedTimes[value] };
}

function label(p) {
  return p.occurredAt ? `happened by ${p.occurredAt}` : `recorded by ${when(p.recordedAt)}`;
}

let pending = 0;
async function pointChanged(fetchState) {
  const p = point();
  $("marker-value").textContent = label(p);
  if (p.occurredAt) {
    state.marker = Date.parse(p.occurredAt + "T00:00:00Z");
    state.visible = (e) => Boolean(e.occurredAt) && e.occurredAt.slice(0, 10) <= p.occurredAt;
  } else {
    state.marker = null;
    state.visible = (e) => e.recordedAt <= p.recordedAt;
  }
  draw($("lanes"), state.lanes, { marker: state.marker, visible: state.visible });
  if (!fetchState) return;
  const ticket = ++pending;
  try {
    const data = await gql(AS_OF, { id: state.family.familyId, ...p });
    if (ticket === pending) renderAsOf(data.familyAsOf, p);
  } catch (e) {
    if (ticket !== pending) return;
    const wait = e.code === "RATE_LIMITED" ? " (too many replays this minute: wait, then move the marker)" : "";
    $("asof").replaceChildren(text("p", `Replay failed: ${e.message}${wait}`, "error"));
  }
}

const MEMBER_AS_OF = "personId role name status facilityName";
const AS_OF = `query($id: UUID!, $occurredAt: Date, $recordedAt: DateTime) {
  familyAsOf(id: $id, occurredAt: $occurredAt, recordedAt: $recordedAt) {
    status version eventsRecorded eventsCounted
    members { ${MEMBER_AS_OF} }
    parents { parentId custody facilityName removedTo removedAt releasedAt returnedAt situation }
    children { childId status facilityName separatedAt placedAt dischargedAt }
    flags { version rule detail } } }`;

function renderAsOf(c, p) {
  const host = $("asof");
  if (!c) {
    host.replaceChildren(text("p", `Nothing of the case was recorded ${label(p)}.`));
    return;
  }
  const parents = new Map(c.parents.map((x) => [x.parentId, x]));
  const children = new Map(c.children.map((x) => [x.childId, x]));
  const list = document.createElement("ul");
  for (const m of c.members) {
    const parent = parents.get(m.personId);
    const child = children.get(m.personId);
    let where = m.status || "";
    if (child && child.facilityName) where += ` at ${child.facilityName}`;
    if (parent) {
      if (parent.removedTo && !parent.returnedAt) where = `removed to ${parent.removedTo}`;
      else if (parent.custody) where = `${parent.custody} custody${parent.facilityName ? ` at ${parent.facilityName}` : ""}`;
      else where = parent.situation.toLowerCase().replace(/_/g, " ");
    }
    list.append(text("li", `${m.name || m.role + " (withheld)"}: ${where || "unknown"}`));
  }
  host.replaceChildren(
    text("h4", `The case ${label(p)}: ${c.status}`),
    text("p", `${c.eventsCounted} of ${c.eventsRecorded} recorded events count at this point (version ${c.version}).`),
    list,
  );
}

function setPoint(which) {
  state.points[which] = point();
  const { a, b } = state.points;
  $("points").textContent = [a && `A: ${label(a)}`, b && `B: ${label(b)}`].filter(Boolean).join(" · ");
  $("compare").disabled = !(a && b);
}
$("mark-a").addEventListener("click", () => setPoint("a"));
$("mark-b").addEventListener("click", () => setPoint("b"));

const DIFF = `query($id: UUID!, $from: CasePoint!, $to: CasePoint!) {
  familyDiff(id: $id, from: $from, to: $to) {
    case { field before after }
    members { personId role name presentBefore presentAfter changes { field before after } }
    flagsRaised { version rule detail } flagsCleared { version rule detail }
    events { version eventType summary occurredAt } withdrawn { version eventType summary } } }`;

$("compare").addEventListener("click", async () => {
  const host = $("diff");
  host.replaceChildren(text("p", "Comparing…"));
  let d;
  try {
    d = (await gql(DIFF, { id: state.family.familyId, from: state.points.a, to: state.points.b })).familyDiff;
  } catch (e) {
    host.replaceChildren(text("p", `Comparison failed: ${e.message}`, "error"));
    return;
  }
  const items = document.createElement("ul");
  for (const c of d.case) items.append(text("li", `case ${c.field}: ${c.before ?? "—"} → ${c.after ?? "—"}`));
  for (const m of d.members) {
    for (const c of m.changes) items.append(text("li", `${m.name || m.role} ${c.field}: ${c.before ?? "—"} → ${c.after ?? "—"}`));
  }
  for (const f of d.flagsRaised) items.append(text("li", `flag raised on #${f.version}: ${f.rule}`));
  for (const f of d.flagsCleared) items.append(text("li", `flag cleared on #${f.version}: ${f.rule}`));
  for (const e of d.events) items.append(text("li", `+ #${e.version} ${e.eventType}: ${e.summary}`));
  for (const e of d.withdrawn) items.append(text("li", `− #${e.version} ${e.eventType}: ${e.summary}`));
  if (!items.children.length) items.append(text("li", "Nothing changed."));
  host.replaceChildren(text("h4", `From A (${label(state.points.a)}) to B (${label(state.points.b)})`), items);
});

// --- proof --------------------------------------------------------------------------------

const VERIFY = `query($id: UUID!) { verifyFamily(id: $id) {
  ok events proven unproven signerChecked checkpointFailure seconds
  checkpoint { id keyId createdAt eventCount root }
  firstBreak { version position what } } }`;

$("verify").addEventListener("click", async () => {
  const host = $("verification");
  host.replaceChildren(text("p", "Verifying…"));
  let v;
  try {
    v = (await gql(VERIFY, { id: state.family.familyId })).verifyFamily;
  } catch (e) {
    host.replaceChildren(text("p", `Verification failed to run: ${e.message}`, "error"));
    return;
  }
  const verdict = text("p", v.ok ? "✔ Chain intact" : "✘ Broken", v.ok ? "verdict ok" : "verdict broken");
  verdict.id = "verdict";
  const facts = document.createElement("dl");
  const fact = (k, value) => facts.append(text("dt", k), text("dd", value));
  fact("Events", `${v.events}: ${v.proven} proven in the checkpoint, ${v.unproven} newer than it`);
  if (v.checkpoint) {
    fact("Signed checkpoint", `#${v.checkpoint.id} of ${when(v.checkpoint.createdAt)}, over ${v.checkpoint.eventCount} events`);
    fact("Signing key id", v.checkpoint.keyId);
    fact("Signer", v.signerChecked ? "checked against the configured keys" : "checked against the key stored with it (integrity, not signer)");
  } else {
    fact("Signed checkpoint", "none covers this family yet");
  }
  if (v.firstBreak) {
    const dd = document.createElement("dd");
    dd.append(
      document.createTextNode("entry "),
      versionLink(v.firstBreak.version, `#${v.firstBreak.version}`),
      document.createTextNode(` (position ${v.firstBreak.position}): ${v.firstBreak.what}`),
    );
    facts.append(text("dt", "First bad entry"), dd);
  }
  if (v.checkpointFailure) fact("Checkpoint", v.checkpointFailure);
  host.replaceChildren(verdict, facts);
  const file = `family-${state.family.familyId}.json`;
  $("verify-command").textContent = `reunite verify-bundle ${file} --public-key verify-key.pem`;
  $("bundle").hidden = !v.ok;
});

$("download-bundle").addEventListener("click", async () => {
  const button = $("download-bundle");
  button.disabled = true;
  try {
    const data = await gql("query($id: UUID!) { familyBundle(id: $id) }", { id: state.family.familyId });
    const blob = new Blob([JSON.stringify(data.familyBundle, null, 2) + "\n"], { type: "application/json" });
    download(blob, `family-${state.family.familyId}.json`);
  } catch (e) {
    $("verification").append(text("p", `No bundle: ${e.message}`, "error"));
  } finally {
    button.disabled = false;
  }
});

export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// --- who read this family -------------------------------------------------------------------

const READS = `query($id: UUID!, $after: String) {
  accessLog(familyId: $id, first: 20, after: $after) {
    edges { node { id readAt subject role operation } } pageInfo { hasNextPage endCursor } } }`;

async function readsPage() {
  const status = $("reads-status");
  let page;
  try {
    const after = state.readCursors[state.readCursors.length - 1];
    page = (await gql(READS, { id: state.family.familyId, after })).accessLog;
  } catch (e) {
    status.textContent = `The access log cannot be shown: ${e.message}`;
    return;
  }
  const body = $("reads-table").tBodies[0];
  body.replaceChildren(
    ...page.edges.map(({ node }) => {
      const row = document.createElement("tr");
      row.append(text("td", node.id), text("td", when(node.readAt)), text("td", node.subject), text("td", node.role), text("td", node.operation));
      return row;
    }),
  );
  $("reads-table").hidden = page.edges.length === 0;
  status.textContent = page.edges.length ? `Page ${state.readCursors.length} of the reads.` : "No reads recorded.";
  state.readsNext = page.pageInfo.endCursor;
  $("reads-next").disabled = !page.pageInfo.hasNextPage;
  $("reads-prev").disabled = state.readCursors.length <= 1;
}
$("reads-next").addEventListener("click", () => {
  state.readCursors.push(state.readsNext);
  readsPage();
});
$("reads-prev").addEventListener("click", () => {
  state.readCursors.pop();
  readsPage();
});

window.addEventListener("resize", () => {
  if (state.lanes) draw($("lanes"), state.lanes, { marker: state.marker, visible: state.visible });
});

courtPanel({ gql, text, download });
if (signedIn()) signOut();
