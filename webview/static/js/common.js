// Shared by the study and exam pages: JSON posts with the CSRF header, one camera stream per
// page (Telegram's Android webview asks for permission again on every getUserMedia call), and
// a JPEG frame from it.
(function () {
  "use strict";
  var tg = window.Telegram && window.Telegram.WebApp;
  if (tg) { tg.ready(); }
  var stream = null;

  function post(url, body, type) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": type || "application/json", "X-Requested-With": "jijiao" },
      body: type ? body : JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) { data.status = response.status; return data; });
    });
  }

  function get(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.json().then(function (data) { data.status = response.status; return data; });
    });
  }

  function camera(video) {
    if (stream) { video.srcObject = stream; return Promise.resolve(stream); }
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false })
      .then(function (s) { stream = s; video.srcObject = s; return video.play().then(function () { return s; }); });
  }

  // A frame once the camera shows one: a tap that comes before the stream has its first frame
  // (a slow phone, a busy machine) waits for it a moment instead of failing.
  function ready(video) {
    if (!video) { return Promise.reject(new Error("no camera on this page")); }
    if (video.readyState >= 2) { return Promise.resolve(video); }
    return new Promise(function (resolve, reject) {
      var late = setTimeout(function () { reject(new Error("the camera shows nothing")); }, 5000);
      video.addEventListener("loadeddata", function () { clearTimeout(late); resolve(video); }, { once: true });
    });
  }

  function frame(video) {
    return ready(video).then(capture);
  }

  function capture(video) {
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth || 640;
    canvas.height = video.videoHeight || 480;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.92); });
  }

  function show(el, text) { el.textContent = text; el.hidden = !text; }

  // A face check's answer: one frame, or for a head-turn challenge a frame facing the camera
  // and one taken after `say(direction)` told the trainee to turn that way.
  function answerCheck(url, check, video, say) {
    if (!check.challenge) {
      return frame(video).then(function (blob) { return post(url, blob, "image/jpeg"); });
    }
    return frame(video).then(function (before) {
      say(check.challenge);
      return new Promise(function (resolve) { setTimeout(resolve, 1800); })
        .then(function () { return frame(video); })
        .then(function (after) {
          var form = new FormData();
          form.append("before", before, "before.jpg");
          form.append("after", after, "after.jpg");
          return fetch(url, {
            method: "POST", credentials: "same-origin",
            headers: { "X-Requested-With": "jijiao" }, body: form
          }).then(function (response) {
            return response.json().then(function (data) { data.status = response.status; return data; });
          });
        });
    });
  }

  window.jijiao = { post: post, get: get, camera: camera, frame: frame, show: show, answerCheck: answerCheck };
})();
