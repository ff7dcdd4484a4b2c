// A front end's day against a running Reunite server, with Apollo Client 4 and graphql-ws:
//
//   REUNITE_TOKEN=<caseworker token> node clients/apollo_flow.mjs http://127.0.0.1:8000/graphql
//
// Lists children page by page forwards and backwards (relayStylePagination merging the
// pages in the normalised cache), opens a family, pages its timeline, subscribes to its
// events, records an entry (the result union: a VersionConflict first, then a
// CommandSuccess), reads its own write with minPosition, and checks that the cache shows
// the family's new version to the query that first read it, without refetching it; then
// refetches objects by id (node, nodes). Each step prints one line; the last line is a JSON
// summary. Any failed expectation prints `FAIL: ...` and exits 1.
// tests/e2e/test_apollo_client.py runs it against a production-mode server.
import { readFileSync } from 'node:fs';

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import { filter, firstValueFrom, from } from 'rxjs';
import WebSocket from 'ws';

const url = process.argv[2];
const token = process.env.REUNITE_TOKEN;
if (!url || !token) {
  console.error('usage: REUNITE_TOKEN=... node clients/apollo_flow.mjs URL');
  process.exit(2);
}
const PAGE = Number(process.env.REUNITE_PAGE_SIZE || 2);
const TIMEOUT_MS = 60_000;

class Failed extends Error {}
function expect(condition, message) {
  if (!condition) throw new Failed(message);
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const step = (text) => console.log(`ok      ${text}`);

// The published possible types (make schema): `... on Error` needs them on a union member.
const possibleTypes = JSON.parse(
  readFileSync(new URL('../schema/possible-types.json', import.meta.url), 'utf8'),
);

// Every HTTP request the client makes, to tell a cache read from a refetch.
let requests = 0;
const countingFetch = (input, init) => {
  requests += 1;
  return fetch(input, init);
};

const auth = new SetContextLink(({ headers }) => ({
  headers: { ...headers, authorization: `Bearer ${token}` },
}));
const http = new HttpLink({ uri: url, fetch: countingFetch });
let connected;
const socketReady = new Promise((resolve) => {
  connected = resolve;
});
const wsClient = createClient({
  url: url.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: async () => ({ authorization: `Bearer ${token}` }),
  on: { connected: () => connected() },
});
const ws = new GraphQLWsLink(wsClient);

const client = new ApolloClient({
  link: ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return (
        definition.kind === 'OperationDefinition' &&
        definition.operation === OperationTypeNode.SUBSCRIPTION
      );
    },
    ws,
    ApolloLink.from([auth, http]),
  ),
  cache: new InMemoryCache({
    possibleTypes,
    typePolicies: {
      Query: {
        fields: {
          children: relayStylePagination(['filter', 'orderBy']),
          timeline: relayStylePagination(['familyId', 'filter']),
        },
      },
    },
  }),
});

const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const CHILDREN = gql`
  query Children($first: Int, $after: String, $last: Int, $before: String) {
    children(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id childId familyId status } }
      ${PAGE_INFO}
    }
  }
`;
const COUNT = gql`query Count { children(first: 1) { totalCount } }`;
const FAMILY = gql`
  query Family($id: UUID!) {
    family(id: $id) { id familyId caseNumber status version members { id personId role status } }
  }
`;
const FAMILY_AFTER_WRITE = gql`
  query FamilyAfterWrite($id: UUID!, $position: Int!) {
    family(id: $id, minPosition: $position) { id version }
  }
`;
const TIMELINE = gql`
  query Timeline($familyId: UUID!, $first: Int, $after: String) {
    timeline(familyId: $familyId, first: $first, after: $after) {
      edges { cursor node { id version eventType summary } }
      ${PAGE_INFO}
    }
  }
`;
const EVENTS = gql`
  subscription Events($familyId: UUID!, $afterVersion: Int) {
    familyEvents(familyId: $familyId, afterVersion: $afterVersion) { id version eventType summary }
  }
`;
const FLAG = gql`
  mutation Flag($input: FlagDataQualityInput!, $expectedVersion: Int) {
    flagDataQuality(input: $input, expectedVersion: $expectedVersion) {
      __typename
      ... on CommandSuccess { familyId version position }
      ... on Error { message code }
      ... on VersionConflict { expectedVersion }
    }
  }
`;
const NODE = gql`
  query Node($id: ID!) { node(id: $id) { id __typename ... on Family { familyId version } } }
`;
const NODES = gql`
  query Nodes($ids: [ID!]!) {
    nodes(ids: $ids) { id __typename ... on Child { childId status } ... on Family { version } }
  }
`;

// The data of the first emission satisfying `test`.
async function nextMatching(observable, test, what) {
  const result = await firstValueFrom(
    from(observable).pipe(
      filter((r) => {
        if (r.error) throw new Failed(`${what}: ${r.error.message}`);
        return Boolean(r.data) && test(r.data);
      }),
    ),
  );
  return result.data;
}

async function pagesForwards() {
  const watched = client.watchQuery({ query: CHILDREN, variables: { first: PAGE } });
  let data = await nextMatching(watched, (d) => d.children, 'children, first page');
  const pages = [data.children.edges.map((e) => [e.node.childId, e.cursor])];
  const familyOf = Object.fromEntries(data.children.edges.map((e) => [e.node.id, e.node.familyId]));
  expect(!data.children.pageInfo.hasPreviousPage, 'the first page has nothing before it');
  while (data.children.pageInfo.hasNextPage) {
    const more = await watched.fetchMore({
      variables: { first: PAGE, after: data.children.pageInfo.endCursor },
    });
    const got = more.data.children;
    expect(got.pageInfo.hasPreviousPage, 'a page after a cursor has rows before it');
    pages.push(got.edges.map((e) => [e.node.childId, e.cursor]));
    data = { children: { ...got, pageInfo: got.pageInfo } };
  }
  const merged = watched.getCurrentResult().data.children.edges;
  return { pages, merged: merged.map((e) => [e.node.childId, e.cursor]), familyOf };
}

async function pagesBackwards() {
  const watched = client.watchQuery({
    query: CHILDREN,
    variables: { last: PAGE },
    fetchPolicy: 'network-only',
    nextFetchPolicy: 'cache-first',
  });
  let data = await nextMatching(
    watched,
    (d) => d.children && d.children.edges.length > 0,
    'children, last page',
  );
  expect(!data.children.pageInfo.hasNextPage, 'the last page has nothing after it');
  const pages = [data.children.edges.map((e) => [e.node.childId, e.cursor])];
  let info = data.children.pageInfo;
  while (info.hasPreviousPage) {
    const more = await watched.fetchMore({ variables: { last: PAGE, before: info.startCursor } });
    const got = more.data.children;
    expect(got.pageInfo.hasNextPage, 'a page before a cursor has rows after it');
    pages.unshift(got.edges.map((e) => [e.node.childId, e.cursor]));
    info = got.pageInfo;
  }
  const merged = watched.getCurrentResult().data.children.edges;
  return { pages, merged: merged.map((e) => [e.node.childId, e.cursor]) };
}

async function main() {
  const summary = { pageSize: PAGE };

  // 1. Children, page by page, both ways.
  // Not cached: a page of no edges would stand in the merged list's place.
  const total = (await client.query({ query: COUNT, fetchPolicy: 'no-cache' })).data.children
    .totalCount;
  expect(total > 2 * PAGE, `the server needs more than ${2 * PAGE} children, has ${total}`);
  const forwards = await pagesForwards();
  const listed = forwards.pages.flat();
  expect(listed.length === total, `forwards: ${listed.length} children, totalCount ${total}`);
  expect(new Set(listed.map(([id]) => id)).size === total, 'forwards: a child came twice');
  expect(same(forwards.merged, listed), 'relayStylePagination merged the forward pages in order');
  step(`children forwards: ${forwards.pages.length} pages of ${PAGE}, ${total} children`);
  const backwards = await pagesBackwards();
  expect(
    same(backwards.pages.flat(), listed),
    'backwards: the same children, in the same order, with the same cursors',
  );
  expect(same(backwards.merged, listed), 'relayStylePagination merged the backward pages');
  step(`children backwards: ${backwards.pages.length} pages, same rows and cursors`);
  const entities = Object.keys(client.cache.extract()).filter((k) => k.startsWith('Child:'));
  expect(entities.length === total, `the cache holds ${entities.length} Child entities`);
  step(`cache normalised ${entities.length} Child entities by id`);
  summary.children = total;
  summary.forwardPages = forwards.pages.length;
  summary.backwardPages = backwards.pages.length;

  // 2. A family, opened and watched.
  const [childNodeId, familyId] = Object.entries(forwards.familyOf)[0];
  const family = client.watchQuery({ query: FAMILY, variables: { id: familyId } });
  const opened = (await nextMatching(family, (d) => d.family, 'family')).family;
  expect(opened.familyId === familyId && opened.id, 'the family has its global id');
  step(`family ${opened.caseNumber} at version ${opened.version}, id ${opened.id}`);

  // 3. Its timeline, page by page.
  const history = client.watchQuery({
    query: TIMELINE,
    variables: { familyId, first: PAGE },
  });
  let timeline = (await nextMatching(history, (d) => d.timeline, 'timeline')).timeline;
  while (timeline.pageInfo.hasNextPage) {
    timeline = (
      await history.fetchMore({
        variables: { familyId, first: PAGE, after: timeline.pageInfo.endCursor },
      })
    ).data.timeline;
  }
  const versions = history.getCurrentResult().data.timeline.edges.map((e) => e.node.version);
  expect(
    same(versions, Array.from({ length: opened.version }, (_, i) => i + 1)),
    `timeline versions 1..${opened.version}, got ${versions}`,
  );
  step(`timeline: ${versions.length} entries`);

  // 4. Its events, subscribed to before the write.
  const events = [];
  let delivered;
  const eventArrived = new Promise((resolve) => {
    delivered = resolve;
  });
  const subscription = client
    .subscribe({ query: EVENTS, variables: { familyId, afterVersion: opened.version } })
    .subscribe({
      next: (result) => {
        if (result.error) throw new Failed(`subscription: ${result.error.message}`);
        events.push(result.data.familyEvents);
        delivered();
      },
      error: (error) => console.error(`FAIL: subscription: ${error.message}`),
    });
  await socketReady;
  step('subscribed to familyEvents over graphql-transport-ws');

  // 5. A write, with its result union: a stale version first, then the right one.
  const input = {
    familyId,
    aboutVersion: opened.version,
    rule: 'apollo_e2e',
    detail: 'checked by the Apollo flow',
    occurredAt: new Date().toISOString(),
  };
  const stale = (
    await client.mutate({ mutation: FLAG, variables: { input, expectedVersion: opened.version - 1 } })
  ).data.flagDataQuality;
  expect(
    stale.__typename === 'VersionConflict' && stale.code === 'VERSION_CONFLICT' && stale.message,
    `a stale expectedVersion answers VersionConflict with its code: ${JSON.stringify(stale)}`,
  );
  step(`stale write: ${stale.__typename} (${stale.code}) read through "... on Error"`);
  const written = (
    await client.mutate({ mutation: FLAG, variables: { input, expectedVersion: opened.version } })
  ).data.flagDataQuality;
  expect(written.__typename === 'CommandSuccess', `the write: ${JSON.stringify(written)}`);
  expect(written.version === opened.version + 1, `written at ${written.version}`);
  step(`write: CommandSuccess at version ${written.version}, position ${written.position}`);

  // 6. Read-your-write with minPosition, then the cache: the first query's family shows the
  // new version without being fetched again.
  const fresh = (
    await client.query({
      query: FAMILY_AFTER_WRITE,
      variables: { id: familyId, position: written.position },
      fetchPolicy: 'network-only',
    })
  ).data.family;
  expect(fresh.version === written.version && fresh.id === opened.id, 'minPosition read');
  step(`read-your-write: version ${fresh.version} at minPosition ${written.position}`);
  const before = requests;
  const watchedNow = await nextMatching(
    family,
    (d) => d.family && d.family.version === written.version,
    'the watched family',
  );
  const cached = client.readQuery({ query: FAMILY, variables: { id: familyId } });
  expect(cached.family.version === written.version, `the cache shows ${cached.family.version}`);
  expect(watchedNow.family.caseNumber === opened.caseNumber, 'the rest of the family is kept');
  expect(requests === before, `the family was fetched again (${requests - before} requests)`);
  step(`cache: Family ${opened.id} now at version ${cached.family.version}, no refetch`);

  // 7. The subscription delivered the write.
  await Promise.race([
    eventArrived,
    new Promise((_, reject) => setTimeout(() => reject(new Failed('no event delivered')), 10_000)),
  ]);
  expect(events[0].version === written.version, `event at version ${events[0].version}`);
  step(`subscription: ${events[0].eventType} at version ${events[0].version}`);
  subscription.unsubscribe();

  // 8. Objects refetched by id.
  const node = (
    await client.query({ query: NODE, variables: { id: opened.id }, fetchPolicy: 'network-only' })
  ).data.node;
  expect(node.__typename === 'Family' && node.version === written.version, 'node(id:)');
  const nodes = (
    await client.query({
      query: NODES,
      variables: { ids: [childNodeId, opened.id] },
      fetchPolicy: 'network-only',
    })
  ).data.nodes;
  expect(same(nodes.map((n) => n.__typename), ['Child', 'Family']), 'nodes(ids:)');
  step('node(id:) and nodes(ids:) refetch a family and a child');

  summary.family = opened.caseNumber;
  summary.versions = [opened.version, written.version];
  summary.events = events.length;
  summary.entities = Object.keys(client.cache.extract()).length;
  summary.requests = requests;
  return summary;
}

const timer = setTimeout(() => {
  console.log(`FAIL: the flow took over ${TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TIMEOUT_MS);
try {
  const summary = await main();
  console.log(JSON.stringify(summary));
  process.exitCode = 0;
} catch (error) {
  console.log(`FAIL: ${error instanceof Failed ? error.message : error.stack || error}`);
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  client.stop();
  await wsClient.dispose();
}
