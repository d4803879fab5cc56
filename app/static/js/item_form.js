// Item form: show only the parts of the form that belong to the chosen question type;
// for a single choice, ticking one key clears the others. Without JavaScript every part stays visible.
(function () {
  "use strict";
  var form = document.querySelector(".item-form");
  if (!form) return;
  var type = form.querySelector('select[name="type"]');
  if (!type) return;

  function show() {
    form.querySelectorAll(".type-part").forEach(function (part) {
      part.hidden = part.dataset.types.split(" ").indexOf(type.value) < 0;
    });
  }
  type.addEventListener("change", show);
  show();

  form.querySelectorAll('input[name="answer_keys"]').forEach(function (box) {
    box.addEventListener("change", function () {
      if (type.value !== "single_choice" || !box.checked) return;
      form.querySelectorAll('input[name="answer_keys"]').forEach(function (other) {
        if (other !== box) other.checked = false;
      });
    });
  });
})();
