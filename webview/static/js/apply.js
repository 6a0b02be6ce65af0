// The application form: a signature drawn with a finger (pointer events) and the form sent
// with it as a PNG, multipart, with the CSRF header.
(function () {
  "use strict";
  var form = document.getElementById("apply-form");
  if (!form) { return; }
  var tg = window.Telegram && window.Telegram.WebApp;
  if (tg) { tg.ready(); }
  var texts = document.getElementById("texts").dataset;
  var canvas = document.getElementById("signature");
  var context = canvas.getContext("2d");
  var send = document.getElementById("apply-send");
  var errors = {
    reason: document.getElementById("reason-error"),
    signature: document.getElementById("signature-error"),
    form: document.getElementById("apply-error")
  };
  var drawn = 0;  // CSS pixels of stroke: a tap is not a signature
  var last = null;

  function show(el, text) { el.textContent = text || ""; el.hidden = !text; }

  // The bitmap is sized once, at the box's size times the pixel ratio; every point is mapped
  // from the box as it is now, so that turning the phone does not shift the pen.
  var ratio = window.devicePixelRatio || 1;
  function size() {
    var box = canvas.getBoundingClientRect();
    canvas.width = Math.round(box.width * ratio);
    canvas.height = Math.round(box.height * ratio);
    context.lineWidth = 2.5 * ratio;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#111";
    context.fillStyle = "#111";
    drawn = 0;
  }

  function point(event) {
    var box = canvas.getBoundingClientRect();
    return {
      x: (event.clientX - box.left) * canvas.width / box.width,
      y: (event.clientY - box.top) * canvas.height / box.height,
      scale: canvas.width / box.width
    };
  }

  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    context.beginPath();
    context.arc(last.x, last.y, 1.2 * last.scale, 0, 2 * Math.PI);
    context.fill();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!last) { return; }
    event.preventDefault();
    var next = point(event);
    context.beginPath();
    context.moveTo(last.x, last.y);
    context.lineTo(next.x, next.y);
    context.stroke();
    drawn += Math.hypot(next.x - last.x, next.y - last.y) / next.scale;
    last = next;
    if (drawn > 30) { show(errors.signature, ""); }
  });
  function stop() { last = null; }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  canvas.addEventListener("pointerleave", stop);
  document.getElementById("signature-clear").addEventListener("click", function () {
    context.clearRect(0, 0, canvas.width, canvas.height);
    drawn = 0;
  });
  size();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    show(errors.reason, ""); show(errors.signature, ""); show(errors.form, "");
    var missing = false;
    if (!form.elements.reason.value.trim()) { show(errors.reason, texts.noReason); missing = true; }
    if (drawn < 30) { show(errors.signature, texts.empty); missing = true; }
    if (missing) { return; }
    send.disabled = true;
    canvas.toBlob(function (png) {
      var body = new FormData(form);
      body.append("signature", png, "signature.png");
      fetch(form.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-Requested-With": "jijiao" },
        body: body
      }).then(function (response) {
        return response.json().then(function (data) { data.status = response.status; return data; });
      }).then(function (data) {
        if (data.ok) {
          form.hidden = true;
          show(document.getElementById("apply-done-text"), data.message);
          document.getElementById("apply-done").hidden = false;
          return;
        }
        send.disabled = false;
        if (data.errors) {
          show(errors.reason, data.errors.reason);
          show(errors.signature, data.errors.signature);
        } else if (data.status === 401) {
          show(errors.form, texts.session);
        } else {
          show(errors.form, data.message || texts.error);
        }
      }).catch(function () { send.disabled = false; show(errors.form, texts.error); });
    }, "image/png");
  });
})();
