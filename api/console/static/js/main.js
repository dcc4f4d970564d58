// The console's entry point: session, routing by the URL's hash, and the
// header with the organization and project switchers.
//
// Routes: #/login, #/o/{org}/keys, #/o/{org}/keys/{id}, #/o/{org}/audit,
// #/o/{org}/settings; ?project= picks a project in every view.

import { get, post, enc, setCsrfToken } from './api.js';
import { h, toast } from './dom.js';
import { renderLogin } from './login.js';
import { renderKeys } from './keys.js';
import { renderKeyDetail } from './detail.js';
import { renderAudit } from './audit.js';
import { renderSettings } from './settings.js';

const state = { session: null, orgs: null, projects: new Map(), lastView: '' };
const main = document.getElementById('main');

function parseHash() {
  const [path, qs] = location.hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: Object.fromEntries(new URLSearchParams(qs || '')) };
}

function href(org, view, query = {}, id) {
  let p = `#/o/${enc(org)}/${view}`;
  if (id) p += `/${enc(id)}`;
  const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '' && v !== undefined && v !== null && v !== 0)).toString();
  return qs ? `${p}?${qs}` : p;
}

async function loadSession() {
  try {
    state.session = await get('/console/session');
    setCsrfToken(state.session.csrf_token);
    return true;
  } catch (err) {
    if (err.status !== 401) throw err;
    state.session = null;
    return false;
  }
}

async function projectsOf(org) {
  if (!state.projects.has(org)) {
    const res = await get(`/api/v1/orgs/${enc(org)}/projects`);
    state.projects.set(org, res.projects);
  }
  return state.projects.get(org);
}

function showLogin(notice) {
  state.session = null;
  state.orgs = null;
  state.projects.clear();
  setCsrfToken('');
  renderLogin(main, {
    notice,
    onLoggedIn: (s) => {
      state.session = s;
      setCsrfToken(s.csrf_token);
      if (location.hash.startsWith('#/login') || !location.hash) location.hash = '#/';
      else route();
    },
  });
}

async function route() {
  const { parts, query } = parseHash();
  try {
    if (!state.session && !(await loadSession())) {
      showLogin(query.failed ? 'Wrong member name or password.' : '');
      return;
    }
    if (!state.orgs) state.orgs = (await get('/api/v1/whoami')).orgs || [];
    if (parts[0] !== 'o' || !parts[1]) {
      if (!state.orgs.length) {
        main.replaceChildren(h('h1', {}, 'No organization'), h('p', {}, 'You are not a member of any organization yet.'));
        header(null, '');
        return;
      }
      location.replace(href(state.orgs[0].name, 'keys'));
      return;
    }
    const org = state.orgs.find((o) => o.name === parts[1] || o.id === parts[1]);
    if (!org) {
      header(null, '');
      main.replaceChildren(h('h1', { tabindex: '-1' }, 'Organization not found'),
        h('p', {}, `You are not a member of an organization named "${parts[1]}".`));
      return;
    }
    const projects = await projectsOf(org.name);
    const project = projects.some((p) => p.name === query.project) ? query.project : '';
    const view = parts[2] || 'keys';
    const ctx = {
      org: org.name, role: org.role, projects, project, query,
      href: (v, q = {}, id) => href(org.name, v, { project, ...q }, id),
    };
    header(ctx, view);
    const viewKey = `${org.name}/${view}/${parts[3] || ''}`;
    if (view === 'keys' && parts[3]) await renderKeyDetail(main, ctx, parts[3]);
    else if (view === 'keys') renderKeys(main, ctx);
    else if (view === 'audit') renderAudit(main, ctx);
    else if (view === 'settings') await renderSettings(main, ctx);
    else location.replace(href(org.name, 'keys'));
    // Move focus to the new page's heading when the page changed, so that
    // keyboard and screen reader users start at its top.
    if (state.lastView && state.lastView !== viewKey) {
      const h1 = main.querySelector('h1');
      if (h1) h1.focus({ preventScroll: false });
    }
    state.lastView = viewKey;
  } catch (err) {
    if (err.status === 401) { showLogin('Your session ended. Log in again.'); return; }
    main.replaceChildren(h('h1', { tabindex: '-1' }, 'Something went wrong'), h('p', { class: 'form-error', role: 'alert' }, err.message));
  }
}

// header fills the switchers and marks the current section.
function header(ctx, view) {
  const bar = document.getElementById('topbar');
  bar.hidden = false;
  document.getElementById('whoami').textContent = state.session.user;
  const orgSel = document.getElementById('org-switch');
  orgSel.replaceChildren(...state.orgs.map((o) => h('option', { value: o.name }, o.name)));
  const projSel = document.getElementById('project-switch');
  projSel.replaceChildren(h('option', { value: '' }, 'All projects'),
    ...(ctx ? ctx.projects.map((p) => h('option', { value: p.name }, p.name)) : []));
  projSel.disabled = !ctx || view === 'settings';
  if (!ctx) return;
  orgSel.value = ctx.org;
  projSel.value = ctx.project;
  for (const [id, v] of [['nav-keys', 'keys'], ['nav-audit', 'audit'], ['nav-settings', 'settings']]) {
    const a = document.getElementById(id);
    a.href = ctx.href(v);
    if (v === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

document.getElementById('org-switch').addEventListener('change', (e) => {
  location.hash = href(e.target.value, 'keys');
});
document.getElementById('project-switch').addEventListener('change', (e) => {
  const { parts } = parseHash();
  const view = parts[2] === 'audit' ? 'audit' : 'keys';
  location.hash = href(parts[1], view, { project: e.target.value });
});
document.getElementById('logout').addEventListener('click', async () => {
  try {
    await post('/console/logout');
  } catch (err) {
    toast(`Could not log out: ${err.message}`, 'error');
    return;
  }
  showLogin('');
  history.replaceState(null, '', '#/login');
  toast('You are logged out');
});
window.addEventListener('session-ended', () => showLogin('Your session ended. Log in again.'));
window.addEventListener('hashchange', route);
route();
