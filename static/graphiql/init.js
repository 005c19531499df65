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
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      defaultQuery: tabs.length ? tabs[0].query : undefined,
      defaultEditorToolsVisibility: true,
    })
  );
})();
