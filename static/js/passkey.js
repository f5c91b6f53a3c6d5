// Passkeys (fingerprint, face or screen lock): loaded only on the pages that offer them.
// Their forms and links are hidden in the HTML; this script shows them only where the
// browser can create or use a passkey, so without it nothing changes.
"use strict";
(function () {
  function toBytes(text) {
    var plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(plain, function (c) { return c.charCodeAt(0); });
  }
  function toText(buffer) {
    var plain = String.fromCharCode.apply(null, new Uint8Array(buffer));
    return btoa(plain).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decode(options) {
    options.challenge = toBytes(options.challenge);
    if (options.user) options.user.id = toBytes(options.user.id);
    (options.excludeCredentials || options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return options;
  }
  function encode(credential) {
    var r = credential.response, response = {clientDataJSON: toText(r.clientDataJSON)};
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) response.userHandle = toText(r.userHandle);
    }
    return JSON.stringify({id: credential.id, rawId: toText(credential.rawId), type: credential.type,
                           response: response, clientExtensionResults: credential.getClientExtensionResults()});
  }

  function enhance(root) {
    root.querySelectorAll("[data-passkey-only]").forEach(function (element) { element.hidden = false; });
    root.querySelectorAll("[data-passkey-unsupported]").forEach(function (element) { element.hidden = true; });
    root.querySelectorAll("form[data-passkey]").forEach(function (form) {
      if (form.dataset.ready) return;
      form.dataset.ready = "1";
      form.hidden = false;
      var status = form.querySelector("[data-passkey-status]");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var ask = new FormData();
        ask.append("csrf_token", form.elements.csrf_token.value);
        status.hidden = true;
        fetch(form.dataset.options, {method: "POST", body: ask, credentials: "same-origin"})
          .then(function (answer) {
            if (!answer.ok) throw new Error("options");
            return answer.json();
          })
          .then(function (options) {
            var publicKey = decode(options);
            return form.dataset.passkey === "create" ? navigator.credentials.create({publicKey: publicKey})
                                                     : navigator.credentials.get({publicKey: publicKey});
          })
          .then(function (credential) {
            form.elements.credential.value = encode(credential);
            form.submit();
          })
          .catch(function () { status.hidden = false; });
      });
    });
  }

  if (!window.PublicKeyCredential || !navigator.credentials) return;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
