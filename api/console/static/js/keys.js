// The API keys page: a table paged, filtered and sorted by the server (50
// rows at a time, so 10,000 keys cost no more than 50), with selection and
// bulk delete.

import { get, post, del, enc, keysBase } from './api.js';
import { h, icon, icons, toast, confirmDialog } from './dom.js';
import { statusWords, typeWords, typeFilters, relative, date, dateTime, expiringSoon, actorName, plural } from './format.js';
import { openCreateDialog } from './create.js';

const PAGE = 50;

// usageFilters are the Usage choices and the list parameters of each.
const usageFilters = {
  unused90: { label: 'Unused for 90 days', params: { used_before: '90d' } },
  never: { label: 'Never used', params: { never_used: 'true' } },
};

const columns = [
  { key: 'name', label: 'Name', sort: 'name' },
  { key: 'scope', label: 'Scope' },
  { key: 'type', label: 'Type' },
  { key: 'creator', label: 'Created by', sort: 'owner' },
  { key: 'created', label: 'Created', sort: 'created' },
  { key: 'expires', label: 'Expires', sort: 'expiration' },
  { key: 'last_used', label: 'Last used', sort: 'last_used' },
  { key: 'status', label: 'Status', sort: 'status' },
];

export function renderKeys(main, ctx) {
  const st = {
    q: ctx.query.q || '',
    status: ctx.query.status || '',
    scope: ctx.query.scope || '',
    type: typeFilters.some(([v]) => v === ctx.query.type) ? ctx.query.type : '',
    policy: ['true', 'false'].includes(ctx.query.policy) ? ctx.query.policy : '',
    usage: usageFilters[ctx.query.usage] ? ctx.query.usage : '',
    sort: ctx.query.sort || '-created',
    from: Math.max(0, parseInt(ctx.query.from, 10) || 0),
    selected: new Set(),
    keys: [],
    total: 0,
    seq: 0,
  };
  const scopeName = ctx.project ? `project ${ctx.project}` : `organization ${ctx.org}`;
  document.title = `API keys · ${ctx.org} · keyplane console`;

  const search = h('input', { type: 'search', id: 'key-search', value: st.q, placeholder: 'Search by name', autocomplete: 'off' });
  const status = h('select', { id: 'status-filter', value: st.status },
    h('option', { value: '' }, 'All statuses'),
    Object.entries(statusWords).map(([v, w]) => h('option', { value: v }, w)));
  const scope = h('select', { id: 'scope-filter', value: st.scope, disabled: !!ctx.project },
    h('option', { value: '' }, 'All scopes'),
    h('option', { value: 'org' }, 'Organization'),
    h('option', { value: 'project' }, 'Project'));
  // Cross-cluster keys are for remote clusters, rest keys for clients.
  const type = h('select', { id: 'type-filter' },
    h('option', { value: '' }, 'All types'),
    typeFilters.map(([v, w]) => h('option', { value: v }, w)));
  type.value = st.type;
  // Keys made before a stricter key policy keep working; this finds them.
  const policy = h('select', { id: 'policy-filter' },
    h('option', { value: '' }, 'All keys'),
    h('option', { value: 'true' }, 'Exceeds policy'),
    h('option', { value: 'false' }, 'Within policy'));
  policy.value = st.policy;
  // Which keys are still in use: the server knows each key's last use to
  // the hour.
  const usage = h('select', { id: 'usage-filter' },
    h('option', { value: '' }, 'Any use'),
    Object.entries(usageFilters).map(([v, f]) => h('option', { value: v }, f.label)));
  usage.value = st.usage;
  status.value = st.status;
  scope.value = ctx.project ? '' : st.scope;

  const bulkButton = h('button', { type: 'button', class: 'btn danger', id: 'bulk-delete', disabled: true }, icon(icons.trash), h('span', {}, 'Delete'));
  // A cleanup: every key the filters match, previewed by the server (a dry
  // run) before anything is revoked.
  const revokeMatching = h('button', { type: 'button', class: 'btn danger', id: 'revoke-matching', hidden: true }, 'Revoke all matching…');
  const selectedText = h('span', { class: 'selected-count', 'aria-live': 'polite' });
  const selectAll = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select all keys on this page' });
  const thead = h('thead');
  const tbody = h('tbody');
  const table = h('table', { class: 'keys-table', id: 'keys-table' },
    h('caption', { class: 'visually-hidden' }, `API keys of ${scopeName}; sortable by the column buttons`), thead, tbody);
  const summary = h('p', { class: 'pager-summary', id: 'pager-summary', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'btn', id: 'page-prev' }, 'Previous');
  const next = h('button', { type: 'button', class: 'btn', id: 'page-next' }, 'Next');
  const errorBox = h('p', { class: 'form-error', role: 'alert' });

  main.replaceChildren(
    h('div', { class: 'page-head' },
      h('div', {},
        h('h1', { tabindex: '-1' }, 'API keys'),
        h('p', { class: 'lede' }, `Keys of ${scopeName}. API keys are for programmatic access; copy a key when you create it, it is shown only once.`)),
      h('button', { type: 'button', class: 'btn primary', id: 'create-key', onclick: () => openCreateDialog(ctx, load) },
        icon(icons.plus), h('span', {}, 'Create API key'))),
    h('div', { class: 'toolbar', role: 'search' },
      h('div', { class: 'control grow' }, h('label', { for: 'key-search' }, 'Search'), search),
      h('div', { class: 'control' }, h('label', { for: 'status-filter' }, 'Status'), status),
      h('div', { class: 'control' }, h('label', { for: 'scope-filter' }, 'Scope'), scope),
      h('div', { class: 'control' }, h('label', { for: 'type-filter' }, 'Type'), type),
      h('div', { class: 'control' }, h('label', { for: 'policy-filter' }, 'Key policy'), policy),
      h('div', { class: 'control' }, h('label', { for: 'usage-filter' }, 'Usage'), usage)),
    h('div', { class: 'bulkbar' }, selectedText, bulkButton, revokeMatching,
      h('span', { class: 'legend' }, h('span', { class: 'legend-swatch', 'aria-hidden': 'true' }), 'Expires within 30 days')),
    errorBox,
    h('div', { class: 'table-wrap' }, table),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, summary, h('div', { class: 'pager-buttons' }, prev, next)));

  // The page's state lives in the URL, so a reload or a shared link shows
  // the same rows; replaceState does not trigger another route.
  function syncURL() {
    history.replaceState(null, '', ctx.href('keys', { q: st.q, status: st.status, scope: st.scope, type: st.type, policy: st.policy, usage: st.usage, sort: st.sort === '-created' ? '' : st.sort, from: st.from }));
  }

  function query() {
    const p = new URLSearchParams({ size: PAGE, from: st.from, sort: st.sort });
    if (st.q) p.set('name', st.q.includes('*') ? st.q : `*${st.q}*`);
    if (st.status) p.set('status', st.status);
    if (st.scope && !ctx.project) p.set('scope', st.scope);
    if (st.type) p.set('type', st.type);
    if (st.policy) p.set('exceeds_policy', st.policy);
    if (st.usage) Object.entries(usageFilters[st.usage].params).forEach(([k, v]) => p.set(k, v));
    return p;
  }

  // filtered: a filter narrows the list, so "all matching" is not "all".
  function filtered() { return !!(st.q || st.status || st.scope || st.type || st.policy || st.usage); }

  // cleanupFilter is the list's filters as _bulk_delete takes them.
  function cleanupFilter() {
    const q = query();
    const f = {};
    for (const k of ['name', 'status', 'scope', 'type']) if (q.get(k)) f[k] = q.get(k);
    if (q.get('exceeds_policy')) f.exceeds_policy = q.get('exceeds_policy') === 'true';
    if (q.get('used_before')) f.used_before = q.get('used_before');
    if (q.get('never_used')) f.never_used = q.get('never_used') === 'true';
    return f;
  }

  async function revokeAllMatching() {
    const url = `${keysBase(ctx.org, ctx.project)}/_bulk_delete`;
    const filter = cleanupFilter();
    let preview;
    try {
      preview = await post(url, { filter, dry_run: true });
    } catch (err) {
      toast(`Could not preview the cleanup: ${err.message}`, 'error');
      return;
    }
    if (!preview.matched) {
      toast('No key to revoke matches the filters');
      return;
    }
    const what = plural(preview.matched, 'API key', 'API keys');
    const named = st.keys.filter((k) => preview.ids.includes(k.id)).map((k) => k.name);
    const ok = await confirmDialog(`Revoke all ${what} matching?`,
      `${named.slice(0, 5).join(', ')}${preview.matched > Math.min(5, named.length) ? ` and ${(preview.matched - Math.min(5, named.length)).toLocaleString('en')} more` : ''}: programs that use them lose access at once. This cannot be undone.`,
      `Revoke all ${preview.matched.toLocaleString('en')} matching`);
    if (!ok) return;
    try {
      const res = await post(url, { filter, expected_count: preview.matched });
      if (res.error_count) toast(`Revoked ${plural(res.revoked, 'API key', 'API keys')}; ${res.error_count} could not be revoked`, 'error');
      else toast(`Revoked ${plural(res.revoked, 'API key', 'API keys')}`);
    } catch (err) {
      toast(err.status === 409 ? 'The matching keys changed since the preview: nothing was revoked. Try again.' : `Could not revoke the keys: ${err.message}`, 'error');
    }
    load();
  }

  async function load() {
    const seq = ++st.seq;
    table.setAttribute('aria-busy', 'true');
    try {
      const res = await get(`${keysBase(ctx.org, ctx.project)}?${query()}`);
      if (seq !== st.seq) return; // a newer request answered or will
      errorBox.textContent = '';
      st.keys = res.api_keys;
      st.total = res.total;
      if (st.from > 0 && st.from >= st.total) {
        st.from = Math.max(0, Math.floor((st.total - 1) / PAGE) * PAGE);
        load();
        return;
      }
      st.selected.clear();
      render();
    } catch (err) {
      if (seq === st.seq) errorBox.textContent = `Could not load the API keys: ${err.message}`;
    } finally {
      if (seq === st.seq) table.removeAttribute('aria-busy');
    }
  }

  function render() {
    renderHead();
    const now = Date.now();
    tbody.replaceChildren(...st.keys.map((k) => row(k, now)));
    if (!st.keys.length) {
      tbody.append(h('tr', {}, h('td', { colspan: columns.length + 2, class: 'empty' },
        filtered() ? 'No API keys match the filters.' : 'No API keys yet. Create one to get started.')));
    }
    const end = st.from + st.keys.length;
    summary.textContent = st.total
      ? `Showing ${(st.from + 1).toLocaleString('en')}–${end.toLocaleString('en')} of ${plural(st.total, 'key', 'keys')}`
      : 'No keys';
    revokeMatching.hidden = !filtered() || st.total === 0;
    prev.disabled = st.from === 0;
    next.disabled = end >= st.total;
    updateSelection();
  }

  function renderHead() {
    const desc = st.sort.startsWith('-');
    const field = st.sort.replace(/^-/, '');
    thead.replaceChildren(h('tr', {},
      h('th', { scope: 'col', class: 'col-select' }, selectAll),
      columns.map((c) => {
        if (!c.sort) return h('th', { scope: 'col' }, c.label);
        const active = c.sort === field;
        const dir = active ? (desc ? 'descending' : 'ascending') : null;
        return h('th', { scope: 'col', 'aria-sort': dir },
          h('button', { type: 'button', class: 'sort', 'data-sort': c.sort,
            onclick: () => setSort(c.sort, active && !desc) },
          c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (desc ? '▼' : '▲') : '↕')));
      }),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions'))));
  }

  function row(k, now) {
    // A key ended by rotation is not "expiring soon": its successor lives on.
    const soon = expiringSoon(k, now) && !k.rotated_to;
    const project = k.project ? (ctx.projects.find((p) => p.id === k.project) || { name: k.project }).name : '';
    const check = h('input', { type: 'checkbox', class: 'row-select', value: k.id, checked: st.selected.has(k.id),
      disabled: k.status === 'invalidated', 'aria-label': `Select ${k.name}`,
      onchange: (e) => { if (e.target.checked) st.selected.add(k.id); else st.selected.delete(k.id); updateSelection(); } });
    const expires = k.expiration
      ? h('time', { datetime: new Date(k.expiration).toISOString(), title: dateTime(k.expiration) }, relative(k.expiration, now))
      : h('span', { class: 'muted' }, 'Never');
    return h('tr', { class: soon ? 'expiring' : k.status, 'data-key-id': k.id, 'data-status': k.status },
      h('td', { class: 'col-select' }, check),
      h('td', { 'data-label': 'Name', class: 'col-name' },
        h('a', { href: ctx.href('keys', {}, k.id), class: 'key-link' }, k.name),
        k.rotated_to ? h('span', { class: 'muted rotated-mark', title: `Rotated to ${k.rotated_to}` }, ' (rotated)') : null),
      h('td', { 'data-label': 'Scope' }, k.scope === 'project' ? h('span', {}, 'Project ', h('span', { class: 'muted' }, project)) : 'Organization'),
      h('td', { 'data-label': 'Type', class: `type ${k.type}` }, typeWords[k.type] || k.type),
      h('td', { 'data-label': 'Created by' }, actorName(k.created_by) || k.username),
      h('td', { 'data-label': 'Created' }, h('time', { datetime: new Date(k.creation).toISOString(), title: dateTime(k.creation) }, date(k.creation))),
      h('td', { 'data-label': 'Expires', class: soon ? 'expires soon' : 'expires' },
        h('span', {}, soon ? icon(icons.warn) : null, expires, soon ? h('span', { class: 'visually-hidden' }, ' (expires within 30 days)') : null)),
      h('td', { 'data-label': 'Last used', class: 'last-used' }, k.last_used
        ? h('time', { datetime: k.last_used, title: dateTime(Date.parse(k.last_used)) }, relative(Date.parse(k.last_used), now))
        : h('span', { class: 'muted' }, 'Never')),
      h('td', { 'data-label': 'Status' }, h('span', { class: `badge ${k.status}` }, statusWords[k.status] || k.status),
        k.exceeds_policy ? [' ', h('span', { class: 'badge exceeds', title: 'Made before a stricter key policy: it keeps working' }, 'Exceeds policy')] : null),
      h('td', { class: 'col-actions' },
        k.status === 'invalidated' ? null
          : h('button', { type: 'button', class: 'btn icon-only', title: `Delete ${k.name}`, 'aria-label': `Delete ${k.name}`,
            onclick: () => deleteOne(k) }, icon(icons.trash))));
  }

  function updateSelection() {
    const n = st.selected.size;
    const selectable = st.keys.filter((k) => k.status !== 'invalidated');
    selectedText.textContent = n ? `${plural(n, 'key', 'keys')} selected` : '';
    bulkButton.disabled = n === 0;
    bulkButton.lastChild.textContent = n ? `Delete ${plural(n, 'API key', 'API keys')}` : 'Delete';
    selectAll.checked = n > 0 && n === selectable.length;
    selectAll.indeterminate = n > 0 && n < selectable.length;
    selectAll.disabled = selectable.length === 0;
  }

  function setSort(field, desc) {
    st.sort = desc ? `-${field}` : field;
    st.from = 0;
    syncURL();
    load();
  }

  async function deleteOne(k) {
    const ok = await confirmDialog(`Delete API key "${k.name}"?`,
      'Programs that use this key lose access at once. This cannot be undone.', 'Delete API key');
    if (!ok) return;
    try {
      await del(`${keysBase(ctx.org, '')}/${enc(k.id)}`);
      toast(`Deleted API key "${k.name}"`);
    } catch (err) {
      toast(`Could not delete "${k.name}": ${err.message}`, 'error');
    }
    load();
  }

  async function deleteSelected() {
    const ids = [...st.selected];
    const names = st.keys.filter((k) => st.selected.has(k.id)).map((k) => k.name);
    const what = plural(ids.length, 'API key', 'API keys');
    const ok = await confirmDialog(`Delete ${what}?`,
      `${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}: programs that use them lose access at once. This cannot be undone.`,
      `Delete ${what}`);
    if (!ok) return;
    try {
      const res = await post(`${keysBase(ctx.org, '')}/_bulk_delete`, { ids });
      const done = res.invalidated_api_keys.length + res.previously_invalidated_api_keys.length;
      if (res.error_count) toast(`Deleted ${plural(done, 'API key', 'API keys')}; ${res.error_count} could not be deleted`, 'error');
      else toast(`Deleted ${plural(done, 'API key', 'API keys')}`);
    } catch (err) {
      toast(`Could not delete the keys: ${err.message}`, 'error');
    }
    load();
  }

  let debounce;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { st.q = search.value.trim(); st.from = 0; syncURL(); load(); }, 250);
  });
  status.addEventListener('change', () => { st.status = status.value; st.from = 0; syncURL(); load(); });
  scope.addEventListener('change', () => { st.scope = scope.value; st.from = 0; syncURL(); load(); });
  type.addEventListener('change', () => { st.type = type.value; st.from = 0; syncURL(); load(); });
  policy.addEventListener('change', () => { st.policy = policy.value; st.from = 0; syncURL(); load(); });
  usage.addEventListener('change', () => { st.usage = usage.value; st.from = 0; syncURL(); load(); });
  revokeMatching.addEventListener('click', revokeAllMatching);
  prev.addEventListener('click', () => { st.from = Math.max(0, st.from - PAGE); syncURL(); load(); });
  next.addEventListener('click', () => { st.from += PAGE; syncURL(); load(); });
  selectAll.addEventListener('change', () => {
    st.selected.clear();
    if (selectAll.checked) st.keys.filter((k) => k.status !== 'invalidated').forEach((k) => st.selected.add(k.id));
    tbody.querySelectorAll('input.row-select').forEach((c) => { c.checked = st.selected.has(c.value); });
    updateSelection();
  });
  bulkButton.addEventListener('click', deleteSelected);

  renderHead();
  load();
}
