// graphql-http's GraphQL-over-HTTP audit against a running Reunite server.
//
//   REUNITE_TOKEN=<bearer token> node clients/audit.mjs http://127.0.0.1:8000/graphql
//
// Runs every server audit of graphql-http (the spec's reference suite) with the token, and
// exits 1 on any failure (MUST), warning (SHOULD) or unexpected notice (MAY). Audits whose
// documents need introspection (off in production) are skipped and replaced by stand-ins
// that check the same thing with an introspection-free document; those the server refuses
// on purpose (GET, issue #16) must come back refused. tests/e2e/test_graphql_http_audit.py
// runs it against a production-mode server.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: REUNITE_TOKEN=... node clients/audit.mjs URL');
  process.exit(2);
}
const token = process.env.REUNITE_TOKEN;

// Their documents ask for __type, which production refuses (INTROSPECTION_DISABLED).
const INTROSPECTION = 'its document asks for __type: introspection is off in production';
const SKIPPED = {
  BF61: INTROSPECTION,
  '28B9': INTROSPECTION,
  '2EA1': INTROSPECTION,
  D6D5: `${INTROSPECTION}, over GET, which is refused on purpose (issue #16)`,
  '6A70': `${INTROSPECTION}, over GET, which is refused on purpose (issue #16)`,
};
// MAY audits the server declines on purpose: queries over GET (cacheable, CSRF-prone).
const REFUSED_ON_PURPOSE = {
  '5A70': 'GET is refused (405 METHOD_NOT_ALLOWED): GraphQL is served over POST only (issue #16)',
};

async function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

function post(body, accept, contentType = 'application/json') {
  const headers = { 'content-type': contentType };
  if (accept) headers.accept = accept;
  return fetchFn(url, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function executed(res, media) {
  if (res.status !== 200) return `status ${res.status}, not 200`;
  if (!(res.headers.get('content-type') || '').includes(media)) return `not ${media}`;
  const body = await res.json();
  if (body.errors) return `errors: ${JSON.stringify(body.errors)}`;
  if (body.data?.__typename !== 'Query') return `data: ${JSON.stringify(body.data)}`;
  return null;
}

const VARIABLES = 'query Type($flag: Boolean!) { __typename @include(if: $flag) }';
// What each skipped audit checks, with a document production runs.
const STAND_INS = [
  ['BF61', 'MUST accept utf-8 encoded request', async () =>
    executed(
      await post({ query: '{ __typename } # Run🏃Swim🏊' }, null, 'application/json; charset=utf-8'),
      'application/json',
    )],
  ['28B9', 'MUST allow map {variables} parameter when accepting application/json', async () =>
    executed(await post({ query: VARIABLES, variables: { flag: true } }, 'application/json'),
      'application/json')],
  ['2EA1', 'SHOULD allow map {variables} parameter when accepting application/graphql-response+json',
    async () =>
      executed(
        await post({ query: VARIABLES, variables: { flag: true } }, 'application/graphql-response+json'),
        'application/graphql-response+json',
      )],
];

const results = [];
for (const audit of serverAudits({ url, fetchFn })) {
  if (audit.id in SKIPPED) {
    results.push({ id: audit.id, name: audit.name, status: 'skipped', reason: SKIPPED[audit.id] });
    continue;
  }
  const result = await audit.fn();
  if (result.status === 'notice' && audit.id in REFUSED_ON_PURPOSE) {
    results.push({ ...result, status: 'refused', reason: REFUSED_ON_PURPOSE[audit.id] });
  } else {
    results.push(result);
  }
}
for (const [id, name, check] of STAND_INS) {
  const failure = await check();
  results.push({
    id: `${id}*`,
    name: `${name} (stand-in without introspection)`,
    status: failure ? 'error' : 'ok',
    reason: failure ?? undefined,
  });
}

const count = (status) => results.filter((r) => r.status === status).length;
for (const r of results) {
  const why = r.reason ? ` -- ${r.reason}` : '';
  console.log(`${r.status.padEnd(7)} ${r.id} ${r.name}${why}`);
}
const summary = {
  audits: results.length - STAND_INS.length,
  ok: count('ok'),
  warn: count('warn'),
  error: count('error'),
  notice: count('notice'),
  refused: count('refused'),
  skipped: count('skipped'),
  standIns: STAND_INS.length,
};
console.log(JSON.stringify(summary));
process.exit(summary.warn || summary.error || summary.notice ? 1 : 0);
