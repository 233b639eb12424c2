// Passkeys on the login pages, as progressive enhancement: the buttons stay
// hidden unless this browser has WebAuthn, and every page works without
// this file. Served from 'self' (CSP script-src 'self'); no inline script.
// Uses the @simplewebauthn/browser bundle loaded before it (global
// SimpleWebAuthnBrowser).
(function () {
  'use strict';
  var lib = globalThis.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;

  function post(uid, csrf, step, body) {
    return fetch('/interaction/' + encodeURIComponent(uid) + '/passkey/' + step, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    }).then(function (res) {
      return res.json().then(function (json) {
        if (!res.ok) throw new Error(json && json.error ? json.error : 'The passkey step failed');
        return json;
      });
    });
  }

  function run(button) {
    var uid = button.dataset.uid;
    var csrf = button.dataset.csrf;
    var purpose = button.dataset.purpose;
    var status = button.parentElement.querySelector('.passkey-status');
    status.textContent = '';
    button.disabled = true;
    post(uid, csrf, 'options', { purpose: purpose })
      .then(function (json) {
        return purpose === 'register'
          ? lib.startRegistration({ optionsJSON: json.options })
          : lib.startAuthentication({ optionsJSON: json.options });
      })
      .then(function (response) {
        return post(uid, csrf, 'verify', { purpose: purpose, response: response });
      })
      .then(function (json) {
        window.location.assign(json.redirectTo);
      })
      .catch(function (error) {
        status.textContent = error && error.message ? error.message : 'The passkey step failed';
        button.disabled = false;
      });
  }

  document.querySelectorAll('.passkey-button').forEach(function (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      run(button);
    });
  });
})();
