// "Where everyone was": one lane per member, drawn as SVG from the timeline entries that name
// each member. A state begins at a dated event and lasts until the member's next state; an
// event with no known day is never placed on the axis, and a state it ends is drawn striped.

const SVG = "http://www.w3.org/2000/svg";
const DAY = 86400000;

// What each kind of event begins (a bar) or marks (a tick), and how it is drawn.
export const KINDS = {
  Apprehended: { state: "custody", label: "apprehended, in CBP custody" },
  Separated: { tick: "separation", label: "separated" },
  ChildReferred: { state: "referred", label: "referred to ORR" },
  ChildPlaced: { state: "care", label: "in an ORR facility" },
  ChildTransferred: { state: "care", label: "in an ORR facility" },
  ParentDetained: { state: "detention", label: "detained" },
  ParentTransferred: { state: "detention", label: "detained" },
  ParentReleased: { state: "released", label: "released" },
  ParentRemoved: { state: "removed", label: "removed" },
  ParentReturned: { state: "released", label: "returned to the US" },
  ContactEstablished: { tick: "contact", label: "contact" },
  Reunified: { state: "reunified", label: "reunified" },
  ChildDischarged: { state: "discharged", label: "discharged" },
};

export const LEGEND = [
  ["custody", "CBP custody"],
  ["referred", "referred"],
  ["care", "ORR facility"],
  ["detention", "parent detained"],
  ["released", "released or returned"],
  ["removed", "removed"],
  ["reunified", "reunified"],
  ["discharged", "discharged"],
  ["separation", "separation"],
  ["contact", "contact established"],
];

// The entry's sentence when the timeline gave it, else what its kind of event means.
const said = (e) => e.summary ?? `${e.eventType}: ${KINDS[e.eventType]?.label ?? ""}`;

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

const dayOf = (iso) => Date.parse(iso.slice(0, 10) + "T00:00:00Z");
export const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

// The lanes' model: for each member, its bars, ticks and undated entries; and the day range.
export function model(members, entriesByMember, retracted) {
  let lo = Infinity;
  let hi = -Infinity;
  const lanes = members.map((m) => {
    const entries = (entriesByMember.get(m.personId) || []).filter((e) => !retracted.has(e.version));
    const dated = entries.filter((e) => e.occurredAt).sort((a, b) => dayOf(a.occurredAt) - dayOf(b.occurredAt) || a.version - b.version);
    const undated = entries.filter((e) => !e.occurredAt && (KINDS[e.eventType]));
    for (const e of dated) {
      lo = Math.min(lo, dayOf(e.occurredAt));
      hi = Math.max(hi, dayOf(e.occurredAt));
    }
    const bars = [];
    const ticks = [];
    for (const e of dated) {
      const kind = KINDS[e.eventType];
      if (!kind) continue;
      if (kind.tick) {
        ticks.push({ day: dayOf(e.occurredAt), kind: kind.tick, entry: e });
        continue;
      }
      const open = bars[bars.length - 1];
      if (open && open.end === null) open.end = dayOf(e.occurredAt);
      bars.push({ start: dayOf(e.occurredAt), end: null, kind: kind.state, entry: e });
    }
    // A state ended by an event of no known day: the bar's end is unknown, not invented.
    const last = bars[bars.length - 1];
    if (last && undated.some((u) => KINDS[u.eventType].state && u.version > last.entry.version)) {
      last.unknownEnd = true;
    }
    return { member: m, bars, ticks, undated };
  });
  if (lo === Infinity) {
    lo = Date.now();
    hi = lo;
  }
  return { lanes, lo, hi: Math.max(hi, lo + 30 * DAY) + 7 * DAY };
}

// Draw the model into `host`; `visible(entry)` fades entries the chosen point leaves out.
export function draw(host, m, { marker = null, visible = () => true } = {}) {
  const laneHeight = 34;
  const left = 170;
  const unknownWidth = 110;
  const width = Math.max(host.clientWidth || 900, 640);
  const plot = width - left - unknownWidth - 16;
  const top = 26;
  const height = top + m.lanes.length * laneHeight + 8;
  const x = (day) => left + ((day - m.lo) / (m.hi - m.lo)) * plot;
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    role: "img",
    "aria-labelledby": "lanes-title lanes-desc",
    class: "lanes-svg",
  });
  svg.append(el("desc", { id: "lanes-desc" }, describe(m)));
  // Axis: month ticks.
  const axis = el("g", { class: "axis" });
  const start = new Date(m.lo);
  for (let d = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1); d <= m.hi; ) {
    axis.append(el("line", { x1: x(d), x2: x(d), y1: top - 6, y2: height - 4 }));
    axis.append(el("text", { x: x(d) + 2, y: top - 10 }, isoDay(d).slice(0, 7)));
    const next = new Date(d);
    d = Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 1);
  }
  axis.append(el("text", { x: left + plot + 12, y: top - 10 }, "date unknown"));
  svg.append(axis);

  m.lanes.forEach((lane, i) => {
    const y = top + i * laneHeight;
    const g = el("g", { class: "lane" });
    const name = lane.member.name || `${lane.member.role} (name withheld)`;
    g.append(el("text", { x: 4, y: y + 20, class: "lane-name" }, `${name}`));
    g.append(el("text", { x: 4, y: y + 31, class: "lane-role" }, lane.member.role));
    g.append(el("line", { x1: left, x2: left + plot, y1: y + 16, y2: y + 16, class: "lane-base" }));
    for (const bar of lane.bars) {
      const end = bar.end ?? (bar.unknownEnd ? bar.start + 21 * DAY : m.hi);
      const rect = el("rect", {
        x: x(bar.start),
        y: y + 6,
        width: Math.max(3, x(end) - x(bar.start)),
        height: 20,
        rx: 3,
        class: `bar k-${bar.kind}${bar.unknownEnd ? " unknown-end" : ""}${visible(bar.entry) ? "" : " faded"}`,
      });
      rect.append(el("title", {}, `${said(bar.entry)} (${bar.entry.occurredAt.slice(0, 10)}${bar.unknownEnd ? ", ended on an unknown day" : ""})`));
      g.append(rect);
    }
    for (const tick of lane.ticks) {
      const mark = el("path", {
        d: `M ${x(tick.day)} ${y + 2} l 6 6 l -6 6 l -6 -6 z`,
        class: `tick k-${tick.kind}${visible(tick.entry) ? "" : " faded"}`,
      });
      mark.append(el("title", {}, `${said(tick.entry)} (${tick.entry.occurredAt.slice(0, 10)})`));
      g.append(mark);
    }
    lane.undated.forEach((u, j) => {
      const mark = el("text", {
        x: left + plot + 14 + j * 14,
        y: y + 21,
        class: `unknown${visible(u) ? "" : " faded"}`,
      }, "?");
      mark.append(el("title", {}, `${said(u)} (date unknown)`));
      g.append(mark);
    });
    svg.append(g);
  });
  if (marker !== null) {
    svg.append(el("line", { x1: x(marker), x2: x(marker), y1: top - 4, y2: height, class: "marker" }));
  }
  host.replaceChildren(svg);
}

// The picture in words, for screen readers.
function describe(m) {
  return m.lanes
    .map((lane) => {
      const name = lane.member.name || lane.member.role;
      const parts = lane.bars.map((b) => `${KINDS[b.entry.eventType].label} from ${isoDay(b.start)}${b.end ? ` to ${isoDay(b.end)}` : b.unknownEnd ? " to an unknown day" : ""}`);
      if (lane.undated.length) parts.push(`${lane.undated.length} events on unknown days`);
      return `${name}: ${parts.join("; ") || "nothing dated"}.`;
    })
    .join(" ");
}

export function legend(host) {
  host.replaceChildren(
    ...LEGEND.map(([kind, label]) => {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = `swatch k-${kind}`;
      item.append(swatch, document.createTextNode(label));
      return item;
    }),
  );
}
