// Court figures over time: courtReport(asOf:) on each month end of a range, as a chart, a
// table and a CSV file. Month ends, because analysts may ask only those (ADR 0013).

const SVG = "http://www.w3.org/2000/svg";
const REPORT = `query($d: Date!) { courtReport(asOf: $d) {
  asOf children { total under5 }
  inCare { total { total under5 } removed { total } iceCustody { total }
           criminalCustody { total } releasedInterior { total } locationUnknown { total }
           ineligible { total } waived { total } } } }`;

export const SERIES = [
  ["inCare", "In care", (r) => r.inCare.total.total],
  ["under5", "In care, under 5", (r) => r.inCare.total.under5],
  ["removed", "Parent removed", (r) => r.inCare.removed.total],
  ["iceCustody", "Parent in ICE custody", (r) => r.inCare.iceCustody.total],
  ["criminalCustody", "Parent in criminal custody", (r) => r.inCare.criminalCustody.total],
  ["releasedInterior", "Parent released in the US", (r) => r.inCare.releasedInterior.total],
  ["locationUnknown", "Parent's location unknown", (r) => r.inCare.locationUnknown.total],
  ["ineligible", "Parent ineligible", (r) => r.inCare.ineligible.total],
  ["waived", "Reunification waived", (r) => r.inCare.waived.total],
];

export function monthEnds(from, to) {
  const ends = [];
  const start = new Date(from + "T00:00:00Z");
  const stop = Date.parse(to + "T00:00:00Z");
  for (let y = start.getUTCFullYear(), m = start.getUTCMonth(); ; m++) {
    const end = Date.UTC(y, m + 1, 0);
    if (end > stop) break;
    ends.push(new Date(end).toISOString().slice(0, 10));
    if (ends.length > 60) break; // five years of month ends at most
  }
  return ends;
}

function el(name, attrs = {}, content = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (content !== null) node.textContent = content;
  return node;
}

function chart(host, rows) {
  const width = 560;
  const height = 300;
  const pad = { l: 44, r: 10, t: 10, b: 40 };
  const max = Math.max(1, ...rows.flatMap((r) => SERIES.map(([, , f]) => f(r))));
  const x = (i) => pad.l + (rows.length < 2 ? 0 : (i / (rows.length - 1)) * (width - pad.l - pad.r));
  const y = (v) => height - pad.b - (v / max) * (height - pad.t - pad.b);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": "Children in care by month end; the figures are in the table beside the chart" });
  const step = Math.max(1, Math.ceil(max / 4));
  for (let v = 0; v <= max; v += step) {
    svg.append(el("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), class: "gridline" }));
    svg.append(el("text", { x: pad.l - 4, y: y(v) + 4, class: "ylabel" }, String(v)));
  }
  rows.forEach((r, i) => {
    if (rows.length <= 12 || i % Math.ceil(rows.length / 12) === 0) {
      svg.append(el("text", { x: x(i), y: height - pad.b + 16, class: "xlabel" }, r.asOf.slice(0, 7)));
    }
  });
  SERIES.forEach(([key, label, f]) => {
    const points = rows.map((r, i) => `${x(i)},${y(f(r))}`).join(" ");
    const line = el("polyline", { points, class: `series s-${key}` });
    line.append(el("title", {}, label));
    svg.append(line);
  });
  const legend = document.createElement("ul");
  legend.className = "chart-legend";
  for (const [key, label] of SERIES) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch s-${key}`;
    li.append(swatch, document.createTextNode(label));
    legend.append(li);
  }
  const caption = host.querySelector("figcaption");
  host.replaceChildren(svg, legend, caption);
}

function table(rows) {
  const t = document.getElementById("court-table");
  const head = document.createElement("tr");
  for (const label of ["Month end", "Children", "Under 5", ...SERIES.map(([, l]) => l)]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = label;
    head.append(th);
  }
  t.tHead.replaceChildren(head);
  t.tBodies[0].replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = r.asOf;
      tr.append(th);
      for (const v of [r.children.total, r.children.under5, ...SERIES.map(([, , f]) => f(r))]) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    }),
  );
  t.hidden = rows.length === 0;
}

function csv(rows) {
  const head = ["as_of", "children", "children_under_5", ...SERIES.map(([k]) => k)];
  const lines = rows.map((r) => [r.asOf, r.children.total, r.children.under5, ...SERIES.map(([, , f]) => f(r))].join(","));
  return [head.join(","), ...lines].join("\n") + "\n";
}

export function courtPanel({ gql, download }) {
  let rows = [];
  const status = document.getElementById("court-status");
  document.getElementById("court-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ends = monthEnds(document.getElementById("court-from").value, document.getElementById("court-to").value);
    if (!ends.length) {
      status.textContent = "The range holds no month end.";
      return;
    }
    status.textContent = `Asking for ${ends.length} month ends…`;
    const found = new Array(ends.length);
    let next = 0;
    try {
      // Four at a time: each is one request, answered from the read models.
      await Promise.all(
        [0, 1, 2, 3].map(async () => {
          while (next < ends.length) {
            const i = next++;
            found[i] = (await gql(REPORT, { d: ends[i] })).courtReport;
          }
        }),
      );
    } catch (e) {
      status.textContent = `The figures cannot be shown: ${e.message}`;
      return;
    }
    rows = found;
    chart(document.getElementById("court-chart"), rows);
    table(rows);
    status.textContent = `${rows.length} month ends, ${rows[0].asOf} to ${rows[rows.length - 1].asOf}.`;
    document.getElementById("court-csv").disabled = false;
  });
  document.getElementById("court-csv").addEventListener("click", () => {
    download(new Blob([csv(rows)], { type: "text/csv" }), "court-figures.csv");
  });
}
