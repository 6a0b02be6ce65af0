// Signs the Mini App in with Telegram's initData; the server answers with a session cookie. On
// /app/launch (every button of the bot) this happens on every launch, whatever session the
// browser held: the server dropped it before serving the page.
(function () {
  "use strict";
  var tg = window.Telegram && window.Telegram.WebApp;
  if (tg) { tg.ready(); tg.expand(); }
  var signin = document.getElementById("signin");
  if (!signin) { return; }
  var initData = tg ? tg.initData : "";
  if (!initData) {
    document.getElementById("signin-help").hidden = false;
    return;
  }
  fetch(signin.dataset.authUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Requested-With": "jijiao" },
    body: JSON.stringify({ init_data: initData })
  }).then(function (response) {
    if (response.ok) {
      // On to the page launched, or back to the page that asked for the sign-in: ours only.
      var next = signin.dataset.next || new URLSearchParams(window.location.search).get("next") || "";
      if (/^\/app(\/[^/]|\?|$)/.test(next)) { window.location.replace(next); } else { window.location.reload(); }
      return;
    }
    document.getElementById("signin-error").hidden = false;
  }).catch(function () {
    document.getElementById("signin-error").hidden = false;
  });
})();
