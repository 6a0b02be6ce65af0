// The pay page: inside WeChat's browser (WeixinJSBridge present, now or once it is ready) the
// order is paid in WeChat's own checkout (JSAPI); anywhere else the QR code stays. "Paid" is
// shown only when the product's books say so: the checkout's "ok" alone proves nothing.
(function () {
  "use strict";
  var root = document.getElementById("pay");
  var button = document.getElementById("wechat-pay");
  var row = document.getElementById("wechat-pay-row");
  var state = document.getElementById("state");
  var qr = document.getElementById("qr-code");
  if (!root || !button || !row || root.dataset.jsapi !== "1") { return; }
  var number = root.dataset.order;

  function say(key, className) {
    state.textContent = root.dataset[key];
    state.className = className || "";
  }

  function check(tries) {
    window.jijiao.get("/app/api/pay/" + encodeURIComponent(number)).then(function (data) {
      if (data.state === "paid") {
        say("paid", "ok");
        row.hidden = true;
        if (qr) { qr.hidden = true; }
      } else if (data.state === "pending" && tries > 0) {
        setTimeout(function () { check(tries - 1); }, 1000);
      } else if (data.state === "pending" || data.status !== 200) {
        say("notYet");
      } else {
        say("over", "error");
        row.hidden = true;
      }
    }).catch(function () { say("notYet"); });
  }

  function pay() {
    button.disabled = true;
    window.jijiao.post("/app/api/pay/" + encodeURIComponent(number) + "/jsapi").then(function (data) {
      if (!data.ok) {
        button.disabled = false;
        if (data.error === "order_not_pending") {
          say("over", "error");
          row.hidden = true;
        } else {
          say("failed", "error");
          if (qr) { qr.hidden = false; } // the QR code is still a way to pay
        }
        return;
      }
      window.WeixinJSBridge.invoke("getBrandWCPayRequest", data.bridge, function (result) {
        button.disabled = false;
        var outcome = result && result.err_msg;
        if (outcome === "get_brand_wcpay_request:ok") {
          say("checking");
          check(15);
        } else if (outcome === "get_brand_wcpay_request:cancel") {
          say("cancelled");
        } else {
          say("failed", "error");
        }
      });
    }).catch(function () { button.disabled = false; say("failed", "error"); });
  }

  function ready() {
    if (typeof window.WeixinJSBridge === "undefined" || !window.WeixinJSBridge.invoke) { return; }
    row.hidden = false;
    if (qr) { qr.hidden = true; }
  }

  button.addEventListener("click", pay);
  ready();
  document.addEventListener("WeixinJSBridgeReady", ready, false);
})();
