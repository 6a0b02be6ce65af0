// Loaded first in every page's <head>, before anything is drawn: a page opened by Telegram with
// the launching person's initData in its address (a button sent before /app/launch existed)
// goes through /app/launch, which drops the session this browser holds and signs that person
// in. A phone may hold somebody else's session; their page must never show.
(function () {
  "use strict";
  var path = window.location.pathname;
  if (window.location.hash.indexOf("tgWebAppData=") < 0) { return; }
  if (path.indexOf("/app") !== 0 || path.indexOf("/app/launch") === 0) { return; }
  var rest = path.slice("/app".length).replace(/^\/+/, "");
  window.location.replace("/app/launch" + (rest ? "/" + rest : "") + window.location.search + window.location.hash);
})();
