// Study pages: consent, the enrolment photo, heartbeats while the lesson is visible, face checks.
// Helpers (post, camera, frame) are in common.js.
(function () {
  "use strict";
  var j = window.jijiao;
  var post = j.post, camera = j.camera, frame = j.frame, show = j.show;

  // Consent
  var accept = document.getElementById("consent-accept");
  if (accept) {
    accept.addEventListener("click", function () {
      accept.disabled = true;
      post(accept.dataset.url).then(function (data) {
        if (data.ok) { window.location.reload(); return; }
        accept.disabled = false;
        document.getElementById("consent-error").hidden = false;
      });
    });
  }

  // Enrolment photo
  var enrol = document.getElementById("enrol-photo");
  if (enrol) {
    var video = document.getElementById("camera");
    var take = document.getElementById("photo-take");
    var error = document.getElementById("photo-error");
    camera(video).catch(function () { document.getElementById("camera-error").hidden = false; });
    take.addEventListener("click", function () {
      take.disabled = true;
      show(error, "");
      frame(video).then(function (blob) {
        return post(enrol.dataset.url, blob, "image/jpeg");
      }).then(function (data) {
        if (data.ok) { window.location.reload(); return; }
        take.disabled = false;
        show(error, data.message || data.reason || "");
      }).catch(function () { take.disabled = false; });
    });
  }

  // Delete the photo
  var del = document.getElementById("photo-delete");
  if (del) {
    del.addEventListener("click", function () {
      if (!window.confirm(del.dataset.confirm)) { return; }
      post(del.dataset.url).then(function () { window.location.reload(); });
    });
  }

  // Lesson page
  var lesson = document.getElementById("lesson");
  if (!lesson) { return; }
  var texts = document.getElementById("texts").dataset;
  var status = document.getElementById("status");
  var overlay = document.getElementById("check");
  var checkVideo = document.getElementById("camera");
  var checkTake = document.getElementById("check-take");
  var checkError = document.getElementById("check-error");
  var checkTimer = document.getElementById("check-timer");
  var pending = null;
  var timer = null;
  var complete = false;

  function render(data) {
    if (!data.lesson) { return; }
    document.getElementById("lesson-percent").textContent = data.lesson.percent + "%";
    document.querySelector("#lesson-bar span").style.width = data.lesson.percent + "%";
    document.getElementById("total-percent").textContent = data.total_percent + "%";
    if (data.lesson.percent >= 100) {
      complete = true;
      status.textContent = texts.complete;
      document.getElementById("next").hidden = false;
    }
    else if (data.reason === "face_check" || data.check) { status.textContent = texts.paused; }
    else if (data.message) { status.textContent = data.message; }
    else { status.textContent = texts.counting; }
  }

  function askCheck(check) {
    if (!check || (pending && pending.id === check.id)) { return; }
    pending = check;
    overlay.hidden = false;
    show(checkError, "");
    show(document.getElementById("check-instruction"), check.challenge ? texts.lookFirst : "");
    checkTake.disabled = false;
    status.textContent = texts.paused;
    camera(checkVideo).catch(function () { noCamera(check); });
    clearInterval(timer);
    var by = Date.now() + check.seconds_left * 1000;  // the server's count on this phone's clock
    timer = setInterval(function () {
      var left = Math.max(0, Math.round((by - Date.now()) / 1000));
      checkTimer.textContent = texts.secondsLeft + " " + left;
    }, 500);
  }

  // No camera here: the chat takes a round video instead, turning the way this check asks.
  function noCamera(check) {
    document.getElementById("camera-error").hidden = false;
    if (check.challenge) {
      show(document.getElementById("check-instruction"), check.challenge === "left" ? texts.turnLeft : texts.turnRight);
    }
  }

  function closeCheck() {
    pending = null;
    overlay.hidden = true;
    clearInterval(timer);
  }

  checkTake.addEventListener("click", function () {
    if (!pending) { return; }
    checkTake.disabled = true;
    show(checkError, "");
    var instruction = document.getElementById("check-instruction");
    j.answerCheck(lesson.dataset.checkUrl + pending.id, pending, checkVideo, function (direction) {
      j.show(instruction, direction === "left" ? texts.turnLeft : texts.turnRight);
    }).then(function (data) {
      j.show(instruction, "");
      checkTake.disabled = false;
      if (data.result === "passed") { closeCheck(); status.textContent = texts.passed; beat(); return; }
      if (data.result === "failed") { closeCheck(); status.textContent = data.message || texts.paused; beat(); return; }
      show(checkError, data.message || texts.error);
    }).catch(function () { checkTake.disabled = false; show(checkError, texts.error); });
  });

  function beat() {
    if (document.visibilityState !== "visible" || complete) { return; }
    post(lesson.dataset.beatUrl, { enrolment: lesson.dataset.enrolment, lesson: lesson.dataset.lesson })
      .then(function (data) {
        render(data);
        // A check answered elsewhere (a selfie sent in the chat) closes the overlay here.
        if (data.check) { askCheck(data.check); } else if (pending) { closeCheck(); }
      })
      .catch(function () { /* the next beat tries again */ });
  }

  post(lesson.dataset.openUrl, { enrolment: lesson.dataset.enrolment }).then(function (data) {
    if (data.check) { askCheck(data.check); }
    beat();
  });
  setInterval(beat, parseInt(lesson.dataset.heartbeatMs, 10) || 15000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { beat(); }
  });
})();
