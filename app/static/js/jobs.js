// Background job page: poll the job's status and move the progress bar; go on to the result when it is done.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "1") return;
  var bar = document.getElementById("job-bar");
  var percent = document.getElementById("job-percent");
  var label = document.getElementById("job-status");
  var message = document.getElementById("job-message");
  var next = document.getElementById("job-next");

  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.value = job.percent;
        bar.textContent = Math.round(job.percent) + "%";
        percent.textContent = Math.round(job.percent) + "%";
        label.textContent = job.status_label;
        message.textContent = job.message;
        if (!job.finished) { setTimeout(poll, 1000); return; }
        if (job.next) { next.hidden = false; next.querySelector("a").href = job.next; window.location.assign(job.next); }
        else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
