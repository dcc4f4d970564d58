// Words and dates as the console shows them, in the seeds' vocabulary.

export const DAY = 24 * 60 * 60 * 1000;

export const statusWords = { active: 'Active', expired: 'Expired', invalidated: 'Invalidated' };
export const typeWords = { personal: 'Personal', managed: 'Managed', cross_cluster: 'Cross-cluster' };

// The list's type filter: Elasticsearch's two types, and keyplane's two
// kinds of rest key.
export const typeFilters = [['rest', 'REST (personal and managed)'], ['cross_cluster', 'Cross-cluster'], ['personal', 'Personal'], ['managed', 'Managed']];

// checkAccess checks a cross-cluster key's access typed by a person: what
// the server would refuse first, said where it is.
export function checkAccess(v) {
  const kinds = Object.keys(v);
  const unknown = kinds.find((k) => k !== 'search' && k !== 'replication');
  if (unknown) return `Access has an unexpected field "${unknown}": use "search" and "replication"`;
  if (!kinds.some((k) => Array.isArray(v[k]) && v[k].length)) return 'Access needs at least one "search" or "replication" entry';
  for (const k of kinds) {
    if (!Array.isArray(v[k])) return `"${k}" must be a list of entries such as {"names": ["logs-*"]}`;
    for (const [i, e] of v[k].entries()) {
      if (!e || typeof e !== 'object' || !isList(e.names) || !e.names.length) return `Entry ${i + 1} of "${k}" needs "names", a list of index names or patterns`;
      if (e.privileges !== undefined) return `Entry ${i + 1} of "${k}" may not list privileges: they follow from "${k}"`;
    }
  }
  return '';
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'always' });
const dtf = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
const df = new Intl.DateTimeFormat('en', { dateStyle: 'medium' });

// relative says when ms is from now: "in 12 days", "3 hours ago".
export function relative(ms, now = Date.now()) {
  const d = ms - now;
  const a = Math.abs(d);
  const steps = [
    [60 * 1000, 1000, 'second'],
    [60 * 60 * 1000, 60 * 1000, 'minute'],
    [DAY, 60 * 60 * 1000, 'hour'],
    [60 * DAY, DAY, 'day'],
    [730 * DAY, 30 * DAY, 'month'],
  ];
  for (const [limit, unit, name] of steps) {
    if (a < limit) return rtf.format(Math.round(d / unit), name);
  }
  return rtf.format(Math.round(d / (365 * DAY)), 'year');
}

export function dateTime(ms) { return ms ? dtf.format(new Date(ms)) : ''; }
export function date(ms) { return ms ? df.format(new Date(ms)) : ''; }
export function iso(ms) { return ms ? new Date(ms).toISOString() : ''; }

// expiringSoon: an active key that ends within 30 days.
export function expiringSoon(k, now = Date.now()) {
  return k.status === 'active' && k.expiration && k.expiration - now < 30 * DAY;
}

export function plural(n, one, many) { return `${n.toLocaleString('en')} ${n === 1 ? one : many}`; }

// actorName names who acted: a member, a key (for its member) or keyplane.
export function actorName(a) {
  if (!a) return '';
  if (a.kind === 'api_key') return `API key ${a.name || a.id}${a.user ? ` (${a.user})` : ''}`;
  if (a.kind === 'system') return 'keyplane';
  return a.name || a.id || '';
}

// parseObject reads a JSON object typed by a person, with an error that
// says what is wrong and where.
export function parseObject(text, what) {
  const t = text.trim();
  if (t === '') return { value: {} };
  let v;
  try {
    v = JSON.parse(t);
  } catch (e) {
    return { error: `${what} is not valid JSON: ${e.message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { error: `${what} must be a JSON object, such as {"key": "value"}` };
  }
  return { value: v };
}

// checkRoleDescriptors validates the shape the server expects, so most
// mistakes show next to the field before a request is made.
const roleFields = new Set(['cluster', 'indices', 'index', 'applications', 'run_as', 'metadata', 'transient_metadata',
  'description', 'global', 'remote_indices', 'remote_cluster', 'restriction']);
const isList = (x) => Array.isArray(x) || typeof x === 'string';

export function checkRoleDescriptors(v) {
  for (const [role, d] of Object.entries(v)) {
    if (d === null || typeof d !== 'object' || Array.isArray(d)) return `Role "${role}" must be an object`;
    const unknown = Object.keys(d).find((f) => !roleFields.has(f));
    if (unknown) return `Role "${role}" has an unexpected field "${unknown}"`;
    for (const list of ['cluster', 'run_as']) {
      if (d[list] !== undefined && !isList(d[list])) return `"${list}" of role "${role}" must be a list of strings`;
    }
    const idx = d.indices ?? d.index;
    if (idx !== undefined) {
      if (!Array.isArray(idx)) return `"indices" of role "${role}" must be a list`;
      for (const [i, e] of idx.entries()) {
        if (!e || !isList(e.names) || !isList(e.privileges)) {
          return `indices[${i}] of role "${role}" needs "names" and "privileges"`;
        }
      }
    }
  }
  return '';
}

export function checkMetadata(v) {
  const reserved = Object.keys(v).filter((k) => k.startsWith('_'));
  return reserved.length ? `Metadata keys beginning with "_" are reserved: ${reserved.join(', ')}` : '';
}
