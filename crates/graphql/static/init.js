// CyberMed's GraphiQL: served from this binary (no CDN), talking to /graphql and /graphql/ws.
//
// One place to sign in (the bar above the editor): its access token goes into every tab's requests
// as `Authorization: Bearer …` (over HTTP, and in the WebSocket's connection_init), and is renewed
// with the refresh token a minute before it expires. A tab whose own Headers set Authorization
// keeps its own. The tokens live in this browser tab's sessionStorage only.
(function () {
  'use strict';
  var origin = window.location.origin;
  var ws = new URL('/graphql/ws', origin);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  var endpoint = new URL('/graphql', origin).toString();
  var inner = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: ws.toString(),
    fetch: function (url, opts) {
      return fetch(url, Object.assign({}, opts, { credentials: 'same-origin' }));
    },
  });

  // ---- the sign-in bar -------------------------------------------------------------------
  var KEY = 'cybermed:session';
  var session = null; // { access, refresh, expiresAt (ms), who }
  var timer = null;
  var $ = function (id) { return document.getElementById(id); };

  function status(text, ok) {
    var el = $('cybermed-status');
    el.textContent = text || '';
    el.className = ok ? 'ok' : '';
  }

  function save() {
    try {
      if (session) window.sessionStorage.setItem(KEY, JSON.stringify(session));
      else window.sessionStorage.removeItem(KEY);
    } catch (e) {
      // No storage: the session lasts as long as the page.
    }
  }

  function show() {
    $('cybermed-signed-out').hidden = !!session;
    $('cybermed-signed-in').hidden = !session;
    if (session) {
      var until = new Date(session.expiresAt).toLocaleTimeString();
      $('cybermed-who').textContent = 'Signed in as ' + session.who + ' (token renewed before ' + until + ')';
    }
  }

  async function call(query, variables) {
    var response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ query: query, variables: variables }),
      credentials: 'same-origin',
    });
    var body = await response.json();
    if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
    return body.data;
  }

  var PAIR = '{ accessToken refreshToken expiresIn user { email role } }';

  function signedIn(pair) {
    session = {
      access: pair.accessToken,
      refresh: pair.refreshToken,
      expiresAt: Date.now() + pair.expiresIn * 1000,
      who: pair.user.email + ' (' + pair.user.role + ')',
    };
    save();
    schedule();
    show();
  }

  function schedule() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (!session) return;
    // A minute before it expires (at once when that is past), the pair is renewed.
    var wait = Math.max(0, session.expiresAt - Date.now() - 60000);
    timer = window.setTimeout(renew, wait);
  }

  async function renew() {
    if (!session) return;
    try {
      var data = await call('mutation Refresh($t: String!) { refreshToken(refreshToken: $t) ' + PAIR + ' }', {
        t: session.refresh,
      });
      signedIn(data.refreshToken);
    } catch (e) {
      session = null;
      save();
      show();
      status('Signed out: ' + e.message);
    }
  }

  $('cybermed-signin').addEventListener('submit', async function (event) {
    event.preventDefault();
    var button = $('cybermed-signin-button');
    button.disabled = true;
    status('');
    try {
      var data = await call('mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) ' + PAIR + ' }', {
        e: $('cybermed-email').value,
        p: $('cybermed-password').value,
      });
      $('cybermed-password').value = '';
      signedIn(data.login);
      status('Every tab now sends your token.', true);
    } catch (e) {
      status(e.message);
    }
    button.disabled = false;
  });

  $('cybermed-signout').addEventListener('click', async function () {
    var refresh = session && session.refresh;
    session = null;
    save();
    schedule();
    show();
    status('Signed out.', true);
    if (refresh) {
      try {
        await call('mutation Logout($t: String!) { logout(refreshToken: $t) }', { t: refresh });
      } catch (e) {
        // Signed out here in any case.
      }
    }
  });

  try {
    session = JSON.parse(window.sessionStorage.getItem(KEY) || 'null');
  } catch (e) {
    session = null;
  }
  if (session && session.expiresAt - Date.now() < 60000) renew();
  else schedule();
  show();

  // Every request of every tab carries the session's token, unless the tab set its own.
  function hasAuthorization(headers) {
    return Object.keys(headers || {}).some(function (k) { return k.toLowerCase() === 'authorization'; });
  }
  function fetcher(params, opts) {
    opts = opts || {};
    if (session && !hasAuthorization(opts.headers)) {
      var headers = Object.assign({}, opts.headers, { Authorization: 'Bearer ' + session.access });
      opts = Object.assign({}, opts, { headers: headers });
    }
    return inner(params, opts);
  }

  // ---- GraphiQL ---------------------------------------------------------------------------
  // The first tabs (Me, Doctors, Events, Login) are data in index.html.
  var tabs = [];
  try {
    tabs = JSON.parse($('cybermed-tabs').textContent);
  } catch (e) {
    tabs = [];
  }
  // GraphiQL fills the editors of the first tab from its query alone: its variables and headers
  // come from storage. On a first visit (no saved tabs) put the first tab's there; a returning
  // visitor keeps their own tabs.
  try {
    if (tabs.length && !window.localStorage.getItem('graphiql:tabState')) {
      window.localStorage.setItem('graphiql:variables', tabs[0].variables || '');
      window.localStorage.setItem('graphiql:headers', tabs[0].headers || '');
    }
  } catch (e) {
    // No storage (private mode): the tabs still open, without the first one's variables.
  }
  ReactDOM.createRoot($('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      defaultQuery: tabs.length ? tabs[0].query : undefined,
      defaultEditorToolsVisibility: true,
    })
  );
})();
