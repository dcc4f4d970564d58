// Organization settings: the operational contacts that are emailed, with
// each key's creator, before a key expires; and the members, read-only.

import { get, put, enc } from './api.js';
import { h, field, toast } from './dom.js';

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export async function renderSettings(main, ctx) {
  document.title = `Settings · ${ctx.org} · keyplane console`;
  const base = `/api/v1/orgs/${enc(ctx.org)}`;
  const emails = h('textarea', { id: 'contacts', rows: 5, spellcheck: 'false', autocomplete: 'off' });
  const contactsField = field('Operational contacts', emails, 'One email address per line.');
  const save = h('button', { type: 'submit', class: 'btn primary', id: 'save-contacts' }, 'Save contacts');
  const form = h('form', { class: 'card stack', novalidate: true, 'aria-labelledby': 'contacts-title' },
    h('h2', { id: 'contacts-title' }, 'Operational contacts'),
    h('p', { class: 'muted' }, 'When an API key is nearing expiration, keyplane emails the creator of the key and each operational contact.'),
    contactsField,
    h('div', { class: 'button-row' }, save));
  const members = h('tbody');
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {},
      h('h1', { tabindex: '-1' }, 'Settings'),
      h('p', { class: 'lede' }, `Organization ${ctx.org}.`))),
    form,
    h('section', { class: 'card', 'aria-labelledby': 'members-title' },
      h('h2', { id: 'members-title' }, 'Members'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'simple-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Email'), h('th', { scope: 'col' }, 'Role'))),
        members))));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const list = emails.value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
    const bad = list.filter((s) => !emailPattern.test(s));
    if (bad.length) {
      contactsField.setError(`Not an email address: ${bad.join(', ')}`);
      emails.focus();
      return;
    }
    contactsField.setError('');
    save.disabled = true;
    try {
      const res = await put(`${base}/contacts`, { emails: list });
      emails.value = res.emails.join('\n');
      toast('Saved the operational contacts');
    } catch (err) {
      contactsField.setError(err.message);
      emails.focus();
    } finally {
      save.disabled = false;
    }
  });

  // Nothing to edit or save until the stored contacts are in: what was
  // typed before they arrive would be overwritten by them.
  emails.disabled = save.disabled = true;
  const [contacts, people] = await Promise.allSettled([get(`${base}/contacts`), get(`${base}/members`)]);
  if (contacts.status === 'fulfilled') {
    emails.value = contacts.value.emails.join('\n');
    emails.disabled = save.disabled = false;
  } else contactsField.setError(contacts.reason.message);
  if (people.status === 'fulfilled') {
    members.replaceChildren(...people.value.members.map((m) =>
      h('tr', {}, h('td', { 'data-label': 'Name' }, m.name), h('td', { 'data-label': 'Email' }, m.email || ''), h('td', { 'data-label': 'Role' }, m.role))));
  } else {
    members.replaceChildren(h('tr', {}, h('td', { colspan: 3 }, people.reason.message)));
  }
}
