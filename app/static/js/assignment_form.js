// Quiz form: show the part of the form for the chosen source, and search the bank to add item ids.
(function () {
  "use strict";
  var form = document.querySelector(".quiz-form");
  if (!form) return;

  function showSource() {
    var checked = form.querySelector('input[name="source"]:checked');
    var source = checked ? checked.value : "items";
    form.querySelectorAll("fieldset.source").forEach(function (box) {
      box.hidden = box.dataset.source !== source;
    });
  }
  form.querySelectorAll('input[name="source"]').forEach(function (el) { el.addEventListener("change", showSource); });
  showSource();

  var picker = form.querySelector(".picker");
  var list = form.querySelector('textarea[name="item_list"]');
  if (!picker || !list) return;
  var query = document.getElementById("picker-q");
  var type = document.getElementById("picker-type");
  var results = document.getElementById("picker-results");

  function listed() {
    return list.value.split(/[\s,,;;、]+/).filter(function (t) { return t && !/^\d+(\.\d+)?$/.test(t); });
  }
  function add(uid, points) {
    if (listed().indexOf(uid) >= 0) return;
    list.value = (list.value.replace(/\s+$/, "") + (list.value.trim() ? "\n" : "") + uid + " " + points).trim();
  }
  function search() {
    var url = picker.dataset.url + "&q=" + encodeURIComponent(query.value) + "&type=" + encodeURIComponent(type.value);
    results.textContent = "正在搜索…";
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      results.textContent = "";
      if (!data.items.length) { results.textContent = "没有找到可用于测验的题目。"; return; }
      data.items.forEach(function (item) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn small secondary";
        button.textContent = listed().indexOf(item.uid) >= 0 ? "已加入" : "加入";
        button.addEventListener("click", function () { add(item.uid, item.points); button.textContent = "已加入"; });
        var text = document.createElement("span");
        text.textContent = " " + item.type + " · " + item.stem + " ";
        var code = document.createElement("code");
        code.textContent = item.uid;
        li.appendChild(button); li.appendChild(text); li.appendChild(code);
        results.appendChild(li);
      });
    }).catch(function () { results.textContent = "搜索失败，请重试。"; });
  }
  document.getElementById("picker-go").addEventListener("click", search);
  query.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); search(); } });
})();
