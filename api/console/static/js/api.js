// The console's only way to the server: same-origin fetches of the JSON
// API with the session cookie, and the session's CSRF token on every
// request that changes state.

let csrfToken = '';

export function setCsrfToken(t) { csrfToken = t || ''; }

// ApiError carries the server's status and Elasticsearch-style reason.
export class ApiError extends Error {
  constructor(status, reason, type) {
    super(reason);
    this.status = status;
    this.type = type || '';
  }
}

export async function request(method, path, body, headers = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD') init.headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check the connection and try again.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const reason = (data && data.error && data.error.reason) || `${res.status} ${res.statusText}`;
    const err = new ApiError(res.status, reason, data && data.error && data.error.type);
    // A 401 from the API means the session ended: the page goes to login.
    if (res.status === 401 && !path.startsWith('/console/')) {
      window.dispatchEvent(new CustomEvent('session-ended'));
    }
    throw err;
  }
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body, headers) => request('POST', path, body, headers);
export const put = (path, body) => request('PUT', path, body);
export const del = (path) => request('DELETE', path);

// enc escapes one path segment.
export const enc = encodeURIComponent;

// keysBase is the API path of a scope's keys: the organization's, or one
// project's when project is set.
export function keysBase(org, project) {
  return project ? `/api/v1/orgs/${enc(org)}/projects/${enc(project)}/api-keys` : `/api/v1/orgs/${enc(org)}/api-keys`;
}

// randomID is an Idempotency-Key; crypto.randomUUID needs a secure
// context, getRandomValues does not.
export function randomID() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
