// Organization settings: the key policy (policy.js); the operational
// contacts that are emailed, with each key's creator, before a key
// expires; the members, the invitations
// that bring new ones (an email address and a role: the invitee accepts
// with their own login), and removing a member.

import { get, put, post, del, enc } from './api.js';
import { h, field, toast, confirmDialog } from './dom.js';
import { policySection } from './policy.js';

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
  const invitations = h('tbody');
  const inviteEmail = h('input', { id: 'invite-email', type: 'email', autocomplete: 'off', spellcheck: 'false' });
  const inviteEmailField = field('Email address', inviteEmail, 'The invitee accepts with their own login and password.');
  const inviteRole = h('select', { id: 'invite-role' }, ['viewer', 'admin', 'owner'].map((r) => h('option', { value: r }, r)));
  const inviteButton = h('button', { type: 'submit', class: 'btn primary', id: 'send-invite' }, 'Invite');
  const inviteResult = h('div', { id: 'invite-result' });
  const inviteForm = h('form', { class: 'stack', novalidate: true, 'aria-label': 'Invite a member' },
    inviteEmailField, field('Role', inviteRole), h('div', { class: 'button-row' }, inviteButton), inviteResult);
  const policy = policySection(base, ctx);
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {},
      h('h1', { tabindex: '-1' }, 'Settings'),
      h('p', { class: 'lede' }, `Organization ${ctx.org}.`))),
    policy.form,
    form,
    h('section', { class: 'card', 'aria-labelledby': 'members-title' },
      h('h2', { id: 'members-title' }, 'Members'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'simple-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Email'), h('th', { scope: 'col' }, 'Role'),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        members))),
    h('section', { class: 'card stack', 'aria-labelledby': 'invitations-title' },
      h('h2', { id: 'invitations-title' }, 'Invitations'),
      inviteForm,
      h('div', { class: 'table-wrap' }, h('table', { class: 'simple-table', id: 'invitations' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Email'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Expires'),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        invitations))));

  const showMembers = async () => {
    try {
      const res = await get(`${base}/members`);
      members.replaceChildren(...res.members.map((m) =>
        h('tr', { 'data-member': m.name }, h('td', { 'data-label': 'Name' }, m.name), h('td', { 'data-label': 'Email' }, m.email || ''),
          h('td', { 'data-label': 'Role' }, m.role),
          h('td', {}, h('button', { type: 'button', class: 'btn danger remove-member', onclick: () => removeMember(m.name) }, 'Remove')))));
    } catch (err) {
      members.replaceChildren(h('tr', {}, h('td', { colspan: 4 }, err.message)));
    }
  };
  const showInvitations = async () => {
    try {
      const res = await get(`${base}/invitations`);
      invitations.replaceChildren(...res.invitations.map((i) =>
        h('tr', { 'data-invitation': i.id }, h('td', { 'data-label': 'Email' }, i.email), h('td', { 'data-label': 'Role' }, i.role),
          h('td', { 'data-label': 'Expires' }, new Date(i.expires).toLocaleString()),
          h('td', {}, h('button', { type: 'button', class: 'btn danger revoke-invitation', onclick: () => revokeInvitation(i) }, 'Revoke')))));
    } catch (err) {
      invitations.replaceChildren(h('tr', {}, h('td', { colspan: 4 }, err.message)));
    }
  };
  const removeMember = async (name) => {
    if (!await confirmDialog(`Remove ${name}?`, `${name} loses access to this organization at once: their console sessions end and their API keys stop working.`, 'Remove member')) return;
    try {
      await del(`${base}/members/${enc(name)}`);
      toast(`Removed ${name}`);
    } catch (err) {
      toast(err.message, 'error');
    }
    showMembers();
  };
  const revokeInvitation = async (inv) => {
    try {
      await del(`${base}/invitations/${enc(inv.id)}`);
      toast(`Revoked the invitation of ${inv.email}`);
    } catch (err) {
      toast(err.message, 'error');
    }
    showInvitations();
  };
  inviteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = inviteEmail.value.trim();
    if (!emailPattern.test(email)) {
      inviteEmailField.setError('Enter an email address.');
      inviteEmail.focus();
      return;
    }
    inviteEmailField.setError('');
    inviteButton.disabled = true;
    try {
      const inv = await post(`${base}/invitations`, { email, role: inviteRole.value });
      const token = h('textarea', { id: 'invite-token', rows: 2, readonly: true, 'aria-label': 'Invitation token' }, inv.token);
      inviteResult.replaceChildren(h('p', {}, `Send this token to ${inv.email}; it is shown only once and expires ${new Date(inv.expires).toLocaleString()}. `
        + 'They accept it with POST /api/v1/invitations/_accept.'), h('div', { class: 'copy-row' }, token));
      inviteEmail.value = '';
      toast(`Invited ${inv.email}`);
      showInvitations();
    } catch (err) {
      inviteEmailField.setError(err.message);
    } finally {
      inviteButton.disabled = false;
    }
  });

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
  const [contacts] = await Promise.allSettled([get(`${base}/contacts`), showMembers(), showInvitations(), policy.load()]);
  if (contacts.status === 'fulfilled') {
    emails.value = contacts.value.emails.join('\n');
    emails.disabled = save.disabled = false;
  } else contactsField.setError(contacts.reason.message);
}
