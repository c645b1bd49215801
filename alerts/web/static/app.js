'use strict';
(function () {
  // The server renders the console and its map (templates/console.html.j2); this script only
  // fetches it again when the live feed says something changed or a filter changed (the map then
  // shows the chosen border), and posts the operator's actions.
  var dataEl = document.getElementById('bw-data');
  if (!dataEl) return;
  var D = JSON.parse(dataEl.textContent);
  // The page's words in the reader's language (alerts/web/views.py ui_words); {id}, {error} and
  // {status} stand for what is put in.
  var W = D.words || {};
  function word(key, values) {
    return (W[key] || key).replace(/\{(\w+)\}/g, function (m, k) { return values && k in values ? values[k] : m; });
  }
  var HEADERS = {'Content-Type': 'application/json', 'X-Borderwatch-Request': '1'};
  var consoleEl = document.getElementById('console');
  var statusEl = document.getElementById('status');
  var live = document.getElementById('live');
  var filters = document.getElementById('filters');
  var levelSel = document.getElementById('filter-level');
  var borderSel = document.getElementById('filter-border');

  function say(msg, bad) { statusEl.textContent = msg; statusEl.className = bad ? 'bad' : 'ok'; }
  function when(t) { return t ? t.replace('T', ' ').slice(0, 16) + ' UTC' : ''; }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = String(text);
    return n;
  }
  function query() {
    var q = new URLSearchParams();
    if (levelSel.value) q.set('level', levelSel.value);
    if (borderSel.value) q.set('border', borderSel.value);
    var since = document.getElementById('history-since');
    if (since && since.value) q.set('since', since.value);
    return q.toString();
  }
  var pending = null;
  function render(flashId) {
    // One fetch at a time; an event during it asks for one more.
    if (pending) { pending.again = true; return pending.p; }
    var state = {again: false};
    state.p = fetch('/ui/console' + (query() ? '?' + query() : ''), {credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (html) {
        // Keep what the operator is typing in an ack form, and the history fold as it was.
        var drafts = {}, active = document.activeElement, focus = null;
        consoleEl.querySelectorAll('form.ack').forEach(function (f) {
          var id = f.getAttribute('data-alert-id');
          drafts[id] = {comment: f.comment.value, hours: f.hours.value};
          if (f.contains(active)) focus = [id, active.name];
        });
        var hist = document.getElementById('history');
        var histOpen = hist && hist.open;
        consoleEl.innerHTML = html;
        consoleEl.querySelectorAll('form.ack').forEach(function (f) {
          var d = drafts[f.getAttribute('data-alert-id')];
          if (d) { f.comment.value = d.comment; f.hours.value = d.hours; }
          if (focus && focus[0] === f.getAttribute('data-alert-id')) f[focus[1]].focus();
        });
        if (histOpen) document.getElementById('history').open = true;
        if (flashId) {
          var card = consoleEl.querySelector('[data-alert-id="' + CSS.escape(flashId) + '"]');
          if (card) { card.classList.add('flash'); setTimeout(function () { card.classList.remove('flash'); }, 3000); }
        }
      })
      .catch(function (err) { say(word('refresh_failed', {error: err.message}), true); })
      .then(function () { pending = null; if (state.again) render(); });
    pending = state;
    return state.p;
  }
  function syncUrl() { history.replaceState(null, '', '/' + (query() ? '?' + query() : '')); }
  filters.addEventListener('change', function () { syncUrl(); render(); });
  consoleEl.addEventListener('change', function (ev) {
    if (ev.target.id === 'history-since') { syncUrl(); render(); }
  });
  filters.addEventListener('submit', function (ev) { ev.preventDefault(); syncUrl(); render(); });

  function post(path, body) {
    return fetch(path, {method: 'POST', headers: HEADERS, body: JSON.stringify(body), credentials: 'same-origin'})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
          return j;
        });
      });
  }

  consoleEl.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (!f.classList.contains('ack')) return;
    ev.preventDefault();
    var id = f.getAttribute('data-alert-id');
    var body = {comment: f.comment.value};
    var hours = Number(f.hours.value || 0);
    if (hours > 0) body.until = new Date(Date.now() + hours * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
    f.querySelector('button').disabled = true;
    post('/alerts/' + encodeURIComponent(id) + '/ack', body)
      .then(function () { say(word('ack_sent', {id: id})); return render(id); })
      .catch(function (err) { say(word('ack_failed', {error: err.message}), true); f.querySelector('button').disabled = false; });
  });

  var silenceForm = document.getElementById('silence-form');
  function loadSilences() {
    var body = document.querySelector('#silence-list tbody');
    return fetch('/silences', {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : {silences: [], error: word('silences_unavailable', {status: r.status})}; })
      .then(function (j) {
        var rows = (j.silences || []).map(function (s) {
          var tr = el('tr', {'data-silence-id': s.silence_id || ''});
          var m = Object.keys(s.matchers || {}).map(function (k) { return k + '=' + s.matchers[k]; }).join(', ');
          [m, when(s.until), s.by || '', s.comment || ''].forEach(function (t) { tr.appendChild(el('td', {}, t)); });
          return tr;
        });
        if (!rows.length) {
          var tr = el('tr');
          tr.appendChild(el('td', {colspan: '4'}, j.error || word('none')));
          rows = [tr];
        }
        body.replaceChildren.apply(body, rows);
      });
  }
  if (silenceForm) {
    loadSilences();
    silenceForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var matchers = {};
      var b = silenceForm.border.value, s = silenceForm.segment_id.value.trim();
      if (b) matchers.border = b;
      if (s) matchers.segment_id = s;
      var hours = Number(silenceForm.hours.value || 4);
      var until = new Date(Date.now() + hours * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
      post('/silences', {matchers: matchers, until: until, comment: silenceForm.comment.value})
        .then(function () { say(word('silence_sent')); silenceForm.reset(); return loadSilences(); })
        .catch(function (err) { say(word('silence_failed', {error: err.message}), true); });
    });
  }
  var noticeForm = document.getElementById('notice-form');
  if (noticeForm) {
    noticeForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var id = noticeForm.notice_id.value.trim();
      post('/notices/' + encodeURIComponent(id) + '/ack', {comment: noticeForm.comment.value})
        .then(function () { say(word('notice_acked', {id: id})); noticeForm.reset(); })
        .catch(function (err) { say(word('notice_failed', {error: err.message}), true); });
    });
  }

  var es = new EventSource('/events');
  es.addEventListener('open', function () { live.textContent = word('live'); live.classList.add('on'); });
  es.addEventListener('error', function () { live.textContent = word('reconnecting'); live.classList.remove('on'); });
  es.addEventListener('alert', function (m) {
    var msg = JSON.parse(m.data);
    if (msg.alert) render(msg.alert.alert_id);
  });
  es.addEventListener('resync', function () { render(); });
})();
