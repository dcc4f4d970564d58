// The audit timeline: the organization's events, newest first, from
// GET /api/v1/orgs/{org}/audit (filters actor, key_id, type, project,
// since, until; cursor paging). Used for the whole organization and, with
// key_id, for one key.

import { get, enc, keysBase } from './api.js';
import { h, field } from './dom.js';
import { relative, dateTime, actorName, typeWords } from './format.js';

const PAGE = 50;

// The event types a person filters by, in words.
export const eventTypes = {
  KeyCreated: 'API key created',
  KeyUpdated: 'API key updated',
  KeyInvalidated: 'API key deleted',
  KeyExpired: 'API key expired',
  KeyRotated: 'API key rotated',
  ExpiryNoticeRecorded: 'Expiry notice due',
  NoticeDelivered: 'Expiry notice sent',
  NoticeFailed: 'Expiry notice failed',
  ProjectCreated: 'Project created',
  MemberAdded: 'Member added or role changed',
  MemberRemoved: 'Member removed',
  InvitationCreated: 'Member invited',
  InvitationRevoked: 'Invitation revoked',
  InvitationAccepted: 'Invitation accepted',
  ContactsSet: 'Operational contacts changed',
  KeyPolicySet: 'Key policy changed',
  OrgCreated: 'Organization created',
};

// timeline returns an element that loads and shows the entries matching
// filters, with a "Load more" button while the server has more.
export function timeline(ctx, filters, { compact = false } = {}) {
  const list = h('ol', { class: 'timeline', 'aria-live': 'polite' });
  const status = h('p', { class: 'muted timeline-status' }, 'Loading activity…');
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Load more');
  const box = h('div', { class: 'timeline-box', id: compact ? 'key-timeline' : 'org-timeline' }, list, status, more);
  let cursor = '';
  // Key names by id: from the KeyCreated entries seen, else asked once.
  const names = new Map();

  async function page() {
    const p = new URLSearchParams({ size: compact ? 20 : PAGE });
    for (const [k, v] of Object.entries(filters)) if (v) p.set(k, v);
    if (cursor) p.set('cursor', cursor);
    more.disabled = true;
    try {
      const res = await get(`/api/v1/orgs/${enc(ctx.org)}/audit?${p}`);
      const entries = res.entries || res.events || [];
      for (const e of entries) if (e.key_id && e.change && e.change.name) names.set(e.key_id, e.change.name);
      list.append(...entries.map((e) => entry(ctx, e, compact, names)));
      if (!compact) nameUnknownKeys(ctx, list, names);
      cursor = res.next_cursor || '';
      more.hidden = !cursor;
      status.textContent = list.children.length ? '' : 'No activity matches.';
      box.dataset.state = 'loaded';
    } catch (err) {
      // The audit API may be missing on an older server; say so plainly.
      status.textContent = err.status === 404 && /no handler/i.test(err.message)
        ? 'The audit log is not available on this server.'
        : `Could not load the activity: ${err.message}`;
      status.classList.add(err.status === 404 ? 'muted' : 'form-error');
      box.dataset.state = err.status === 404 ? 'unavailable' : 'error';
      more.hidden = true;
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', page);
  page();
  return box;
}

// entry is one line of the timeline: when, who, what.
function entry(ctx, e, compact, names) {
  const t = Date.parse(e.time);
  const keyLink = e.key_id && !compact
    ? h('a', { href: ctx.href('keys', {}, e.key_id), 'data-key': e.key_id }, names.get(e.key_id) ? `"${names.get(e.key_id)}"` : e.key_id)
    : null;
  return h('li', { class: `event ${e.type}`, 'data-type': e.type },
    h('span', { class: 'event-dot', 'aria-hidden': 'true' }),
    h('div', { class: 'event-body' },
      h('p', { class: 'event-what' }, h('strong', {}, eventTypes[e.type] || words(e.type)), keyLink ? [' ', keyLink,
        // The key's last use now (the trail holds changes, not uses).
        h('span', { class: 'muted key-last-used' }, e.last_used ? ` · last used ${relative(Date.parse(e.last_used))}` : ' · never used')] : null),
      h('p', { class: 'event-detail' }, detail(ctx, e)),
      h('p', { class: 'event-meta muted' },
        h('time', { datetime: e.time, title: dateTime(t) }, relative(t)), ' · by ', actorName(e.actor) || 'unknown',
        e.source && e.source.addr ? ` from ${e.source.addr}` : '')));
}

// nameUnknownKeys replaces the ids of keys created before the entries on
// the page with their names, one request per key.
function nameUnknownKeys(ctx, list, names) {
  const unknown = new Set([...list.querySelectorAll('a[data-key]')].map((a) => a.dataset.key).filter((id) => !names.has(id)));
  for (const id of unknown) {
    names.set(id, null);
    get(`${keysBase(ctx.org, '')}/${enc(id)}`).then((k) => {
      names.set(id, k.name);
      list.querySelectorAll(`a[data-key="${CSS.escape(id)}"]`).forEach((a) => { a.textContent = `"${k.name}"`; });
    }).catch(() => {});
  }
}

// detail says what changed, from the entry's change object.
function detail(ctx, e) {
  const c = e.change || {};
  const project = e.project ? (ctx.projects.find((p) => p.id === e.project) || { name: e.project }).name : '';
  switch (e.type) {
    case 'KeyCreated': {
      const where = c.scope === 'project' ? `project ${project}` : 'the organization';
      const exp = !c.expiration ? '' : c.expiration === 'never' ? ', never expires' : `, expires ${dateTime(Date.parse(c.expiration))}`;
      const from = c.rotated_from ? `, rotated from ${c.rotated_from}` : '';
      return `${typeWords[c.key_type] || 'Personal'} key in ${where} for ${c.owner || 'its creator'}${exp}${from}`;
    }
    case 'KeyRotated':
      return `Rotated to ${c.rotated_to}; this key ends ${dateTime(Date.parse(c.expiration))}`;
    case 'KeyUpdated':
      return c.fields && c.fields.length ? `Changed ${c.fields.map(words).join(', ').toLowerCase()}` : 'Updated';
    case 'KeyInvalidated':
      return c.reason ? `Reason: ${c.reason}` : 'The key can no longer be used';
    case 'MemberAdded':
      return `${c.user} as ${c.role}`;
    case 'MemberRemoved':
      return `${c.user} (${c.role}) removed`;
    case 'InvitationCreated':
      return `${c.email} as ${c.role}`;
    case 'InvitationAccepted':
      return `${c.user} joined as ${c.role} (invited at ${c.email})`;
    case 'KeyPolicySet': {
      const p = c.policy || {};
      const parts = Object.entries(p).map(([k, v]) => `${words(k).toLowerCase()} ${v}`);
      return parts.length ? parts.join(', ') : 'No key policy';
    }
    case 'ContactsSet':
      return c.emails && c.emails.length ? c.emails.join(', ') : 'No operational contacts';
    case 'ProjectCreated':
    case 'OrgCreated':
      return c.name || '';
  }
  return project ? `Project ${project}` : '';
}

// words turns KeyCreated or role_descriptors into "Key created" or "Role descriptors".
function words(s) {
  const w = s.replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return w.charAt(0).toUpperCase() + w.slice(1);
}

// renderAudit is the organization's audit log page with its filters.
export function renderAudit(main, ctx) {
  document.title = `Audit log · ${ctx.org} · keyplane console`;
  const q = ctx.query;
  const actor = h('input', { id: 'audit-actor', value: q.actor || '', autocomplete: 'off', placeholder: 'member name or key id' });
  const type = h('select', { id: 'audit-type' }, h('option', { value: '' }, 'All events'),
    Object.entries(eventTypes).map(([v, w]) => h('option', { value: v }, w)));
  type.value = q.type || '';
  const keyID = h('input', { id: 'audit-key', value: q.key_id || '', autocomplete: 'off' });
  const since = h('input', { id: 'audit-since', type: 'date', value: q.since || '' });
  const until = h('input', { id: 'audit-until', type: 'date', value: q.until || '' });
  const holder = h('div');

  function show() {
    const filters = {
      actor: actor.value.trim(), type: type.value, key_id: keyID.value.trim(), project: ctx.project,
      since: since.value ? `${since.value}T00:00:00Z` : '',
      until: until.value ? `${until.value}T23:59:59Z` : '',
    };
    history.replaceState(null, '', ctx.href('audit', { actor: filters.actor, type: filters.type, key_id: filters.key_id, since: since.value, until: until.value }));
    holder.replaceChildren(timeline(ctx, filters));
  }
  const form = h('form', { class: 'toolbar audit-filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Actor', actor), field('Event', type), field('API key id', keyID), field('Since', since), field('Until', until),
    h('div', { class: 'control actions' }, h('button', { type: 'submit', class: 'btn primary' }, 'Filter')));
  form.addEventListener('submit', (e) => { e.preventDefault(); show(); });
  type.addEventListener('change', show);

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {},
      h('h1', { tabindex: '-1' }, 'Audit log'),
      h('p', { class: 'lede' }, `Every change to ${ctx.project ? `project ${ctx.project} of ` : ''}${ctx.org}, newest first. The log is the source of truth; nothing in it is ever deleted.`))),
    form,
    h('section', { class: 'card' }, holder));
  show();
}
