// GraphQL over HTTP with the signed-in caller's token, held in memory only.

let bearer = null;

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

export function signIn(token) {
  bearer = token.trim().replace(/^Bearer\s+/i, "");
}

export function signOut() {
  bearer = null;
}

export function signedIn() {
  return bearer !== null;
}

// What the token says of its holder, for the page's layout only: the server decides access.
export function claims() {
  try {
    const part = bearer.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

// One operation; resolves with `data`, or rejects with the first error and its code.
export async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json;q=0.9",
      authorization: `Bearer ${bearer}`,
    },
    body: JSON.stringify({ query, variables }),
    credentials: "omit",
    cache: "no-store",
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the server answered ${response.status}`, "HTTP");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const error = new ApiError(first.message, first.extensions?.code ?? "ERROR");
    error.data = body.data;
    throw error;
  }
  return body.data;
}

// Every page of a connection, `first` at a time (`at` picks the connection out of `data`).
export async function allPages(query, variables, at, first = 500) {
  const nodes = [];
  let after = null;
  for (;;) {
    const data = await gql(query, { ...variables, first, after });
    const page = at(data);
    for (const edge of page.edges) nodes.push(edge.node);
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
}
