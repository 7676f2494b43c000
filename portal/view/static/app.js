// Latchkey portal: progressive enhancement only. Every page works without
// this script; here the new-password forms get live checks of the rules the
// page lists (the server checks them again, and the directory after it).
(function () {
  "use strict";
  function classes(pw) {
    var n = 0;
    if (/\p{Lu}/u.test(pw)) n++;
    if (/\p{Ll}/u.test(pw)) n++;
    if (/\p{Nd}/u.test(pw)) n++;
    if (/[^\p{Lu}\p{Ll}\p{Nd}]/u.test(pw)) n++;
    return n;
  }
  function check(rule, value, pw) {
    var len = Array.from(pw).length;
    switch (rule) {
      case "min_length":
      case "dir_min_length":
        return len >= value;
      case "max_length":
        return len <= value;
      case "classes":
        return classes(pw) >= value;
      case "dir_complexity":
        return classes(pw) >= 3;
    }
    return null; // not checkable here (history, words, age)
  }
  document.querySelectorAll("form[data-password-form]").forEach(function (form) {
    var pw = form.querySelector("#new_password");
    var confirm = form.querySelector("#confirm_password");
    var status = form.querySelector("[data-live-status]");
    var rules = form.querySelectorAll("[data-live-rules] li[data-rule]");
    if (!pw || !confirm || !status) return;
    function update() {
      var missing = 0;
      rules.forEach(function (li) {
        var ok = check(li.dataset.rule, parseInt(li.dataset.value || "0", 10), pw.value);
        li.classList.toggle("met", ok === true && pw.value !== "");
        li.classList.toggle("unmet", ok === false && pw.value !== "");
        if (ok === false) missing++;
      });
      if (pw.value === "") {
        status.textContent = "";
      } else if (missing > 0) {
        status.textContent = status.dataset.missing.replace("{n}", String(missing));
      } else if (confirm.value !== "" && confirm.value !== pw.value) {
        status.textContent = status.dataset.mismatch;
      } else {
        status.textContent = status.dataset.ok;
      }
    }
    pw.addEventListener("input", update);
    confirm.addEventListener("input", update);
  });
})();

// The push page: wait for the phone's answer with one long request at a
// time (no polling storm), then show the next step.
(function () {
  "use strict";
  var box = document.querySelector("[data-push-wait]");
  if (!box || !window.fetch) return;
  function wait() {
    fetch("/flow/push/wait", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : { done: true }; })
      .then(function (j) { if (j.done) { window.location.replace("/flow"); } else { wait(); } })
      .catch(function () { setTimeout(wait, 3000); });
  }
  wait();
})();

// Passkeys (WebAuthn). The options come from the server (the challenge
// stays there); the browser's answer goes back in a form field.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) return;
  var get = document.querySelector("[data-passkey-get]");
  if (get) {
    var form = get.querySelector("form");
    var status = get.querySelector("[data-passkey-status]");
    form.addEventListener("submit", function (ev) {
      if (form.elements.response.value !== "") return;
      ev.preventDefault();
      var opts = JSON.parse(get.dataset.options).publicKey;
      navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts) })
        .then(function (cred) {
          form.elements.response.value = JSON.stringify(cred.toJSON());
          form.submit();
        })
        .catch(function () { status.textContent = get.dataset.failed; });
    });
  }
  var reg = document.querySelector("form[data-passkey-register]");
  if (reg) {
    var rstatus = reg.querySelector("[data-passkey-status]");
    reg.addEventListener("submit", function (ev) {
      if (reg.elements.response.value !== "") return;
      ev.preventDefault();
      fetch("/settings/passkey/begin", {
        method: "POST", credentials: "same-origin",
        body: new URLSearchParams({ csrf: reg.elements.csrf.value })
      })
        .then(function (r) { if (!r.ok) throw new Error("begin"); return r.json(); })
        .then(function (j) {
          return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(j.publicKey) });
        })
        .then(function (cred) {
          reg.elements.response.value = JSON.stringify(cred.toJSON());
          reg.submit();
        })
        .catch(function () { rstatus.textContent = reg.dataset.failed; });
    });
  }
})();
