// One key: what it is, the two things that can change (privileges and
// metadata, as in Kibana; a cross-cluster key's access instead of its
// privileges), rotate, delete, its lineage (the key it was rotated from or
// to) and its audit timeline.

import { get, put, del, enc, keysBase } from './api.js';
import { h, field, toast, confirmDialog } from './dom.js';
import { statusWords, typeWords, relative, dateTime, expiringSoon, actorName, parseObject, checkRoleDescriptors, checkMetadata, checkAccess } from './format.js';
import { timeline } from './audit.js';
import { openRotateDialog } from './rotate.js';

export async function renderKeyDetail(main, ctx, keyID) {
  const url = `${keysBase(ctx.org, '')}/${enc(keyID)}`;
  let k;
  try {
    k = await get(url);
  } catch (err) {
    main.replaceChildren(h('h1', { tabindex: '-1' }, 'API key'), h('p', { class: 'form-error', role: 'alert' },
      err.status === 404 ? 'This API key does not exist in this organization.' : err.message),
    h('p', {}, h('a', { href: ctx.href('keys') }, 'Back to API keys')));
    return;
  }
  document.title = `${k.name} · API keys · keyplane console`;
  const now = Date.now();
  const project = k.project ? (ctx.projects.find((p) => p.id === k.project) || { name: k.project }).name : '';
  const editable = k.status === 'active';
  const crossCluster = k.type === 'cross_cluster';

  const hasRoles = Object.keys(k.role_descriptors || {}).length > 0;
  const restrict = h('input', { type: 'checkbox', id: 'detail-restrict', checked: hasRoles, disabled: !editable });
  const roles = h('textarea', { id: 'detail-roles', rows: 12, class: 'code', spellcheck: 'false', disabled: !editable,
    value: JSON.stringify(hasRoles ? k.role_descriptors : {}, null, 2) });
  const rolesField = field('Role descriptors (JSON)', roles, 'Unchecking "Restrict privileges" gives the key its owner\'s privileges.');
  rolesField.hidden = !hasRoles;
  const hasMeta = Object.keys(k.metadata || {}).length > 0;
  const withMeta = h('input', { type: 'checkbox', id: 'detail-include-metadata', checked: hasMeta, disabled: !editable });
  const meta = h('textarea', { id: 'detail-metadata', rows: 6, class: 'code', spellcheck: 'false', disabled: !editable,
    value: JSON.stringify(k.metadata || {}, null, 2) });
  const metaField = field('Metadata (JSON)', meta, 'Keys beginning with "_" are reserved.');
  metaField.hidden = !hasMeta;
  const formError = h('p', { class: 'form-error', role: 'alert', id: 'detail-error' });
  const save = h('button', { type: 'submit', class: 'btn primary', id: 'save-key', disabled: !editable }, 'Save changes');
  // A cross-cluster key's descriptor follows from its access: that is what
  // changes, and never is empty.
  const access = h('textarea', { id: 'detail-access', rows: 10, class: 'code', spellcheck: 'false', disabled: !editable,
    value: JSON.stringify(k.access || {}, null, 2) });
  const accessField = field('Access (JSON)', access,
    'Which indices a remote cluster may search ("search") or replicate ("replication"), as {"search": [{"names": ["logs-*"]}]}.');
  restrict.addEventListener('change', () => { rolesField.hidden = !restrict.checked; });
  withMeta.addEventListener('change', () => { metaField.hidden = !withMeta.checked; });

  const form = h('form', { class: 'card stack', novalidate: true, 'aria-labelledby': 'edit-title' },
    h('h2', { id: 'edit-title' }, crossCluster ? 'Access and metadata' : 'Privileges and metadata'),
    h('p', { class: 'muted' }, !editable ? `An ${(statusWords[k.status] || k.status).toLowerCase()} key cannot change.`
      : crossCluster ? 'You can update only Access and Include metadata.' : 'You can update only Restrict privileges and Include metadata.'),
    crossCluster ? accessField : [h('div', { class: 'toggle' }, restrict, h('label', { for: 'detail-restrict' }, 'Restrict privileges')), rolesField],
    h('div', { class: 'toggle' }, withMeta, h('label', { for: 'detail-include-metadata' }, 'Include metadata')),
    metaField,
    formError,
    h('div', { class: 'button-row' }, save));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    const [first, firstField, firstInput] = crossCluster ? ['Access', accessField, access] : ['Role descriptors', rolesField, roles];
    const r = crossCluster || restrict.checked ? parseObject(firstInput.value, first) : { value: {} };
    const rMsg = r.error || (crossCluster ? checkAccess(r.value) : checkRoleDescriptors(r.value));
    firstField.setError(rMsg);
    const m = withMeta.checked ? parseObject(meta.value, 'Metadata') : { value: {} };
    const mMsg = m.error || checkMetadata(m.value);
    metaField.setError(mMsg);
    if (rMsg || mMsg) { (rMsg ? firstInput : meta).focus(); return; }
    save.disabled = true;
    try {
      const body = crossCluster ? { access: r.value, metadata: m.value } : { role_descriptors: r.value, metadata: m.value };
      const res = await put(url, body);
      toast(res.updated ? `Saved changes to "${k.name}"` : `No changes to "${k.name}"`);
      formError.textContent = '';
      refreshTimeline();
    } catch (err) {
      if (/metadata/i.test(err.message)) metaField.setError(err.message);
      else if (/role|privilege|indices|cluster|access|search|replication/i.test(err.message)) firstField.setError(err.message);
      else formError.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  });

  const remove = h('button', { type: 'button', class: 'btn danger', id: 'delete-key', disabled: k.status === 'invalidated' }, 'Delete API key');
  remove.addEventListener('click', async () => {
    if (!await confirmDialog(`Delete API key "${k.name}"?`, 'Programs that use this key lose access at once. This cannot be undone.', 'Delete API key')) return;
    try {
      await del(url);
      toast(`Deleted API key "${k.name}"`);
      renderKeyDetail(main, ctx, keyID);
    } catch (err) {
      toast(`Could not delete "${k.name}": ${err.message}`, 'error');
    }
  });

  // Only an active key that was not rotated yet rotates: a rotated one's
  // successor is what to rotate next (the server answers 409 otherwise).
  const rotatable = k.status === 'active' && !k.rotated_to;
  const rotate = h('button', { type: 'button', class: 'btn', id: 'rotate-key', disabled: !rotatable,
    title: k.rotated_to ? 'This key was rotated: rotate its successor' : '' }, 'Rotate');
  rotate.addEventListener('click', () => openRotateDialog(ctx, k, url, (newID) => {
    toast(`Rotated API key "${k.name}"`);
    location.hash = ctx.href('keys', {}, newID);
  }));
  const keyLink = (id, linkID) => h('a', { href: ctx.href('keys', {}, id), id: linkID }, h('code', {}, id));

  const soon = expiringSoon(k, now) && !k.rotated_to;
  const facts = [
    ['ID', h('code', {}, k.id)],
    ['Status', h('span', {}, h('span', { class: `badge ${k.status}`, id: 'detail-status' }, statusWords[k.status] || k.status),
      k.exceeds_policy ? [' ', h('span', { class: 'badge exceeds', id: 'detail-exceeds' }, 'Exceeds policy'),
        h('span', { class: 'muted' }, ' made before the organization\'s stricter key policy; it keeps working')] : null)],
    ['Scope', k.scope === 'project' ? `Project ${project}` : 'Organization'],
    ['Type', h('span', { id: 'detail-type' }, typeWords[k.type] || k.type,
      crossCluster ? h('span', { class: 'muted' }, ' for a remote cluster\'s search and replication; it cannot authenticate REST requests') : null)],
    ['Owner', k.username],
    ['Created by', actorName(k.created_by)],
    ['Created', `${dateTime(k.creation)} (${relative(k.creation, now)})`],
    ['Expires', k.expiration ? h('span', { class: soon ? 'soon' : '' }, `${relative(k.expiration, now)}, ${dateTime(k.expiration)}`) : 'Never'],
    ['Last used', h('span', { id: 'detail-last-used' }, k.last_used
      ? `${relative(Date.parse(k.last_used), now)}, ${dateTime(Date.parse(k.last_used))}` : 'Never')],
  ];
  if (k.invalidation) facts.push(['Invalidated', dateTime(k.invalidation)]);
  if (k.rotated_from) facts.push(['Rotated from', keyLink(k.rotated_from, 'rotated-from')]);
  if (k.rotated_to) facts.push(['Rotated to', keyLink(k.rotated_to, 'rotated-to')]);

  const activity = h('section', { class: 'card', 'aria-labelledby': 'activity-title' },
    h('h2', { id: 'activity-title' }, 'Activity'));
  function refreshTimeline() {
    activity.replaceChildren(activity.firstChild, timeline(ctx, { key_id: k.id }, { compact: true }));
  }

  main.replaceChildren(
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: ctx.href('keys') }, 'API keys'), h('span', { 'aria-hidden': 'true' }, ' / '), h('span', { 'aria-current': 'page' }, k.name)),
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', { tabindex: '-1', id: 'detail-name' }, k.name),
        soon ? h('p', { class: 'callout warning' }, `This key expires ${relative(k.expiration, now)}.`) : null,
        k.rotated_to ? h('p', { class: 'callout info', id: 'rotated-note' }, 'This key was rotated to ', keyLink(k.rotated_to),
          k.status === 'active' && k.expiration ? `; it stops working ${relative(k.expiration, now)}, ${dateTime(k.expiration)}.` : '.') : null),
      h('div', { class: 'button-row' }, rotate, remove)),
    h('div', { class: 'detail-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'facts-title' },
        h('h2', { id: 'facts-title' }, 'Details'),
        h('dl', { class: 'facts' }, facts.map(([t, d]) => [h('dt', {}, t), h('dd', {}, d)]))),
      form),
    activity);
  refreshTimeline();
}
