// Calls to the server's JSON API with fetch.

// Resolves {status, ok, body, date}; rejects only on network failure.
export function api(method, path, body, token) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers['Authorization'] = 'Bearer ' + token;
  return fetch(path, {
    method: method,
    headers: headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store'
  }).then(function (res) {
    const date = res.headers.get('Date');
    return res.text().then(function (text) {
      let parsed = null;
      if (text) { try { parsed = JSON.parse(text); } catch (e) { parsed = null; } }
      return { status: res.status, ok: res.ok, body: parsed, date: date };
    });
  });
}

// {code, message} of a failed answer (or of no answer at all).
export function apiError(res) {
  const err = res && res.body && res.body.error;
  return {
    code: (err && err.code) || (res ? 'http_' + res.status : 'network'),
    message: (err && err.message) || (res ? 'HTTP ' + res.status : 'Network error')
  };
}
