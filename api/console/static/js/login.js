// The login page: a member's name and password, never an API key.

import { post, ApiError } from './api.js';
import { h, field } from './dom.js';

export function renderLogin(main, { notice, onLoggedIn }) {
  document.getElementById('topbar').hidden = true;
  document.title = 'Log in · keyplane console';
  const name = h('input', { name: 'name', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', id: 'login-error', role: 'alert' }, notice || '');
  const submit = h('button', { type: 'submit', class: 'btn primary block' }, 'Log in');
  // action/method make the form work without the script as well.
  const form = h('form', { class: 'card login-card', action: '/console/login', method: 'post', novalidate: true },
    h('div', { class: 'login-brand' }, h('img', { src: 'favicon.svg', alt: '', width: 36, height: 36 }), 'keyplane'),
    h('h1', {}, 'Log in to the console'),
    h('p', { class: 'lede' }, 'Use your member name and password. API keys are for programmatic access, not a browser.'),
    field('Member name', name),
    field('Password', password),
    error,
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value || !password.value) {
      error.textContent = 'Enter your member name and password.';
      (name.value ? password : name).focus();
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    try {
      const session = await post('/console/login', { name: name.value, password: password.value });
      password.value = '';
      onLoggedIn(session);
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? 'Wrong member name or password.'
        : err.message;
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(h('div', { class: 'login-page' }, form));
  name.focus();
}
