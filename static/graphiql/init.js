// CyberMed's GraphiQL: served from this binary (no CDN), talking to /graphql and /graphql/ws.
(function () {
  var origin = window.location.origin;
  var ws = new URL('/graphql/ws', origin);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  var fetcher = GraphiQL.createFetcher({
    url: new URL('/graphql', origin).toString(),
    subscriptionUrl: ws.toString(),
    fetch: function (url, opts) {
      return fetch(url, Object.assign({}, opts, { credentials: 'same-origin' }));
    },
  });
  // The first tabs (Login with a seed-demo login, Me, Events) are data in index.html.
  var tabs = [];
  try {
    tabs = JSON.parse(document.getElementById('cybermed-tabs').textContent);
  } catch (e) {
    tabs = [];
  }
  // GraphiQL fills the editors of the first tab from its query alone: its variables and headers
  // come from storage. On a first visit (no saved tabs) put the first tab's there, so the Login
  // tab opens with its variables; a returning visitor keeps their own tabs.
  try {
    if (tabs.length && !window.localStorage.getItem('graphiql:tabState')) {
      window.localStorage.setItem('graphiql:variables', tabs[0].variables || '');
      window.localStorage.setItem('graphiql:headers', tabs[0].headers || '');
    }
  } catch (e) {
    // No storage (private mode): the tabs still open, without the first one's variables.
  }
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      defaultQuery: tabs.length ? tabs[0].query : undefined,
      defaultEditorToolsVisibility: true,
    })
  );
})();
