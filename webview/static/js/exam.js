// Exam pages: start or resume, autosave every answer (queued and retried while offline, kept in
// localStorage across a reload), one countdown from the server's deadline, face checks, submit.
(function () {
  "use strict";
  var j = window.jijiao;

  // The face check overlay (_face_check.html), on the exam home before the questions and on
  // the attempt page at random moments. It counts down the server's `seconds_left` on this
  // phone's clock, whatever that clock says the date is; `done(data)` hears the server's
  // verdict (passed or failed) once there is one.
  function checkOverlay(texts, checkUrl, done) {
    var overlay = document.getElementById("check");
    var video = document.getElementById("camera");
    var take = document.getElementById("check-take");
    var checkError = document.getElementById("check-error");
    var instruction = document.getElementById("check-instruction");
    var pending = null;
    var timer = null;

    function close() { pending = null; overlay.hidden = true; clearInterval(timer); }

    function ask(check) {
      if (!check || (pending && pending.id === check.id)) { return; }
      pending = check;
      overlay.hidden = false;
      j.show(checkError, "");
      j.show(instruction, check.challenge ? texts.lookFirst : "");
      take.disabled = false;
      j.camera(video).catch(function () {
        // No camera here: the chat takes a round video instead, turning the way this check asks.
        document.getElementById("camera-error").hidden = false;
        if (check.challenge) { j.show(instruction, check.challenge === "left" ? texts.turnLeft : texts.turnRight); }
      });
      clearInterval(timer);
      var by = Date.now() + check.seconds_left * 1000;
      timer = setInterval(function () {
        var left = Math.max(0, Math.round((by - Date.now()) / 1000));
        document.getElementById("check-timer").textContent = texts.secondsLeft + " " + left;
        if (left === 0) { close(); done({ result: "failed", reason: "too_late" }); }
      }, 500);
    }

    take.addEventListener("click", function () {
      if (!pending) { return; }
      take.disabled = true;
      j.answerCheck(checkUrl + pending.id, pending, video, function (direction) {
        j.show(instruction, direction === "left" ? texts.turnLeft : texts.turnRight);
      }).then(function (data) {
        j.show(instruction, "");
        take.disabled = false;
        if (data.result === "passed" || data.result === "failed") { close(); done(data); return; }
        j.show(checkError, data.message || texts.error);
      }).catch(function () { take.disabled = false; j.show(checkError, texts.error); });
    });

    return { ask: ask, close: close, pending: function () { return pending; } };
  }

  // The exam home: start or continue. A new attempt opens with a face check on this page;
  // the questions are drawn, and its clock starts, only once the check has passed.
  var home = document.getElementById("exam");
  var start = document.getElementById("exam-start");
  if (home && start) {
    var homeTexts = document.getElementById("texts").dataset;
    var startError = document.getElementById("start-error");
    var begin = function () {
      start.disabled = true;
      j.post(home.dataset.startUrl, { enrolment: home.dataset.enrolment }).then(function (data) {
        if (data.ok) { window.location.href = data.url; return; }
        if (data.check) { gate.ask(data.check); return; }
        start.disabled = false;
        j.show(startError, data.message || data.reason || "");
      }).catch(function () { start.disabled = false; });
    };
    var gate = checkOverlay(homeTexts, "/app/api/study/checks/", function (data) {
      if (data.result === "passed") { begin(); return; }
      start.disabled = false;
      j.show(startError, data.message || (data.reason === "too_late" ? homeTexts.tooLate : homeTexts.error));
    });
    start.addEventListener("click", function () { j.show(startError, ""); begin(); });
  }

  var attempt = document.getElementById("attempt");
  if (!attempt) { return; }
  var texts = document.getElementById("texts").dataset;
  var state = JSON.parse(document.getElementById("state").textContent);
  var storeKey = "jijiao-exam-" + attempt.dataset.attempt;
  var offset = Date.parse(state.now) - Date.now();  // server clock minus this phone's
  var deadline = Date.parse(state.deadline);
  var warningMs = parseInt(attempt.dataset.warningSeconds, 10) * 1000;
  var queue = {};  // question -> options not yet confirmed by the server
  var flushing = false;
  var finished = false;
  var retryMs = 1000;

  try { queue = JSON.parse(window.localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { queue = {}; }

  function remember() {
    try { window.localStorage.setItem(storeKey, JSON.stringify(queue)); } catch (e) { /* private mode */ }
  }

  function fieldset(question) {
    return document.querySelector('fieldset[data-question="' + question + '"]');
  }

  function picked(set) {
    return Array.prototype.filter.call(set.querySelectorAll("input"), function (i) { return i.checked; })
      .map(function (i) { return i.value; });
  }

  function mark(question, text) {
    var set = fieldset(question);
    if (set) { set.querySelector(".save-state").textContent = text; }
  }

  function answeredCount() {
    var sets = document.querySelectorAll("fieldset.question");
    var n = Array.prototype.filter.call(sets, function (s) { return picked(s).length > 0; }).length;
    document.getElementById("saved-count").textContent =
      texts.answered.replace("{n}", n).replace("{total}", sets.length);
    return { n: n, total: sets.length };
  }

  function review() {
    finished = true;
    try { window.localStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
    window.location.href = "/app/exam/attempt/" + attempt.dataset.attempt + "/review";
  }

  function offline(on) { document.getElementById("offline").hidden = !on; }

  function flush() {
    if (flushing || finished) { return Promise.resolve(); }
    var keys = Object.keys(queue);
    if (!keys.length) { return Promise.resolve(); }
    flushing = true;
    var question = keys[0];
    var options = queue[question];
    mark(question, texts.saving);
    return j.post(attempt.dataset.answerUrl, { question: question, options: options }).then(function (data) {
      flushing = false;
      if (data.ok) {
        offline(false);
        retryMs = 1000;
        if (JSON.stringify(queue[question]) === JSON.stringify(options)) { delete queue[question]; }
        remember();
        mark(question, texts.saved);
        if (data.now) { offset = Date.parse(data.now) - Date.now(); }
        if (data.check) { askCheck(data.check); }
        return flush();
      }
      if (data.status === 409) { delete queue[question]; remember(); review(); return; }
      if (data.status >= 500) { throw new Error("server"); }
      delete queue[question];  // refused for good (a bad option): do not loop on it
      remember();
      mark(question, data.message || texts.error);
      return flush();
    }).catch(function () {
      flushing = false;
      offline(true);
      setTimeout(flush, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    });
  }

  document.getElementById("questions").addEventListener("submit", function (event) {
    event.preventDefault();  // answers are saved one by one, never posted as a form
  });
  document.getElementById("questions").addEventListener("change", function (event) {
    var set = event.target.closest("fieldset.question");
    if (!set || finished) { return; }
    queue[set.dataset.question] = picked(set);
    remember();
    answeredCount();
    flush();
  });

  // Answers kept on this phone but not yet on the server (closed page, lost connection).
  Object.keys(queue).forEach(function (question) {
    var set = fieldset(question);
    if (!set) { delete queue[question]; return; }
    set.querySelectorAll("input").forEach(function (i) { i.checked = queue[question].indexOf(i.value) >= 0; });
  });
  answeredCount();
  flush();

  // The countdown.
  var countdown = document.getElementById("countdown");
  var submitting = false;
  function tick() {
    var left = Math.max(0, deadline - (Date.now() + offset));
    var minutes = Math.floor(left / 60000);
    var seconds = Math.floor(left % 60000 / 1000);
    countdown.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    if (left <= warningMs) {
      document.getElementById("exam-bar").classList.add("late");
      document.getElementById("warning").hidden = left === 0;
    }
    if (left === 0 && !submitting && !finished) {
      submitting = true;
      j.show(document.getElementById("submit-error"), texts.timeUp);
      j.post(attempt.dataset.submitUrl).then(review).catch(function () { submitting = false; });
    }
  }
  tick();
  setInterval(tick, 500);

  // Keep in step with the server: a check to answer, an attempt closed elsewhere.
  function poll() {
    if (finished) { return; }
    j.get(attempt.dataset.stateUrl).then(function (data) {
      offline(false);
      if (data.now) { offset = Date.parse(data.now) - Date.now(); }
      if (data.status && data.status !== "open") { review(); return; }
      if (data.check) { askCheck(data.check); } else if (checks.pending()) { closeCheck(); }
      flush();
    }).catch(function () { offline(true); });
  }
  setInterval(poll, 30000);
  window.addEventListener("online", flush);

  // Submit.
  var submit = document.getElementById("submit");
  submit.addEventListener("click", function () {
    var count = answeredCount();
    var question = count.n < count.total ? submit.dataset.unanswered : submit.dataset.confirm;
    if (!window.confirm(question)) { return; }
    submit.disabled = true;
    flush().then(function () {
      return j.post(attempt.dataset.submitUrl);
    }).then(function (data) {
      if (data.ok) { review(); return; }
      submit.disabled = false;
      j.show(document.getElementById("submit-error"), data.message || texts.error);
    }).catch(function () {
      submit.disabled = false;
      offline(true);
    });
  });

  // Face checks: the clock keeps running; a failure holds the receipt for staff.
  var checks = checkOverlay(texts, attempt.dataset.checkUrl, function () {});
  function askCheck(check) { checks.ask(check); }
  function closeCheck() { checks.close(); }

  // The check that was waiting when the page loaded (a new attempt starts with one).
  if (state.check) { askCheck(state.check); }
})();
