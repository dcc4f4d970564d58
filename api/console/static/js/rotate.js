// The "Rotate API key" dialog: a successor like the key (same name,
// privileges, metadata, owner), shown once, while the old key keeps
// working for the chosen grace.

import { get, post, enc, randomID, ApiError } from './api.js';
import { h, field, openDialog } from './dom.js';
import { expirations, shownOnce, durationMs } from './create.js';

// The grace choices: how long the old key keeps working.
const graces = [['24h', '24 hours'], ['1h', '1 hour'], ['7d', '7 days'], ['0s', 'End it now']];

export function openRotateDialog(ctx, k, url, onRotated) {
  let idempotencyKey = randomID();
  let rotated = null;

  const grace = h('select', { id: 'rotate-grace', autofocus: true }, graces.map(([v, t]) => h('option', { value: v }, t)));
  const expiry = h('select', { id: 'rotate-expiration' }, h('option', { value: '' }, 'The organization\'s default'),
    expirations.filter(([v]) => v !== 'custom').map(([v, t]) => h('option', { value: v }, t)));
  const graceField = field('Old key keeps working for', grace,
    'Time to move every client to the new key; "End it now" stops the old key at once.');
  const expiryField = field('New key expires after', expiry, 'As a new key would.');
  // The organization's key policy, once read, narrows the choices as in
  // the create dialog (the server refuses what it forbids anyway).
  (async () => {
    let pol;
    try { pol = await get(`/api/v1/orgs/${enc(ctx.org)}/policy`); } catch { return; }
    const maxExp = durationMs(pol.max_expiration);
    for (const opt of expiry.options) {
      if (opt.value === 'never') opt.disabled = !pol.effective.allow_never;
      else if (maxExp && durationMs(opt.value) > maxExp) opt.disabled = true;
    }
    expiry.options[0].textContent = `The organization's default (${pol.effective.default_expiration.console})`;
    if (pol.max_grace) {
      const maxGrace = pol.max_grace === '0s' ? 0 : durationMs(pol.max_grace);
      for (const opt of grace.options) opt.disabled = opt.value !== '0s' && durationMs(opt.value) > maxGrace;
      if (grace.selectedOptions[0].disabled) grace.value = [...grace.options].find((o) => !o.disabled).value;
      graceField.querySelector('.hint').textContent += ` The organization's key policy allows at most ${pol.max_grace}.`;
    }
  })();
  const formError = h('p', { class: 'form-error', id: 'rotate-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary', id: 'rotate-submit' }, 'Rotate API key');
  const form = h('form', { class: 'stack', novalidate: true },
    h('p', {}, `A new key with the name, privileges and metadata of "${k.name}" is created and shown once.`),
    graceField, expiryField, formError,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, 'Cancel'),
      submit));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    const body = { grace: grace.value };
    if (expiry.value) body.expiration = expiry.value;
    submit.disabled = true;
    try {
      rotated = await post(`${url}/_rotate`, body, { 'Idempotency-Key': idempotencyKey });
      dlg.querySelector('.dialog-title').textContent = `Rotated API key "${k.name}"`;
      const shown = shownOnce(rotated, () => dlg.close());
      form.replaceWith(shown);
      shown.querySelector('#created-key').focus();
      shown.querySelector('#created-key').select();
    } catch (err) {
      // As for a create: after an answer, a new request; after none, the
      // same Idempotency-Key answers the same new key.
      if (err instanceof ApiError && err.status) idempotencyKey = randomID();
      if (/grace/i.test(err.message)) graceField.setError(err.message);
      else if (/expiration/i.test(err.message)) expiryField.setError(err.message);
      else formError.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });

  const dlg = openDialog(`Rotate API key "${k.name}"`, form, {
    wide: true,
    onClose: () => {
      if (rotated) {
        URL.revokeObjectURL(dlg.querySelector('#download-csv')?.href || '');
        const id = rotated.id;
        rotated = null; // the secret leaves the page now
        onRotated(id);
      }
    },
  });
}
