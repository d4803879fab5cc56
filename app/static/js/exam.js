// Mock exam page: autosave each answer as it is given, keep the server's clock, submit at the bell.
(function () {
  "use strict";
  var form = document.getElementById("exam-form");
  if (!form) return;
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var state = document.getElementById("save-state");
  var position = parseInt(form.dataset.position, 10);
  var pending = null;

  function currentAnswer() {
    var inputs = form.querySelectorAll('[name="answer"]');
    var values = [];
    inputs.forEach(function (el) {
      if ((el.type === "radio" || el.type === "checkbox")) { if (el.checked) values.push(el.value); }
      else values.push(el.value);
    });
    return values;
  }
  function flagged() { var f = form.querySelector('[name="flagged"]'); return f ? f.checked : false; }

  function save() {
    pending = null;
    state.textContent = "正在保存…";
    return fetch(form.dataset.saveUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify({position: position, answer: currentAnswer(), flagged: flagged()})
    }).then(function (r) { return r.json().then(function (data) { return [r.status, data]; }); })
      .then(function (res) {
        if (res[0] === 200) {
          state.textContent = "已保存 " + new Date().toLocaleTimeString();
          var cell = document.querySelector('.sheet a[data-goto="' + position + '"]');
          if (cell) {
            cell.classList.toggle("answered", currentAnswer().some(function (v) { return v.trim() !== ""; }));
            cell.classList.toggle("flagged", flagged());
          }
          if (typeof res[1].remaining === "number") remaining = res[1].remaining;
        } else { state.textContent = res[1].error || "保存失败"; if (res[0] === 409) location.reload(); }
      }).catch(function () { state.textContent = "网络中断：答案将在恢复后重新保存"; pending = setTimeout(save, 3000); });
  }
  function schedule(delay) { if (pending) clearTimeout(pending); pending = setTimeout(save, delay); }
  form.addEventListener("change", function () { schedule(0); });
  form.addEventListener("input", function (e) { if (e.target.tagName === "TEXTAREA" || e.target.type === "text") schedule(800); });

  var timer = document.getElementById("timer");
  var remaining = timer ? parseInt(timer.dataset.remaining, 10) : null;
  if (timer) {
    setInterval(function () {
      if (remaining === null) return;
      remaining = Math.max(0, remaining - 1);
      timer.textContent = Math.floor(remaining / 60) + ":" + String(remaining % 60).padStart(2, "0");
      timer.classList.toggle("low", remaining < 300);
      if (remaining === 0) {
        var done = pending ? save() : Promise.resolve();
        remaining = null;
        Promise.resolve(done).then(function () {
          var f = document.createElement("form");
          f.method = "post"; f.action = form.dataset.submitUrl;
          f.innerHTML = '<input type="hidden" name="csrf_token" value="' + token + '">' +
            '<input type="hidden" name="reason" value="timeup">';
          document.body.appendChild(f); f.submit();
        });
      }
    }, 1000);
  }
})();
