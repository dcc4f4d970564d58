// The organization's key policy, in Settings: the expiration a key gets
// when its creator names none, the longest one allowed, whether keys may
// never expire, how many may be active at once, and the longest overlap of
// a rotation. Every member reads it; only owners change it (the server
// decides: the form is read-only for others so that nobody types in vain).

import { get, put } from './api.js';
import { h, field, toast } from './dom.js';

// neverChoices are allow_never's three states: unset (allowed, as before
// policies), allowed, not allowed.
const neverChoices = [['', 'Not set (allowed)'], ['true', 'Allowed'], ['false', 'Not allowed']];

export function policySection(base, ctx) {
  const owner = ctx.role === 'owner';
  const text = (fid, placeholder) => h('input', { id: fid, type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder });
  const def = text('policy-default', 'not set');
  const max = text('policy-max', 'not set');
  const never = h('select', { id: 'policy-never' }, neverChoices.map(([v, w]) => h('option', { value: v }, w)));
  const keys = h('input', { id: 'policy-max-keys', type: 'number', min: 1, max: 1000000, step: 1, inputmode: 'numeric', placeholder: 'no limit' });
  const grace = text('policy-grace', 'not set');
  const fields = {
    default_expiration: field('Default expiration', def, 'For keys created without one, on both the console API and Elasticsearch: a duration such as 30d, 3M or 1y, or never.'),
    max_expiration: field('Maximum expiration', max, 'The longest lifetime a key may be given, from 1h to 100y.'),
    allow_never: field('Keys that never expire', never),
    max_active_keys: field('Maximum active keys', keys, 'Active keys of the whole organization, its projects included (1 to 1,000,000).'),
    max_grace: field('Maximum rotation grace', grace, 'How long a rotated key may keep working next to its successor, from 0s to 365d.'),
  };
  const effective = h('p', { id: 'policy-effective', class: 'muted', 'aria-live': 'polite' });
  const formError = h('p', { id: 'policy-error', class: 'form-error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'btn primary', id: 'save-policy' }, 'Save policy');
  const form = h('form', { class: 'card stack', id: 'policy', novalidate: true, 'aria-labelledby': 'policy-title' },
    h('h2', { id: 'policy-title' }, 'Key policy'),
    h('p', { class: 'muted' }, 'Applies to every create and update of an API key in this organization, on the console API and on its projects\' Elasticsearch API. '
      + 'Keys created before a stricter policy keep working and are marked "Exceeds policy". Leave a field empty to unset it.'),
    Object.values(fields), effective, formError,
    owner ? h('div', { class: 'button-row' }, save) : h('p', { class: 'muted', id: 'policy-owners-only' }, 'Only owners can change the key policy.'));

  const show = (pol) => {
    def.value = pol.default_expiration || '';
    max.value = pol.max_expiration || '';
    never.value = pol.allow_never === null || pol.allow_never === undefined ? '' : String(pol.allow_never);
    keys.value = pol.max_active_keys || '';
    grace.value = pol.max_grace || '';
    const e = pol.effective;
    const limit = pol.max_active_keys ? ` of at most ${pol.max_active_keys}` : '';
    effective.textContent = `In effect: keys created without an expiration get ${e.default_expiration.console} on the console API and `
      + `${e.default_expiration.elasticsearch} on Elasticsearch; ${e.allow_never ? 'a key may be made to never expire' : 'every key must expire'}; `
      + `${e.active_keys} active key${e.active_keys === 1 ? '' : 's'}${limit}.`;
  };
  const body = () => {
    const s = (el) => el.value.trim() || null;
    return { default_expiration: s(def), max_expiration: s(max), allow_never: never.value === '' ? null : never.value === 'true',
      max_active_keys: keys.value.trim() === '' ? null : Number(keys.value), max_grace: s(grace) };
  };
  // The server's reason names the field ("[max_expiration] must be ..."):
  // it goes under that field, anything else under the form.
  const showError = (msg) => {
    const named = Object.keys(fields).find((f) => msg.includes(`[${f}]`) || msg.includes(`(${f})`));
    for (const f of Object.values(fields)) f.setError('');
    formError.textContent = named ? '' : msg;
    if (named) {
      fields[named].setError(msg);
      fields[named].querySelector('input, select').focus();
    }
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!owner) return;
    save.disabled = true;
    try {
      show(await put(`${base}/policy`, body()));
      showError('');
      toast('Saved the key policy');
    } catch (err) {
      showError(err.message);
    } finally {
      save.disabled = false;
    }
  });

  const controls = [def, max, never, keys, grace];
  const load = async () => {
    for (const c of controls) c.disabled = true;
    save.disabled = true;
    try {
      show(await get(`${base}/policy`));
      for (const c of controls) c.disabled = !owner;
      save.disabled = false;
    } catch (err) {
      formError.textContent = err.message;
    }
  };
  return { form, load };
}
