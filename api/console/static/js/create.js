// The "Create API key" dialog, and the one time the encoded key is shown.

import { get, post, enc, keysBase, randomID, ApiError } from './api.js';
import { h, icon, icons, field, openDialog, toast } from './dom.js';
import { parseObject, checkRoleDescriptors, checkMetadata, checkAccess, dateTime } from './format.js';

// The expiration choices; three months is the default, as in Elastic Cloud.
export const expirations = [
  ['7d', '7 days'], ['30d', '30 days'], ['60d', '60 days'], ['3M', '3 months'], ['6M', '6 months'],
  ['1y', '1 year'], ['never', 'Never'], ['custom', 'Custom…'],
];

// durationMs reads the durations of the choices and of a key policy
// ("12h", "30d", "3M", "1y"); NaN for anything else.
const units = { m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, M: 30 * 86400e3, y: 365 * 86400e3 };
export function durationMs(s) {
  const m = /^(\d+)([mhdwMy])$/.exec(s || '');
  return m ? Number(m[1]) * units[m[2]] : NaN;
}

// The seeds' example: read-only access to the books index.
const exampleRoles = {
  'books-read-only': {
    cluster: [],
    indices: [{ names: ['books'], privileges: ['read'] }],
    applications: [],
    run_as: [],
    metadata: {},
    transient_metadata: { enabled: true },
  },
};

// A cross-cluster key's example access: search on the logs indices.
const exampleAccess = { search: [{ names: ['logs-*'] }] };

export function openCreateDialog(ctx, onCreated) {
  let idempotencyKey = randomID();
  let created = null;

  const name = h('input', { id: 'key-name', name: 'name', required: true, maxlength: 1024, autocomplete: 'off', autofocus: true });
  const scope = h('select', { id: 'key-scope' },
    h('option', { value: '' }, `Organization (${ctx.org})`),
    ctx.projects.map((p) => h('option', { value: p.name }, `Project ${p.name}`)));
  scope.value = ctx.project || '';
  // A cross-cluster key is for a remote cluster, of one project, and takes
  // an access instead of role descriptors (Kibana's "Cross-Cluster" type).
  const type = h('select', { id: 'key-type' },
    h('option', { value: '' }, 'REST API key'), h('option', { value: 'cross_cluster' }, 'Cross-cluster API key'));
  const access = h('textarea', { id: 'key-access', rows: 8, spellcheck: 'false', class: 'code', value: JSON.stringify(exampleAccess, null, 2) });
  const accessField = field('Access (JSON)', access,
    'Which indices of the project a remote cluster may search ("search") or replicate ("replication"). The key cannot authenticate REST requests.');
  accessField.hidden = true;
  const expiry = h('select', { id: 'key-expiration' }, expirations.map(([v, t]) => h('option', { value: v }, t)));
  expiry.value = '3M';
  const custom = h('input', { id: 'key-expiration-custom', autocomplete: 'off', placeholder: '45d or 2027-01-31' });
  const customField = field('Custom expiration', custom, 'A duration (12h, 45d, 2M) or a date (2027-01-31).');
  customField.hidden = true;
  const restrict = h('input', { type: 'checkbox', id: 'key-restrict' });
  const roles = h('textarea', { id: 'key-roles', rows: 12, spellcheck: 'false', class: 'code', value: JSON.stringify(exampleRoles, null, 2) });
  const rolesField = field('Role descriptors (JSON)', roles,
    'One or more named roles; the key gets the intersection of these privileges and yours.');
  rolesField.hidden = true;
  const withMeta = h('input', { type: 'checkbox', id: 'key-include-metadata' });
  const meta = h('textarea', { id: 'key-metadata', rows: 5, spellcheck: 'false', class: 'code', value: '{\n  "application": "my-app"\n}' });
  const metaField = field('Metadata (JSON)', meta, 'Arbitrary JSON object; keys beginning with "_" are reserved.');
  metaField.hidden = true;
  const formError = h('p', { class: 'form-error', id: 'create-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary', id: 'create-submit' }, 'Create API key');
  const nameField = field('Name', name);
  const expiryField = field('Expiration', expiry, 'By default a key expires three months after its creation.');

  // The organization's key policy, once read, narrows the choices: the
  // server refuses what it forbids anyway, but nobody should pick it.
  (async () => {
    let pol;
    try { pol = await get(`/api/v1/orgs/${enc(ctx.org)}/policy`); } catch { return; }
    const none = (v) => v === null || v === undefined;
    if (none(pol.default_expiration) && none(pol.max_expiration) && none(pol.allow_never)) return;
    const max = durationMs(pol.max_expiration);
    for (const opt of expiry.options) {
      if (opt.value === 'never') opt.disabled = !pol.effective.allow_never;
      else if (max && durationMs(opt.value) > max) opt.disabled = true;
    }
    const def = pol.effective.default_expiration.console;
    expiry.prepend(h('option', { value: '' }, `Organization default (${def})`));
    if (pol.default_expiration || expiry.selectedOptions[0].disabled) expiry.value = '';
    const rules = [`keys created without one expire after ${def}`];
    if (pol.max_expiration) rules.push(`at most ${pol.max_expiration}`);
    if (!pol.effective.allow_never) rules.push('never is not allowed');
    expiryField.querySelector('.hint').textContent = `The organization's key policy: ${rules.join('; ')}.`;
  })();
  expiry.addEventListener('change', () => { customField.hidden = expiry.value !== 'custom'; if (!customField.hidden) custom.focus(); });
  restrict.addEventListener('change', () => { rolesField.hidden = !restrict.checked; validateRoles(); });
  type.addEventListener('change', syncType);
  access.addEventListener('input', validateAccess);
  withMeta.addEventListener('change', () => { metaField.hidden = !withMeta.checked; validateMeta(); });
  roles.addEventListener('input', validateRoles);
  meta.addEventListener('input', validateMeta);
  name.addEventListener('input', () => nameField.setError(''));

  function validateRoles() {
    if (!restrict.checked || crossCluster()) { rolesField.setError(''); return { value: undefined }; }
    const r = parseObject(roles.value, 'Role descriptors');
    const msg = r.error || checkRoleDescriptors(r.value);
    rolesField.setError(msg);
    return msg ? { error: msg } : r;
  }
  function crossCluster() { return type.value === 'cross_cluster'; }
  function syncType() {
    const cc = crossCluster();
    accessField.hidden = !cc;
    restrictToggle.hidden = cc;
    rolesField.hidden = cc || !restrict.checked;
    // Organization keys are never cross-cluster keys.
    scope.options[0].disabled = cc;
    if (cc && scope.value === '' && ctx.projects.length) scope.value = ctx.projects[0].name;
    validateAccess();
    validateRoles();
  }
  function validateAccess() {
    if (!crossCluster()) { accessField.setError(''); return { value: undefined }; }
    const r = parseObject(access.value, 'Access');
    const msg = r.error || checkAccess(r.value);
    accessField.setError(msg);
    return msg ? { error: msg } : r;
  }
  function validateMeta() {
    if (!withMeta.checked) { metaField.setError(''); return { value: undefined }; }
    const r = parseObject(meta.value, 'Metadata');
    const msg = r.error || checkMetadata(r.value);
    metaField.setError(msg);
    return msg ? { error: msg } : r;
  }

  function expiration() {
    if (expiry.value !== 'custom') return expiry.value;
    const v = custom.value.trim();
    // A bare date means the end of that day, UTC.
    return /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T23:59:59Z` : v;
  }

  const restrictToggle = h('div', { class: 'toggle' }, restrict, h('label', { for: 'key-restrict' }, 'Restrict privileges'));
  const form = h('form', { class: 'stack', novalidate: true },
    nameField,
    field('Type', type, 'REST keys are for programs calling the API; cross-cluster keys for a remote cluster.'),
    field('Scope', scope, 'Organization keys manage the organization; project keys access one project.'),
    expiryField,
    customField,
    restrictToggle,
    rolesField,
    accessField,
    h('div', { class: 'toggle' }, withMeta, h('label', { for: 'key-include-metadata' }, 'Include metadata')),
    metaField,
    formError,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, 'Cancel'),
      submit));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    const r = validateRoles();
    const a = validateAccess();
    const m = validateMeta();
    if (crossCluster() && scope.value === '') scope.setAttribute('aria-invalid', 'true');
    else scope.removeAttribute('aria-invalid');
    if (!name.value.trim()) nameField.setError('Give the key a name.');
    if (expiry.value === 'custom' && !custom.value.trim()) customField.setError('Enter a duration or a date.');
    else customField.setError('');
    const firstBad = form.querySelector('[aria-invalid="true"]');
    if (firstBad) { firstBad.focus(); return; }
    const body = { name: name.value.trim(), expiration: expiration() };
    if (r.value !== undefined) body.role_descriptors = r.value;
    if (a.value !== undefined) Object.assign(body, { type: 'cross_cluster', access: a.value });
    if (m.value !== undefined) body.metadata = m.value;
    submit.disabled = true;
    try {
      const res = await post(keysBase(ctx.org, scope.value), body, { 'Idempotency-Key': idempotencyKey });
      created = res;
      showCreated(res);
    } catch (err) {
      // A retry after an answer is a new request; after no answer, the
      // same Idempotency-Key makes the server return the same key.
      if (err instanceof ApiError && err.status) idempotencyKey = randomID();
      showServerError(err);
    } finally {
      submit.disabled = false;
    }
  });

  // showServerError puts a 400 next to the field it names.
  function showServerError(err) {
    const msg = err.message;
    if (crossCluster() && /access|search|replication|privilege|indices|names/i.test(msg)) accessField.setError(msg);
    else if (/role|privilege|indices|cluster|run_as|application/i.test(msg) && restrict.checked) rolesField.setError(msg);
    else if (/metadata/i.test(msg) && withMeta.checked) metaField.setError(msg);
    else if (/expiration/i.test(msg)) (expiry.value === 'custom' ? customField : expiryField).setError(msg);
    else if (/name/i.test(msg)) nameField.setError(msg);
    else formError.textContent = msg;
    const bad = form.querySelector('[aria-invalid="true"]');
    if (bad) bad.focus();
  }

  function showCreated(res) {
    dlg.querySelector('.dialog-title').textContent = `Created API key "${res.name}"`;
    const shown = shownOnce(res, () => dlg.close());
    form.replaceWith(shown);
    shown.querySelector('#created-key').focus();
    shown.querySelector('#created-key').select();
  }

  const dlg = openDialog('Create API key', form, {
    wide: true,
    onClose: () => {
      if (created) {
        URL.revokeObjectURL(dlg.querySelector('#download-csv')?.href || '');
        created = null; // the dialog and the secret leave the page now
        onCreated();
      }
    },
  });
}

// shownOnce is a new key's secret, shown the one time it exists outside
// the server (after a create or a rotation): the encoded key with Copy,
// the CSV download and an example; done closes the dialog holding it.
export function shownOnce(res, done) {
  const key = h('textarea', { id: 'created-key', class: 'code', readonly: true, rows: 3, spellcheck: 'false', value: res.encoded, 'aria-describedby': 'created-key-note' });
  const copy = h('button', { type: 'button', class: 'btn', id: 'copy-key' }, icon(icons.copy), h('span', {}, 'Copy'));
  copy.addEventListener('click', async () => {
    if (await copyText(key)) toast('Copied the API key to the clipboard');
    else toast('Select the key and copy it with your keyboard', 'error');
  });
  const csv = h('a', { class: 'btn', id: 'download-csv', download: `api-key-${res.id}.csv`, href: csvURL(res) },
    icon(icons.download), h('span', {}, 'Download as CSV'));
  const example = `curl "${location.origin}/api/v1/whoami" \\\n  -H "Authorization: ApiKey ${res.encoded}"`;
  return h('div', { class: 'stack created' },
    h('p', { class: 'callout success', id: 'created-key-note' },
      'Copy this key now and store it in a safe place. It is shown only once.'),
    h('div', { class: 'field' }, h('label', { for: 'created-key' }, 'Encoded API key'),
      h('div', { class: 'copy-row' }, key, copy)),
    h('p', { class: 'muted' }, res.expiration ? `Expires ${dateTime(res.expiration)}.` : 'Never expires.'),
    h('div', { class: 'button-row' }, csv),
    h('details', {}, h('summary', {}, 'Use it'), h('pre', { class: 'code' }, example)),
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn primary', id: 'created-done', onclick: done }, 'Done')));
}

// csvURL builds the download from the create response, the same columns
// as the API's Accept: text/csv answer; nothing is requested twice.
function csvURL(res) {
  const cell = (v) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rows = [['id', 'name', 'expiration', 'api_key', 'encoded'],
    [res.id, res.name, res.expiration ? String(res.expiration) : '', res.api_key, res.encoded]];
  const text = rows.map((r) => r.map((v) => cell(String(v))).join(',')).join('\r\n') + '\r\n';
  return URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
}

async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    try { return document.execCommand('copy'); } catch { return false; }
  }
}
