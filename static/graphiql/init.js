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
  var defaultQuery = [
    '# Welcome to CyberMed.',
    '#',
    '# 1. Run `register` or `login` below and copy the accessToken.',
    '# 2. In the Headers tab put: {"Authorization": "Bearer <accessToken>"}',
    '# 3. Run `Me`.',
    '',
    'mutation Login {',
    '  login(email: "ann@example.com", password: "Tr1cky-Kestrel-42") {',
    '    accessToken refreshToken expiresIn user { id firstName role }',
    '  }',
    '}',
    '',
    'query Me {',
    '  me { id email firstName lastName role }',
    '}',
    '',
  ].join('\n');
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
