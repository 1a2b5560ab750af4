// lua-acmpca admin console: the page's only script (no framework, no build
// step, nothing fetched from elsewhere).  Every piece of data reaches the
// page through textContent or an attribute, never innerHTML.
'use strict';

(function () {
  const ENDPOINT = '/acm-renewal';          // GET/POST/DELETE renewal endpoint
  const API = '/acm-renewal/api/';          // the console's JSON API
  const STATUS_RANK = ['ACTIVE', 'CREATING', 'PENDING_CERTIFICATE', 'DISABLED', 'EXPIRED',
                       'FAILED', 'DELETED'];
  const RENEWAL_RANK = ['ABSENT', 'PARTIAL', 'UNKNOWN', 'COMPLETE'];

  const state = { csrf: null, rows: [], summary: '', sort: null, dir: 1, ca: null };
  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------ helpers

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function badge(value) {
    const text = value === undefined || value === null ? '?' : String(value);
    // a class only from a known set of words: data never becomes markup
    const cls = /^[A-Za-z_]+$/.test(text) ? 'badge ' + text : 'badge';
    return el('span', text, cls);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function arr(v) {
    return Array.isArray(v) ? v : [];
  }

  function day(epoch) {
    if (typeof epoch !== 'number') return '';
    return new Date(epoch * 1000).toISOString().slice(0, 10);
  }

  function expiry(row) {
    const d = day(row.not_after);
    if (!d) return '';
    const n = row.expires_in_days;
    if (typeof n === 'number' && n < 0) return d + ' (expired)';
    if (typeof n === 'number' && n <= 90) return d + ' (in ' + n + ' days)';
    return d;
  }

  function show(view) {
    for (const id of ['loading', 'sign-in-view', 'list-view', 'ca-view']) {
      $(id).hidden = id !== view;
    }
    $('sign-out').hidden = view === 'sign-in-view' || view === 'loading';
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // A service error in words an operator can act on.
  function readable(err) {
    if (!(err instanceof ApiError)) return 'Unexpected error: ' + String(err && err.message || err);
    const msg = err.message ? ': ' + err.message : '';
    switch (err.code) {
      case 'ThrottlingException':
        return 'AWS is throttling requests (ThrottlingException). Wait a moment and try again.';
      case 'AccessDeniedException':
        return 'AWS refused access (AccessDeniedException)' + msg
          + '. The nginx host\'s IAM role lacks a permission.';
      case 'ResourceNotFoundException':
        return 'This CA no longer exists (ResourceNotFoundException)' + msg + '.';
      case 'InvalidStateException':
        return 'The CA is not in a state that allows this (InvalidStateException)' + msg + '.';
      case 'CsrfTokenInvalid':
        return 'The request was refused (403): the page\'s session token is stale. Reload the page.';
      case 'Timeout':
        return 'AWS did not answer in time (Timeout). Try again.';
      case 'NetworkError':
        return err.message;
      default:
        return (err.code || ('HTTP ' + err.status)) + msg;
    }
  }

  async function api(method, path, body) {
    const opts = { method: method, credentials: 'same-origin', headers: {} };
    if (method !== 'GET' && state.csrf) opts.headers['X-CSRF-Token'] = state.csrf;
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, 'NetworkError', 'The console cannot reach nginx (' + e.message + ').');
    }
    return answer(res);
  }

  async function answer(res) {
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const code = data && typeof data.error === 'string' ? data.error : 'HTTP ' + res.status;
      const message = data && typeof data.message === 'string' ? data.message : res.statusText;
      if (res.status === 401 && state.csrf) signedOut('Your session ended: sign in again.');
      throw new ApiError(res.status, code, message);
    }
    return data || {};
  }

  // ------------------------------------------------------------ sign-in

  function signedOut(message) {
    state.csrf = null;
    state.rows = [];
    show('sign-in-view');
    $('sign-in-error').textContent = message || '';
    $('token').focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const input = $('token');
    $('sign-in-error').textContent = '';
    try {
      const data = await api('POST', API + 'session', { token: input.value });
      state.csrf = data.csrf_token;
      input.value = '';
      await route();
    } catch (e) {
      input.value = '';
      $('sign-in-error').textContent = e.status === 401
        ? 'The token was refused (401). Check ACMPCA_ADMIN_TOKEN.' : readable(e);
      input.focus();
    }
  }

  async function signOut() {
    try { await api('DELETE', API + 'session'); } catch (e) { /* signed out either way */ }
    history.replaceState(null, '', location.pathname);
    signedOut('Signed out.');
  }

  // ------------------------------------------------------------ the list

  function sortValue(row, key) {
    const rank = key === 'status' ? STATUS_RANK : RENEWAL_RANK;
    const i = rank.indexOf(row[key]);
    return i < 0 ? rank.length : i;
  }

  function matches(row, text) {
    if (!text) return true;
    const hay = [row.common_name, row.arn, row.type, row.status, row.renewal, row.finding]
      .map((v) => String(v === undefined || v === null ? '' : v).toLowerCase()).join(' ');
    return hay.indexOf(text.toLowerCase()) >= 0;
  }

  function renderList() {
    const tbody = $('ca-rows');
    clear(tbody);
    $('summary').textContent = state.summary;
    let rows = state.rows.filter((r) => matches(r, $('filter').value.trim()));
    if (state.sort) {
      const key = state.sort;
      rows = rows.slice().sort((a, b) => state.dir * (sortValue(a, key) - sortValue(b, key)));
    }
    for (const [key, th] of [['status', 'th-status'], ['renewal', 'th-renewal']]) {
      $(th).setAttribute('aria-sort', state.sort !== key ? 'none'
        : state.dir > 0 ? 'ascending' : 'descending');
    }
    for (const r of rows) {
      const tr = el('tr');
      tr.dataset.arn = r.arn;
      const name = el('td');
      const open = el('button', r.common_name || '(no common name)', 'link ca-link');
      open.type = 'button';
      open.dataset.arn = r.arn;
      open.addEventListener('click', () => openCa(r.arn));
      name.appendChild(open);
      tr.appendChild(name);
      tr.appendChild(el('td', r.arn, 'arn'));
      tr.appendChild(el('td', r.type));
      const st = el('td');
      st.appendChild(badge(r.status));
      tr.appendChild(st);
      const rn = el('td', null, 'renewal');
      rn.appendChild(badge(r.renewal));
      if (r.finding) rn.appendChild(el('div', r.finding, 'finding'));
      tr.appendChild(rn);
      tr.appendChild(el('td', expiry(r), 'expiry'));
      tbody.appendChild(tr);
    }
    $('ca-count').textContent = rows.length === state.rows.length
      ? state.rows.length + ' certificate authorities'
      : rows.length + ' of ' + state.rows.length + ' certificate authorities (filtered)';
  }

  async function loadList() {
    $('list-error').textContent = '';
    try {
      const data = await api('GET', API + 'cas');
      state.rows = arr(data.cas);
      state.summary = data.summary_text || '';
      renderList();
      return true;
    } catch (e) {
      if (state.csrf) $('list-error').textContent = readable(e);
      return false;
    }
  }

  function sortBy(key) {
    if (state.sort === key) state.dir = -state.dir; else { state.sort = key; state.dir = 1; }
    renderList();
  }

  function rowOf(arn) {
    return state.rows.find((r) => r.arn === arn) || null;
  }

  // ------------------------------------------------------------ fix all

  function fixAllRow(r) {
    const tr = el('tr');
    tr.appendChild(el('td', r.common_name || r.arn));
    const st = el('td');
    st.appendChild(badge(r.status));
    tr.appendChild(st);
    const res = el('td', null, 'result');
    res.appendChild(badge(r.result));
    tr.appendChild(res);
    tr.appendChild(el('td', r.reason || ''));
    return tr;
  }

  async function fixAll() {
    const button = $('fix-all');
    const bar = $('fix-all-progress');
    const status = $('fix-all-status');
    $('fix-all-panel').hidden = false;
    $('fix-all-results').hidden = true;
    clear($('fix-all-rows'));
    bar.value = 0;
    bar.max = 1;
    status.textContent = 'Listing the CAs\u2026';
    button.disabled = true;
    try {
      let res;
      try {
        res = await fetch(API + 'fix-all', { method: 'POST', credentials: 'same-origin',
                                             headers: { 'X-CSRF-Token': state.csrf || '' } });
      } catch (e) {
        throw new ApiError(0, 'NetworkError', 'The console cannot reach nginx (' + e.message + ').');
      }
      if (!res.ok || !res.body) { await answer(res); return; }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      let final = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (value) buffered += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.trim()) continue;
          const msg = JSON.parse(line);
          if (msg.progress) {
            const p = msg.progress;
            if (typeof p.total === 'number') bar.max = Math.max(p.total, 1);
            else bar.max = Math.max(bar.max, p.done + 1);
            bar.value = p.done;
            status.textContent = p.done + (typeof p.total === 'number' ? ' of ' + p.total : '')
              + ' CAs done; last: ' + (p.common_name || p.arn) + ' ' + p.result;
          } else if (msg.done) {
            final = msg;
          }
        }
        if (done) break;
      }
      if (!final) throw new ApiError(502, 'IncompleteAnswer', 'the answer stopped early');
      if (final.error) throw new ApiError(502, final.error, final.message);
      bar.max = Math.max(arr(final.results).length, 1);
      bar.value = arr(final.results).length;
      for (const r of arr(final.results)) $('fix-all-rows').appendChild(fixAllRow(r));
      $('fix-all-results').hidden = false;
      const s = final.summary || {};
      status.textContent = 'Done: ' + (s.text || 'no CA') + (s.ok ? '.' : '; some CAs failed.');
      await loadList();
    } catch (e) {
      status.textContent = 'Fix all failed: ' + readable(e);
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------ a CA's page

  function selectTab(name) {
    for (const t of ['general', 'permission']) {
      $('tab-' + t).setAttribute('aria-selected', String(t === name));
      $('panel-' + t).hidden = t !== name;
    }
  }

  function detail(dl, term, value) {
    if (value === undefined || value === null || value === '') return;
    dl.appendChild(el('dt', term));
    dl.appendChild(el('dd', value));
  }

  function renderCa(data) {
    const ca = data.ca || {};
    const row = rowOf(ca.arn) || {};
    state.ca = data;
    $('ca-title').textContent = ca.common_name || '(no common name)';
    $('ca-arn').textContent = ca.arn;
    const dl = $('ca-details');
    clear(dl);
    detail(dl, 'Status', ca.status);
    detail(dl, 'Type', ca.type);
    detail(dl, 'Owner account', ca.owner_account);
    detail(dl, 'Serial', ca.serial);
    detail(dl, 'Valid from', day(ca.not_before));
    detail(dl, 'Valid until', day(ca.not_after));
    detail(dl, 'Created', day(ca.created_at));
    detail(dl, 'Renewal', data.renewal);
    detail(dl, 'Finding', row.finding);
    detail(dl, 'Fix', row.fix);

    const box = $('acm-renewal');
    const missing = arr(data.missing_actions);
    box.checked = data.renewal === 'COMPLETE';
    box.indeterminate = data.renewal === 'PARTIAL';
    box.disabled = !data.editable;
    $('save').disabled = !data.editable;
    let words;
    if (data.renewal === 'COMPLETE') {
      words = 'ACM holds all three renewal actions (IssueCertificate, GetCertificate, ListPermissions).';
    } else if (data.renewal === 'PARTIAL') {
      words = 'Partial permission: ACM lacks ' + missing.join(', ')
        + '. Tick the box and Save to repair it.';
    } else if (data.renewal === 'ABSENT') {
      words = 'ACM has no permission on this CA: it cannot renew certificates the CA issued.';
    } else {
      const e = data.permissions_error || {};
      words = 'The permissions could not be read: ' + (e.code ? e.code + ': ' : '')
        + (e.message || 'unknown error');
    }
    $('perm-state').textContent = words;
    const why = $('perm-disabled');
    if (!data.editable) {
      why.hidden = false;
      why.textContent = (row.finding
        ? 'This CA cannot be changed: ' + row.finding + '.'
        : 'This CA cannot be changed: it is ' + ca.status
          + ' and permissions can only be changed while it is ACTIVE.')
        + (row.fix ? ' Fix: ' + row.fix + '.' : '');
    } else {
      why.hidden = true;
      why.textContent = '';
    }

    const tbody = $('perm-rows');
    clear(tbody);
    const perms = arr(data.permissions);
    if (perms.length === 0) {
      const tr = el('tr');
      const td = el('td', 'This CA has delegated no permission.', 'muted');
      td.colSpan = 4;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    for (const p of perms) {
      const tr = el('tr');
      tr.appendChild(el('td', p.principal));
      tr.appendChild(el('td', arr(p.actions).join(', ')));
      tr.appendChild(el('td', p.source_account || ''));
      tr.appendChild(el('td', typeof p.created_at === 'number'
        ? new Date(p.created_at * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : ''));
      tbody.appendChild(tr);
    }
  }

  async function loadCa(arn) {
    $('ca-error').textContent = '';
    try {
      renderCa(await api('GET', API + 'ca?ca_arn=' + encodeURIComponent(arn)));
      return true;
    } catch (e) {
      $('ca-error').textContent = readable(e);
      $('acm-renewal').disabled = true;
      $('save').disabled = true;
      return false;
    }
  }

  function openCa(arn) {
    location.hash = 'ca=' + encodeURIComponent(arn);
  }

  async function save() {
    const data = state.ca;
    if (!data || !data.ca) return;
    const arn = data.ca.arn;
    const grant = $('acm-renewal').checked;
    const result = $('save-result');
    result.textContent = 'Saving\u2026';
    $('save').disabled = true;
    try {
      const out = await api(grant ? 'POST' : 'DELETE', ENDPOINT, { ca_arn: arn });
      const what = {
        created: 'created: ACM may now renew certificates from this CA.',
        present: 'present: ACM already held all three actions.',
        repaired: 'repaired: the partial permission was replaced by a complete one.',
        revoked: 'revoked: ACM can no longer renew certificates from this CA.',
        absent: 'absent: ACM held no permission on this CA.',
      }[out.status] || String(out.status);
      await Promise.all([loadCa(arn), loadList()]);
      result.textContent = 'Saved: ' + what;
    } catch (e) {
      result.textContent = '';
      $('ca-error').textContent = readable(e);
      $('save').disabled = !(state.ca && state.ca.editable);
    }
  }

  // ------------------------------------------------------------ routing

  async function route() {
    const m = /^#ca=(.+)$/.exec(location.hash);
    if (!state.rows.length) await loadList();
    if (m) {
      let arn;
      try { arn = decodeURIComponent(m[1]); } catch (e) { arn = ''; }
      show('ca-view');
      $('save-result').textContent = '';
      selectTab('general');
      $('ca-title').textContent = (rowOf(arn) || {}).common_name || 'Certificate authority';
      $('ca-arn').textContent = arn;
      clear($('perm-rows'));
      clear($('ca-details'));
      $('ca-title').focus();
      await loadCa(arn);
    } else {
      show('list-view');
      renderList();
    }
  }

  async function start() {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('filter').addEventListener('input', renderList);
    $('refresh').addEventListener('click', loadList);
    $('fix-all').addEventListener('click', fixAll);
    $('sort-status').addEventListener('click', () => sortBy('status'));
    $('sort-renewal').addEventListener('click', () => sortBy('renewal'));
    $('back').addEventListener('click', () => {
      const arn = state.ca && state.ca.ca && state.ca.ca.arn;
      history.pushState(null, '', location.pathname);
      route().then(() => {
        const link = arn && Array.from(document.querySelectorAll('.ca-link'))
          .find((b) => b.dataset.arn === arn);
        (link || $('list-title')).focus();
      });
    });
    $('tab-general').addEventListener('click', () => selectTab('general'));
    $('tab-permission').addEventListener('click', () => selectTab('permission'));
    $('save').addEventListener('click', save);
    window.addEventListener('hashchange', route);
    try {
      const who = await api('GET', API + 'session');
      state.csrf = who.csrf_token || null;
      await route();
    } catch (e) {
      signedOut(e.status === 401 ? '' : readable(e));
    }
  }

  document.addEventListener('DOMContentLoaded', start);
}());
