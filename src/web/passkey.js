// mfagate's passkey pages: runs the WebAuthn ceremony the page's form describes and posts the
// answer in the same form (with its CSRF token), so no request leaves the page but its own
// form post. The options come from the form's data-options (JSON the gateway made); nothing is
// read from the URL. Without WebAuthn, the page says so and its other factors still work.
"use strict";
(function () {
  var form = document.getElementById("passkey-form");
  if (!form) {
    return;
  }
  var button = document.getElementById("passkey-go");
  var PKC = window.PublicKeyCredential;
  var able = PKC && navigator.credentials && typeof PKC.parseCreationOptionsFromJSON === "function";
  if (!able) {
    document.getElementById("passkey-unsupported").hidden = false;
    return;
  }
  button.disabled = false;

  function b64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // PublicKeyCredential.toJSON, for browsers that have the parsers but not it.
  function answer(cred) {
    if (typeof cred.toJSON === "function") {
      return cred.toJSON();
    }
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: b64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: b64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = b64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = b64url(r.authenticatorData);
      out.response.signature = b64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = b64url(r.userHandle);
      }
    }
    return out;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) {
      return;
    }
    document.getElementById("passkey-failed").hidden = true;
    button.disabled = true;
    var options = JSON.parse(form.dataset.options);
    var ceremony = form.dataset.passkey === "create"
      ? navigator.credentials.create({ publicKey: PKC.parseCreationOptionsFromJSON(options) })
      : navigator.credentials.get({ publicKey: PKC.parseRequestOptionsFromJSON(options) });
    ceremony.then(function (cred) {
      form.elements.credential.value = JSON.stringify(answer(cred));
      form.submit();
    }).catch(function () {
      document.getElementById("passkey-failed").hidden = false;
      button.disabled = false;
    });
  });
})();
