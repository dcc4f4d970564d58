// Small DOM helpers. Text always goes in as text nodes, never as HTML, so
// names and metadata from the API cannot inject markup.

// h builds an element: h('button', {class: 'btn', onclick: f}, 'Save').
// Attributes that are false, null or undefined are left out; "value",
// "checked" and "selected" are set as properties after the children.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const props = {};
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected') props[k] = v;
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  Object.assign(el, props);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// svg builds an inline icon from path data; icons are decorative.
export function icon(d) {
  const ns = 'http://www.w3.org/2000/svg';
  const s = document.createElementNS(ns, 'svg');
  s.setAttribute('viewBox', '0 0 16 16');
  s.setAttribute('width', '16');
  s.setAttribute('height', '16');
  s.setAttribute('aria-hidden', 'true');
  s.setAttribute('focusable', 'false');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', d);
  s.append(p);
  return s;
}

export const icons = {
  trash: 'M6 1h4l1 1h3v2H2V2h3l1-1zM3 5h10l-1 10H4L3 5zm3 2v6h1V7H6zm3 0v6h1V7H9z',
  plus: 'M7 2h2v5h5v2H9v5H7V9H2V7h5V2z',
  copy: 'M5 1h8a1 1 0 0 1 1 1v9h-2V3H5V1zM2 4h8a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H2a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 2v7h6V6H3z',
  download: 'M7 1h2v7l2.5-2.5 1.4 1.4L8 11.8 3.1 6.9l1.4-1.4L7 8V1zM2 13h12v2H2v-2z',
  warn: 'M8 1l7.5 13.5h-15L8 1zm-1 5v4h2V6H7zm0 5v2h2v-2H7z',
};

let uid = 0;
// id returns a document-unique id for label/aria wiring.
export function id(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// toast shows a short message in the page's live region.
let toastTimer;
export function toast(msg, kind = 'ok') {
  const t = document.getElementById('toast');
  t.textContent = '';
  t.className = `toast show ${kind}`;
  // A fresh text node makes screen readers announce a repeated message.
  requestAnimationFrame(() => { t.textContent = msg; });
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = 'toast'; }, 6000);
}

// openDialog shows a modal <dialog>. The browser traps focus in it and
// closes it on Escape; focus goes back to what opened it.
export function openDialog(titleText, body, { wide = false, onClose } = {}) {
  const opener = document.activeElement;
  const titleId = id('dialog-title');
  const dlg = h('dialog', { class: wide ? 'dialog wide' : 'dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId, class: 'dialog-title' }, titleText),
    body);
  document.body.append(dlg);
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (onClose) onClose(dlg.returnValue);
    if (opener && opener.isConnected && opener.focus) opener.focus();
  });
  dlg.showModal();
  const first = dlg.querySelector('[autofocus]') || dlg.querySelector('input, textarea, select, button');
  if (first) first.focus();
  return dlg;
}

// confirmDialog asks a yes/no question; it resolves true on confirm.
export function confirmDialog(title, message, confirmLabel) {
  return new Promise((resolve) => {
    let ok = false;
    const dlg = openDialog(title, h('div', {},
      h('p', {}, message),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', autofocus: true, onclick: () => dlg.close() }, 'Cancel'),
        h('button', { type: 'button', class: 'btn danger', id: 'confirm-action', onclick: () => { ok = true; dlg.close(); } }, confirmLabel))),
    { onClose: () => resolve(ok) });
  });
}

// field wires a label, a control, a hint and an inline error together.
export function field(labelText, control, hint) {
  const cid = control.id || id('f');
  control.id = cid;
  const err = h('p', { class: 'field-error', id: `${cid}-error`, 'aria-live': 'polite' });
  const hintEl = hint ? h('p', { class: 'hint', id: `${cid}-hint` }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl && hintEl.id, err.id].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: cid }, labelText), hintEl, control, err);
  wrap.setError = (msg) => {
    err.textContent = msg || '';
    if (msg) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return wrap;
}
